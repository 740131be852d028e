"""Text from data made safe to put on a terminal: the one definition of what is unsafe.

A lead list, a campaign file, a mail server and an inbound message decide what their text
holds. Written to a terminal as it is, an ESC starts a control sequence: OSC 52 writes the
operator's clipboard, OSC 8 shows a link that goes elsewhere, `ESC[2J` clears the screen, a
title sequence renames the window. C1 controls do the same in one character (U+009B is CSI),
CR rewrites the line already shown, BEL rings, and the bidi overrides and isolates make text
read in another order than it is stored ("Trojan Source").

`printable` replaces every such character with U+FFFD, one for one, so a value keeps its
length (spans of styled text still fit) and the operator sees that something was there.
Every face cleans data with it before a screen or terminal sees it: the console's cells,
titles, previews, notifications and dialogs (tui/), the CLI's lines (cli/output.py) and the
worker's log on stderr (logsetup.py). The inbound analysis uses the same set to keep
one-line fields on one line (mail/inbound.py), and lead and mailbox CSV imports refuse cells
that hold a control character (`control_problem`).
"""

from __future__ import annotations

import re
import unicodedata

#: What replaces an unsafe character: visible, one column wide, never a control itself.
MARK = "\ufffd"

_BIDI = "\u202a-\u202e\u2066-\u2069"
"""Embeddings, overrides and isolates (LRE RLE PDF LRO RLO, LRI RLI FSI PDI)."""

#: C0 but tab and line feed, DEL, C1, the bidi controls, and the Unicode line and paragraph
#: separators (a line break to some terminals, not to others).
_UNSAFE_IN_LINES = re.compile(f"[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f{_BIDI}\\u2028\\u2029]")
#: The same and line feed: where a text is one line (a table cell, a title, a CSV cell).
_UNSAFE_IN_ONE_LINE = re.compile(f"[\\x00-\\x08\\x0a-\\x1f\\x7f-\\x9f{_BIDI}\\u2028\\u2029]")


def printable(text: str | None, *, multiline: bool = False, mark: str = MARK) -> str:
    """`text` with every character a terminal would act on replaced by `mark` (U+FFFD).

    Tab stays. Line feeds stay when `multiline` (a CRLF becomes a line feed first); in one
    line they are replaced too. None is "". Idempotent: the mark is not a control."""
    if not text:
        return ""
    if multiline:
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        return _UNSAFE_IN_LINES.sub(mark, text)
    return _UNSAFE_IN_ONE_LINE.sub(mark, text)


def is_printable(text: str, *, multiline: bool = False) -> bool:
    """True when `printable` would leave `text` as it is."""
    pattern = _UNSAFE_IN_LINES if multiline else _UNSAFE_IN_ONE_LINE
    return pattern.search(text) is None


#: C0 but tab, DEL and C1: what an imported CSV cell may not hold (a bidi control may be a
#: right-to-left name's own; it is only replaced where it is shown).
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def control_character(text: str) -> str | None:
    """The first C0 (but tab), DEL or C1 control character of `text`, or None."""
    found = _CONTROL.search(text)
    return found.group() if found else None


def control_problem(text: str) -> str | None:
    """Why a one-line value is refused, or None: "contains a line break", "contains a NUL
    character", "contains a control character (ESC, U+001B)"."""
    char = control_character(text)
    if char is None:
        return None
    if char in "\r\n":
        return "contains a line break"
    if char == "\x00":
        return "contains a NUL character"
    return f"contains a control character ({describe_character(char)})"


def describe_character(char: str) -> str:
    """A character named for a message, never shown raw: "ESC, U+001B", "U+0085"."""
    names = {"\x00": "NUL", "\x07": "BEL", "\x08": "BS", "\x09": "TAB", "\x0a": "LF",
             "\x0d": "CR", "\x1b": "ESC", "\x7f": "DEL", "\x9b": "CSI"}  # fmt: skip
    code = f"U+{ord(char):04X}"
    name = names.get(char) or unicodedata.name(char, "")
    return f"{name}, {code}" if name else code


def json_printable(dumped: str) -> str:
    """A JSON text with the unsafe characters `json.dumps(..., ensure_ascii=False)` leaves raw
    (DEL, C1, bidi, line separators) written as `\\uXXXX`: the same data, valid JSON, safe
    on a terminal. (JSON escapes C0 itself: a line feed left raw is `indent`'s, between
    values; the characters replaced here only occur inside strings.)"""
    return _UNSAFE_IN_LINES.sub(lambda m: f"\\u{ord(m.group()):04x}", dumped)
