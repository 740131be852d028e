"""The new text of a reply: what its sender wrote now, without quoted history or signature.

The text is read line by line (`reply_quotes` knows the layouts):

- lines quoted with ``>`` or ``|`` are history, and so is an attribution line or header block
  that introduces them; text *after* such a block is new again: a bottom-posted reply keeps its
  text, an inline reply keeps every answer between the quotes;
- a strong boundary above unquoted text (Outlook's header block, "-----Original Message-----",
  Yahoo's attribution over an unprefixed copy, a forwarded message) ends the new text: what
  follows is history however it is laid out;
- each piece of new text ends at a signature ("-- ") or a mail app's footer ("Sent from my
  iPhone"), see `reply_signatures`.

mail-parser-reply stays one input: when none of the layouts above is found, its attribution
patterns (its own reading of thirteen languages) may still find where history starts, if the
line it finds is dated like a client's. HTML-only replies are read through
`reply_html.html_to_text(..., for_reply=True)` (`html_reply_text`), which leaves a ``>`` line
where a client's quote element was.
"""

from __future__ import annotations

import logging
import re

# mail-parser-reply ships no type information.
from mailparser_reply.constants import MAIL_LANGUAGES  # type: ignore[import-untyped]

from outreach_tui.core.ooo_dates import fold
from outreach_tui.mail.reply_html import html_to_text
from outreach_tui.mail.reply_quotes import boundary_at, is_dated, is_quoted
from outreach_tui.mail.reply_signatures import is_signature_start

__all__ = ["MAX_REPLY_CHARS", "html_reply_text", "html_to_text", "new_text"]

#: The reply text read at most (the new text comes first; there is no reason to scan a novel).
MAX_REPLY_CHARS = 20_000
#: Lines longer than this are never handed to mail-parser-reply's patterns.
MAX_LIBRARY_LINE = 300

# The library logs its compiled regexes at DEBUG for every message: kilobytes of noise each.
logging.getLogger("mailparser_reply").setLevel(logging.INFO)


def _library_attributions() -> re.Pattern[str]:
    # Only the library's attribution patterns ("On ... wrote:" in its thirteen languages): its
    # header-block patterns take two lines such as "Date: tomorrow / To: you" for a block.
    patterns = [
        table["wrote_header"] for table in MAIL_LANGUAGES.values() if "wrote_header" in table
    ]
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.MULTILINE | re.IGNORECASE)


_LIBRARY_ATTRIBUTIONS = _library_attributions()
_ENDS_WITH_COLON = re.compile(r"[:\uff1a][ \t]*$")
_RULE_LINE = re.compile(r"^[ \t]*[-_=*~]{4,}[ \t]*$")
_BLANK_RUNS = re.compile(r"\n{3,}")


def new_text(body: str) -> str:
    """The part of `body` its sender wrote now (empty when there is none)."""
    text = body[:MAX_REPLY_CHARS].replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    pieces: list[list[str]] = [[]]
    history = False
    index = 0
    while index < len(lines):
        line = lines[index]
        if is_quoted(line):
            history = True
            _next_piece(pieces)
            index += 1
            continue
        boundary = boundary_at(lines, index)
        if boundary is not None:
            after = index + boundary.lines
            while after < len(lines) and not lines[after].strip():
                after += 1
            if after < len(lines) and is_quoted(lines[after]):
                history = True  # the attribution or header of a quoted block
                _next_piece(pieces)
                index = after
                continue
            if boundary.strong:
                history = True
                break
        pieces[-1].append(line)
        index += 1
    if not history:
        pieces = [_before_library_header(pieces[0])]
    kept = (_without_signature(piece) for piece in pieces)
    return "\n\n".join(piece for piece in kept if piece)


def html_reply_text(markup: str) -> str:
    """The text of an HTML-only reply, for `new_text`: quotes leave a ``>`` line behind."""
    return html_to_text(markup, for_reply=True)


def _next_piece(pieces: list[list[str]]) -> None:
    if pieces[-1]:
        pieces.append([])


def _without_signature(lines: list[str]) -> str:
    kept: list[str] = []
    for line in lines:
        if is_signature_start(line):
            break
        kept.append(line.rstrip())
    # A rule line left above a cut header block ("____", "-----") is the separator, not text.
    while kept and (not kept[-1].strip() or _RULE_LINE.match(kept[-1])):
        kept.pop()
    return _BLANK_RUNS.sub("\n\n", "\n".join(kept)).strip("\n").strip()


def _before_library_header(lines: list[str]) -> list[str]:
    # Line by line, and only short lines that end with a colon (every attribution the library
    # knows does): its patterns nest lazy repeats, which a long line would make quadratic.
    for index, line in enumerate(lines):
        if len(line) > MAX_LIBRARY_LINE or _ENDS_WITH_COLON.search(line) is None:
            continue
        previous = lines[index - 1] if index and len(lines[index - 1]) <= MAX_LIBRARY_LINE else ""
        window = f"{previous}\n{line}"
        found = _LIBRARY_ATTRIBUTIONS.search(window)
        if found is None or not is_dated(" ".join(fold(found.group(0)).split())):
            continue
        start = index - 1 if found.start() < len(previous) + 1 else index
        if any(kept.strip() for kept in lines[:start]):
            return lines[:start]
    return lines
