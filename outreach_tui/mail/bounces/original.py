"""The reported message as a report quotes it: its headers, its Message-IDs, its recipients.

A report is only worth acting on when it is about something we sent, and the one thing that
proves it is a Message-ID of ours: in the returned message or its headers (message/rfc822,
text/rfc822-headers), an ``X-Original-Message-ID``, the report's own In-Reply-To/References
(Exchange and some ticket systems thread their notices), a "Message-ID:" line of a quoted
original in a plain-text bounce, or a provider's JSON. All of them are collected, most reliable
first; the engine matches them against its sends.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses

from outreach_tui.mail.mime_parts import (
    Part,
    Problems,
    decode_bytes,
    part_bytes,
    part_text,
    raw_header,
)

#: Characters of a plain-text report searched for a quoted original.
MAX_QUOTED_TEXT = 64 * 1024
_ID_LINE = re.compile(
    r"^(?:x-original-)?message-id:[ \t]*(<[^<>\r\n]{1,250}>|\S{3,250})",
    re.IGNORECASE | re.MULTILINE,
)
_HEADER_KINDS = {"text/rfc822-headers", "message/rfc822-headers", "text/global-headers"}


def strip_brackets(value: str) -> str | None:
    """A Message-ID without its angle brackets; the first one when several are given."""
    found = re.search(r"<([^<>]*)>", value)
    text = found.group(1) if found else value.strip()
    return text.strip() or None


def original_headers(parts: Sequence[Part]) -> Message | None:
    """Headers of our message as the report returns it (message/rfc822 or text/rfc822-headers)."""
    for depth, part, kind in parts:
        if depth == 0:
            continue
        if kind in {"message/rfc822", "message/global"}:
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                return payload[0]
        if kind in _HEADER_KINDS:
            text, _ = decode_bytes(part_bytes(part, 64 * 1024), "utf-8")
            return HeaderParser().parsestr(text.lstrip())
    return None


def quoted_text(parts: Sequence[Part], problems: Problems) -> str:
    """The text parts of a report, where plain-text bounces quote the original inline."""
    chunks: list[str] = []
    size = 0
    for part in parts:
        if part.content_type not in {"text/plain", "text/html"} or part.depth > 2:
            continue
        chunks.append(part_text(part.message, problems, MAX_QUOTED_TEXT))
        size += len(chunks[-1])
        if size > MAX_QUOTED_TEXT:
            break
    return "\n".join(chunks)


def message_ids(
    msg: Message,
    parts: Sequence[Part],
    problems: Problems,
    *,
    extra: Iterable[str] = (),
) -> tuple[str, ...]:
    """Every Message-ID of the reported message the report quotes, most reliable first.

    `extra`: Message-IDs a provider notification carries in its JSON.
    """
    found: list[str | None] = []
    original = original_headers(parts)
    if original is not None:
        for name in ("Message-ID", "X-Original-Message-ID", "X-Message-ID"):
            value = raw_header(original, name)
            if value:
                found.append(strip_brackets(value))
    found.extend(strip_brackets(value) for value in extra if value)
    for name in ("X-Original-Message-ID", "Original-Message-ID"):
        value = raw_header(msg, name)
        if value:
            found.append(strip_brackets(value))
    for match in _ID_LINE.finditer(quoted_text(parts, problems)):
        found.append(strip_brackets(match.group(1)))
    for name in ("In-Reply-To", "References"):
        value = raw_header(msg, name)
        if value:
            found.extend(i.strip() for i in re.findall(r"<([^<>]*)>", value))
    own = strip_brackets(raw_header(msg, "Message-ID") or "")
    return tuple(dict.fromkeys(i for i in found if i and i != own and "@" in i))


def original_recipients(parts: Sequence[Part], problems: Problems) -> tuple[str, ...]:
    """The To/Cc addresses of the reported message: whom we sent it to."""
    original = original_headers(parts)
    values: list[str] = []
    if original is not None:
        values = [raw_header(original, name) or "" for name in ("To", "Cc")]
    else:
        text = quoted_text(parts, problems)
        values = [m.group(1) for m in re.finditer(r"^(?:to|cc):[ \t]*(.+)$", text, re.I | re.M)]
    try:
        pairs = getaddresses([v for v in values if v])
    except Exception:
        return ()
    return tuple(dict.fromkeys(a.strip().lower() for _, a in pairs if "@" in a))


def original_sender(parts: Sequence[Part]) -> str | None:
    """The From address of the reported message (ours: never a failed recipient)."""
    original = original_headers(parts)
    if original is None:
        return None
    try:
        pairs = getaddresses([raw_header(original, "From") or ""])
    except Exception:
        return None
    return next((a.lower() for _, a in pairs if "@" in a), None)
