"""What an inbound message is: a human reply (and which kind), a bounce, or a complaint.

The contract between the reply classifier and the IMAP poller. `analyse` takes the raw bytes
exactly as fetched and never raises on bad input (broken MIME, unknown charsets, huge parts):
whatever it cannot read becomes ``kind="other"`` with a ``problem`` that says why, so the
message is still stored and shown.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import date
from email import message_from_bytes
from email.message import Message
from email.policy import compat32
from email.utils import parsedate_to_datetime
from typing import Literal

from outreach_tui.core.bounce_rules import BounceClass
from outreach_tui.core.reply_rules import automatic_signal, classify_text
from outreach_tui.core.screen_text import printable
from outreach_tui.mail.bounces import DeliveryStatus, read_report, strip_brackets
from outreach_tui.mail.mime_parts import (
    Part,
    Problems,
    cut_deep_nesting,
    header_text,
    is_attachment,
    parse_address,
    part_text,
    parts_of,
    raw_header,
    safe_content_type,
)
from outreach_tui.mail.reply_text import html_reply_text, new_text

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
    """A policy refusal (block list, reputation, authentication, content, rate): the receiving
    server refused the sending mailbox, the recipient's address may well be fine. Such a report
    comes out as ``bounce_hard`` (or ``bounce_soft`` for a delay warning) with this set."""
    bounce_class: BounceClass | None = None
    """Bounces: hard (the address does not exist, is disabled or moved: the only class that
    suppresses), soft (mailbox full, too big, network/system errors, expiry) or policy (our
    IP, domain, authentication, content or rate was refused)."""
    expired: bool = False
    """Bounces: returned undelivered after retries ran out (``Action: failed`` with a 4.x.x
    status, "retry timeout exceeded"): the message never arrived."""
    delivery_status: DeliveryStatus | None = None
    """Reports: failed, delayed (a warning: delivery is still being tried, not a failure) or
    delivered (success, relayed, expanded)."""
    report_message_ids: tuple[str, ...] = ()
    """Reports: every Message-ID of the reported message the report quotes (returned headers or
    body part, X-Original-Message-ID, In-Reply-To, References, a provider's JSON), without
    brackets, most reliable first: what the engine matches against its sends."""


#: Bytes of a message that are parsed at most. Text, reports and the headers of the returned
#: original come first; what lies beyond is an attachment's tail.
MAX_PARSE_BYTES = 2 * 1024 * 1024
SNIPPET_CHARS = 200

log = logging.getLogger(__name__)


def analyse(
    raw: bytes,
    *,
    fallback_date: date | None = None,
    sent_recipients: Collection[str] = (),
) -> InboundAnalysis:
    """What `raw` (a whole message as fetched) is. Never raises.

    `fallback_date` (e.g. the IMAP INTERNALDATE) places year-less return dates when the message
    has no readable Date header. `sent_recipients`: addresses this mailbox sent to; when a
    report names several candidates, these are preferred.
    """
    try:
        result = _analyse(_as_bytes(raw), fallback_date, sent_recipients)
    except Exception as exc:  # the contract: every message gets a result, bad ones a problem
        log.warning("inbound message could not be analysed: %r", exc)
        result = _unreadable(_as_bytes(raw), f"could not be analysed ({type(exc).__name__})")
    return _single_lines(result)


def _one_line_text(value: str) -> str:
    # What never appears in a field meant to be one line: C0 controls but tab (CR/LF would
    # split it; ESC starts a terminal sequence), DEL, C1 (CSI is ESC[ in one character) and
    # the bidi controls, the set every face cleans (core/screen_text.py). A space here: the
    # text stays searchable.
    return printable(value, mark=" ")


def _single_lines(result: InboundAnalysis) -> InboundAnalysis:
    """`result` with every one-line text (all but `text`) free of control characters, in one
    place for every branch: the envelope, the report's fields, the problem. Message-IDs stay
    as written: they are matched, never shown raw (the engine cleans what it stores), and the
    IMAP client refuses them if they would break a command (mail/imap_args.py)."""

    def line(value: str | None) -> str | None:
        return _one_line_text(value) if value else value

    return replace(
        result,
        from_email=line(result.from_email),
        subject=line(result.subject),
        received_at=line(result.received_at),
        snippet=_one_line_text(result.snippet),
        reason=_one_line_text(result.reason),
        bounced_recipients=tuple(_one_line_text(v) for v in result.bounced_recipients),
        status_code=line(result.status_code),
        diagnostic=line(result.diagnostic),
        problem=line(result.problem),
        extra={k: _one_line_text(v) for k, v in result.extra.items()},
    )


def _as_bytes(raw: object) -> bytes:
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, bytearray | memoryview):
        return bytes(raw)
    return str(raw).encode("utf-8", errors="surrogateescape")


def _analyse(
    raw: bytes, fallback_date: date | None, sent_recipients: Collection[str]
) -> InboundAnalysis:
    problems = Problems()
    extra: dict[str, str] = {}
    if len(raw) > MAX_PARSE_BYTES:
        extra["analysed_bytes"] = str(MAX_PARSE_BYTES)
    # Parts nested past the depth the walk reads are cut before the parser pays for them.
    parsed, too_deep = cut_deep_nesting(raw[:MAX_PARSE_BYTES])
    if too_deep:
        problems.add(too_deep)
    msg = message_from_bytes(parsed, policy=compat32)
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

    report = read_report(msg, problems, parts, sent_to=sent_recipients)
    if report is not None:
        # A success report is automatic mail about a send, not a failure of it.
        no_failure = report.kind in ("delivered", "automatic")
        kind: ReplyKind = "auto_reply"
        if report.kind in ("bounce_hard", "bounce_soft", "complaint"):
            kind = report.kind
        return replace(
            envelope,
            kind=kind,
            snippet=_one_line(report.diagnostic or ""),
            reason=report.reason,
            classified_by=report.classified_by,
            bounced_recipients=() if no_failure else report.recipients,
            status_code=report.status_code,
            diagnostic=report.diagnostic,
            original_message_id=report.original_message_id,
            sender_at_fault=report.sender_at_fault,
            bounce_class=report.bounce_class,
            expired=report.expired,
            delivery_status=report.delivery_status,
            report_message_ids=report.message_ids,
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
        return html_reply_text(part_text(html_part, problems))
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


#: A Date past this is no date a reply was written on (year 9999): the arrival date is used,
#: and return dates a year after it still fit in a `date`.
_LAST_PLAUSIBLE = date(9000, 1, 1)


def _date_of(value: str | None) -> date | None:
    if not value:
        return None
    try:
        sent = parsedate_to_datetime(value).date()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return sent if sent < _LAST_PLAUSIBLE else None


def _printable(value: str | None) -> str | None:
    # An encoded word can smuggle CR/LF/NUL into a decoded subject; it is shown and searched on.
    return _one_line_text(value) if value is not None else None


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
