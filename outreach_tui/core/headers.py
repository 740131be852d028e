"""Header values built from data must never carry CR, LF or NUL (header injection)."""

from __future__ import annotations

import re

from outreach_tui.core.errors import HeaderInjection

#: CR, LF, NUL, and every other character `str.splitlines` breaks a line at: the `email`
#: package's compat32 folding splits header values with it, so VT, FF, FS/GS/RS in a subject
#: came out as a line break (an extra header, or an exception after the attempt was written).
_NAMES = {"\r": "CR", "\n": "LF", "\x00": "NUL", "\x0b": "VT", "\x0c": "FF", "\x1c": "FS",
          "\x1d": "GS", "\x1e": "RS", "\x85": "NEL", "\u2028": "LINE SEPARATOR",
          "\u2029": "PARAGRAPH SEPARATOR"}  # fmt: skip
_FORBIDDEN = re.compile("[" + "".join(_NAMES) + "]")


def check_header_value(field: str, value: str) -> str:
    """Return `value` unchanged, or raise `HeaderInjection` naming the field."""
    match = _FORBIDDEN.search(value)
    if match:
        char = _NAMES[match.group()]
        raise HeaderInjection(
            f"{field} contains a {char} character at position {match.start()}; refused"
        )
    return value
