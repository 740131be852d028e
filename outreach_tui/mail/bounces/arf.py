"""Complaints: RFC 5965 (ARF) feedback-loop reports, and Microsoft's JMRP reports without one.

ARF: a multipart/report with ``report-type=feedback-report``; its message/feedback-report part
names the complaining recipient in ``Original-Rcpt-To`` (often redacted), else the returned
message's To does. RFC 6591 authentication-failure reports use the same format but are not a
person's complaint.

Microsoft's Junk Mail Reporting Program sends a plain multipart/mixed message ("This is an email
abuse report for an email message received from IP ...") with the original attached and no
feedback part; the attached original names the complainant in ``X-HmXmrOriginalRecipient``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses

from outreach_tui.core.bounce_addresses import choose, clean_address
from outreach_tui.mail.bounces.original import original_headers
from outreach_tui.mail.bounces.report import BounceReport
from outreach_tui.mail.mime_parts import (
    Part,
    Problems,
    decode_bytes,
    header_text,
    parse_address,
    part_bytes,
    part_text,
    raw_header,
)

#: Feedback types that are about authentication, not a person's complaint (RFC 6591).
_NOT_COMPLAINTS = {"auth-failure", "dkim", "spf", "not-spam"}
_MICROSOFT = re.compile(
    r"@(?:[a-z0-9-]+\.)*(?:hotmail|outlook|live|msn|microsoft)\.(?:com|[a-z]{2})$", re.I
)
_ABUSE_TEXT = re.compile(
    r"this is an? (?:e-?mail )?abuse report|complaint about (?:a )?message from"
    r"|reported (?:this message )?as (?:spam|junk)|feedback loop|junk mail reporting",
    re.IGNORECASE,
)
_REDACTED = re.compile(r"redacted|^x+@|\*{3,}|^[.]+@")


def read_arf(
    msg: Message,
    parts: Sequence[Part],
    problems: Problems,
    *,
    message_ids: tuple[str, ...],
    sent_to: Collection[str],
    exclude: Collection[str],
) -> BounceReport:
    feedback_type = "abuse"
    complained: list[str] = []
    for part in parts:
        if part.content_type != "message/feedback-report":
            continue
        fields = _feedback_fields(part.message)
        feedback_type = (raw_header(fields, "Feedback-Type") or feedback_type).strip().lower()
        for name in ("Original-Rcpt-To", "Removal-Recipient"):
            complained.extend(str(v) for v in fields.get_all(name) or [])
    complained = [c for c in complained if not _REDACTED.search(clean_address(c) or "x@")]
    named = choose(complained, sent_to, exclude=exclude)
    if not named:
        named = choose(_original_recipients(parts), sent_to, exclude=exclude)
    if feedback_type in _NOT_COMPLAINTS:
        return BounceReport(
            kind="automatic",
            classified_by="arf",
            reason=f"ARF Feedback-Type: {feedback_type} (not a complaint)",
            recipients=named,
            original_message_id=message_ids[0] if message_ids else None,
            message_ids=message_ids,
        )
    return BounceReport(
        kind="complaint",
        classified_by="arf",
        reason=f"ARF Feedback-Type: {feedback_type}",
        recipients=named,
        original_message_id=message_ids[0] if message_ids else None,
        message_ids=message_ids,
    )


def looks_like_jmrp(msg: Message, parts: Sequence[Part], problems: Problems) -> bool:
    """A complaint without a feedback part: Microsoft's JMRP and its imitators."""
    if original_headers(parts) is None:
        return False
    _, sender = parse_address(header_text(msg, "From") or "")
    subject = header_text(msg, "Subject") or ""
    if raw_header(original_headers(parts) or msg, "X-HmXmrOriginalRecipient"):
        return True
    text = ""
    for part in parts:
        if part.depth == 1 and part.content_type == "text/plain":
            text = part_text(part.message, problems, 8 * 1024)
            break
    by_words = bool(_ABUSE_TEXT.search(text) or _ABUSE_TEXT.search(subject))
    return by_words and (bool(_MICROSOFT.search(sender)) or "abuse" in text.lower()[:400])


def read_jmrp(
    msg: Message,
    parts: Sequence[Part],
    *,
    message_ids: tuple[str, ...],
    sent_to: Collection[str],
    exclude: Collection[str],
) -> BounceReport:
    named = choose(_original_recipients(parts), sent_to, exclude=exclude)
    return BounceReport(
        kind="complaint",
        classified_by="arf",
        reason="abuse report without a feedback part (Microsoft JMRP format)",
        recipients=named,
        original_message_id=message_ids[0] if message_ids else None,
        message_ids=message_ids,
    )


def _original_recipients(parts: Sequence[Part]) -> list[str]:
    original = original_headers(parts)
    if original is None:
        return []
    out: list[str] = []
    for name in ("X-HmXmrOriginalRecipient", "X-Original-To", "Delivered-To", "To"):
        value = raw_header(original, name)
        if not value:
            continue
        try:
            out.extend(a for _, a in getaddresses([value]) if a)
        except Exception:  # a header email.utils cannot split: try the next one
            out = []
        if out:
            break
    return out


def _feedback_fields(part: Message) -> Message:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        fields = Message()
        for block in payload:
            if isinstance(block, Message):
                for key, value in block.items():
                    fields[key] = value
        return fields
    text, _ = decode_bytes(part_bytes(part), "utf-8")
    return HeaderParser().parsestr(text.lstrip())
