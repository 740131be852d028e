"""Header values built from data must never carry CR, LF or NUL (header injection)."""

from __future__ import annotations

import re

from outreach_tui.core.errors import HeaderInjection

_FORBIDDEN = re.compile(r"[\r\n\x00]")


def check_header_value(field: str, value: str) -> str:
    """Return `value` unchanged, or raise `HeaderInjection` naming the field."""
    match = _FORBIDDEN.search(value)
    if match:
        char = {"\r": "CR", "\n": "LF", "\x00": "NUL"}[match.group()]
        raise HeaderInjection(
            f"{field} contains a {char} character at position {match.start()}; refused"
        )
    return value
