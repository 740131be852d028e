"""What an inbound message is: a human reply (and which kind), a bounce, or a complaint.

The contract between the reply classifier and the IMAP poller. `analyse` takes the raw bytes
exactly as fetched and never raises on bad input (broken MIME, unknown charsets, huge parts):
whatever it cannot read becomes ``kind="other"`` with a ``problem`` that says why, so the
message is still stored and shown.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from datetime import date
from email import message_from_bytes
from email.message import Message
from email.policy import compat32
from email.utils import parsedate_to_datetime
from typing import Literal

from outreach_tui.core.reply_rules import automatic_signal, classify_text
from outreach_tui.mail.dsn import read_report, strip_brackets
from outreach_tui.mail.mime_parts import (
    Part,
    Problems,
    header_text,
    is_attachment,
    parse_address,
    part_text,
    parts_of,
    raw_header,
    safe_content_type,
)
from outreach_tui.mail.reply_text import html_to_text, new_text

ReplyKind = Literal[
    "interested",
    "not_interested",
    "unsubscribe",
    "out_of_office",
    "auto_reply",
    "wrong_person",
    "other",
    "bounce_hard",
    "bounce_soft",
    "complaint",
]

SUPPRESSING_KINDS: frozenset[str] = frozenset({"not_interested", "unsubscribe", "bounce_hard"})
"""Kinds whose effect adds the sender (or bounced recipient) to the suppression list."""


@dataclass(frozen=True)
class InboundAnalysis:
    kind: ReplyKind
    message_id: str | None
    """The message's own Message-ID, without angle brackets."""
    in_reply_to: str | None
    references: tuple[str, ...]
    """Message-IDs from In-Reply-To and References, oldest first, without angle brackets."""
    from_email: str | None
    subject: str | None
    received_at: str | None
    """The Date header as written (the poller falls back on INTERNALDATE)."""
    text: str
    """The new text only: quoted history and signature removed (empty for bounces)."""
    snippet: str
    """First ~200 characters of ``text`` on one line, for lists."""
    reason: str
    """Why this kind: the header or rule that decided, e.g. ``"Auto-Submitted: auto-replied"``."""
    classified_by: Literal["headers", "rules", "dsn", "arf", "llm"] = "rules"
    return_date: date | None = None
    """Out-of-office: the stated date the person is back, when one is stated."""
    bounced_recipients: tuple[str, ...] = ()
    """Bounces and complaints: the addresses that failed (or were complained about)."""
    status_code: str | None = None
    """Bounces: the RFC 3463 enhanced status code, e.g. ``"5.1.1"``."""
    diagnostic: str | None = None
    """Bounces: the remote server's diagnostic text."""
    original_message_id: str | None = None
    """Bounces and complaints: the Message-ID of our message, when the report quotes it."""
    problem: str | None = None
    """Set when the message could not be fully read (broken MIME, unknown charset)."""
    extra: dict[str, str] = field(default_factory=dict)
    sender_at_fault: bool = False
    """Hard bounces: a 5.7.x policy refusal (authentication, DMARC, reputation): the receiving
    server refused the sending mailbox, the recipient's address may well be fine."""


#: Bytes of a message that are parsed at most. Text, reports and the headers of the returned
#: original come first; what lies beyond is an attachment's tail.
MAX_PARSE_BYTES = 2 * 1024 * 1024
SNIPPET_CHARS = 200
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")

log = logging.getLogger(__name__)


def analyse(raw: bytes, *, fallback_date: date | None = None) -> InboundAnalysis:
    """What `raw` (a whole message as fetched) is. Never raises.

    `fallback_date` (e.g. the IMAP INTERNALDATE) places year-less return dates when the message
    has no readable Date header.
    """
    try:
        return _analyse(_as_bytes(raw), fallback_date)
    except Exception as exc:  # the contract: every message gets a result, bad ones a problem
        log.warning("inbound message could not be analysed: %r", exc)
        return _unreadable(_as_bytes(raw), f"could not be analysed ({type(exc).__name__})")


def _as_bytes(raw: object) -> bytes:
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, bytearray | memoryview):
        return bytes(raw)
    return str(raw).encode("utf-8", errors="surrogateescape")


def _analyse(raw: bytes, fallback_date: date | None) -> InboundAnalysis:
    problems = Problems()
    extra: dict[str, str] = {}
    if len(raw) > MAX_PARSE_BYTES:
        extra["analysed_bytes"] = str(MAX_PARSE_BYTES)
    msg = message_from_bytes(raw[:MAX_PARSE_BYTES], policy=compat32)
    if not raw.strip():
        problems.add("empty message")
    # Walked once: the defect check, the report reader and the body all go over the parts.
    parts = parts_of(msg, problems)
    _note_defects(parts, problems)

    in_reply_to = _one_id(raw_header(msg, "In-Reply-To"))
    # The address from the raw value: addresses are never encoded words, display names are.
    from_email = _address(raw_header(msg, "From"))
    subject = _printable(header_text(msg, "Subject"))
    received_at = raw_header(msg, "Date")
    sent = _date_of(received_at) or fallback_date
    envelope = InboundAnalysis(
        kind="other",
        message_id=_one_id(raw_header(msg, "Message-ID")),
        in_reply_to=in_reply_to,
        references=_references(raw_header(msg, "References"), in_reply_to),
        from_email=from_email,
        subject=subject,
        received_at=received_at,
        text="",
        snippet="",
        reason="",
        extra=extra,
    )

    report = read_report(msg, problems, parts)
    if report is not None:
        # A success report is automatic mail about a send, not a failure of it.
        delivered = report.kind == "delivered"
        kind: ReplyKind = "auto_reply" if report.kind == "delivered" else report.kind
        return replace(
            envelope,
            kind=kind,
            snippet=_one_line(report.diagnostic or ""),
            reason=report.reason,
            classified_by=report.classified_by,
            bounced_recipients=() if delivered else report.recipients,
            status_code=report.status_code,
            diagnostic=report.diagnostic,
            original_message_id=report.original_message_id,
            sender_at_fault=report.sender_at_fault,
            problem=problems.summary(),
        )

    text = new_text(_body_text(msg, parts, problems))
    automatic = automatic_signal(_header_pairs(msg))
    verdict = classify_text(text, subject=subject or "", automatic=automatic, sent=sent)
    by_headers = verdict.kind in {"out_of_office", "auto_reply"} and automatic is not None
    return replace(
        envelope,
        kind=verdict.kind,
        text=text,
        snippet=_one_line(text),
        reason=verdict.reason,
        classified_by="headers" if by_headers else "rules",
        return_date=verdict.return_date,
        problem=problems.summary(),
    )


def _note_defects(parts: list[Part], problems: Problems) -> None:
    names: list[str] = []
    for part in parts:
        names.extend(type(defect).__name__ for defect in getattr(part.message, "defects", []))
    if names:
        problems.add("broken MIME: " + ", ".join(sorted(set(names))[:5]))


def _body_text(msg: Message, parts: list[Part], problems: Problems) -> str:
    """The first inline text/plain part, else the first text/html part as text."""
    html_part: Message | None = None
    for _, part, kind in parts:
        if part.is_multipart() or is_attachment(part):
            continue
        if kind == "text/plain":
            return part_text(part, problems)
        if kind == "text/html" and html_part is None:
            html_part = part
    if html_part is not None:
        return html_to_text(part_text(html_part, problems))
    if safe_content_type(msg).startswith("multipart/") and not msg.is_multipart():
        # A multipart without a usable boundary: its parts were never split. Their text is
        # still the best there is (the parser already recorded the defect).
        return part_text(msg, problems)
    return ""


def _header_pairs(msg: Message) -> list[tuple[str, str]]:
    try:
        pairs: list[tuple[str, str]] = []
        for name, value in msg.raw_items():
            # What msg.items() does, minus the policy call for a plain ASCII value (which the
            # compat32 policy hands back unchanged).
            if not (isinstance(value, str) and value.isascii()):
                value = msg.policy.header_fetch_parse(name, value)
            pairs.append((str(name), str(value)))
        return pairs
    except Exception:
        return []


def _one_id(value: str | None) -> str | None:
    return strip_brackets(value) if value else None


def _references(value: str | None, in_reply_to: str | None) -> tuple[str, ...]:
    ids: list[str] = []
    if value:
        bracketed = re.findall(r"<([^<>]*)>", value)
        ids = [i.strip() for i in (bracketed or value.split()) if i.strip()]
    if in_reply_to and in_reply_to not in ids:
        ids.append(in_reply_to)
    return tuple(dict.fromkeys(ids))


def _address(value: str | None) -> str | None:
    if not value:
        return None
    try:
        address = parse_address(value)[1]
    except Exception:
        return None
    return address.strip().lower() if "@" in address else None


def _date_of(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).date()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _printable(value: str | None) -> str | None:
    # An encoded word can smuggle CR/LF/NUL into a decoded subject; it is shown and searched on.
    return _CONTROL.sub(" ", value) if value is not None else None


def _one_line(text: str) -> str:
    return " ".join(text[: SNIPPET_CHARS * 4].split())[:SNIPPET_CHARS]


def _unreadable(raw: bytes, problem: str) -> InboundAnalysis:
    """A result from the raw header lines alone, for a message the parser could not take."""
    head = raw[:65536].split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    text = head.decode("utf-8", errors="replace")

    def field_of(name: str) -> str | None:
        found = re.search(rf"^{name}:[ \t]*(.*)$", text, re.IGNORECASE | re.MULTILINE)
        return found.group(1).strip() if found else None

    in_reply_to = _one_id(field_of("In-Reply-To"))
    return InboundAnalysis(
        kind="other",
        message_id=_one_id(field_of("Message-ID")),
        in_reply_to=in_reply_to,
        references=_references(field_of("References"), in_reply_to),
        from_email=_address(field_of("From")),
        subject=field_of("Subject"),
        received_at=field_of("Date"),
        text="",
        snippet="",
        reason="unreadable",
        classified_by="rules",
        problem=problem,
    )
