"""Which reader takes a message: ARF, a DSN, Microsoft's abuse reports, a provider's JSON, or the
plain-text bounce formats, in that order; None for anything that is no report."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from email.message import Message
from email.utils import getaddresses

from outreach_tui.mail.bounces.arf import looks_like_jmrp, read_arf, read_jmrp
from outreach_tui.mail.bounces.detect import looks_like_bounce, report_type
from outreach_tui.mail.bounces.dsn import read_dsn
from outreach_tui.mail.bounces.original import message_ids, original_recipients, original_sender
from outreach_tui.mail.bounces.providers import provider_json, read_provider
from outreach_tui.mail.bounces.report import BounceReport
from outreach_tui.mail.bounces.text import read_text_bounce
from outreach_tui.mail.mime_parts import Part, Problems, parts_of, raw_header


def read_report(
    msg: Message,
    problems: Problems,
    parts: Sequence[Part] | None = None,
    *,
    sent_to: Collection[str] = (),
) -> BounceReport | None:
    """A bounce, complaint or delivery report, or None when `msg` is none of them.

    `parts` is `parts_of(msg, problems)` when the caller already has it. `sent_to`: addresses
    this mailbox sent to; a report naming several candidates names these first.
    """
    if parts is None:
        parts = parts_of(msg, problems)
    kind = report_type(msg, parts[0].content_type if parts else None)
    has_status = any(
        p.content_type in {"message/delivery-status", "message/global-delivery-status"}
        for p in parts
    )
    has_feedback = any(p.content_type == "message/feedback-report" for p in parts)
    daemon_like = kind is not None or has_status or has_feedback or looks_like_bounce(msg)
    document = None if has_status or has_feedback else provider_json(parts, problems)
    jmrp = not (has_status or has_feedback) and looks_like_jmrp(msg, parts, problems)
    if not (daemon_like or document is not None or jmrp):
        return None

    ids = message_ids(msg, parts, problems)
    originals = original_recipients(parts, problems)
    hints = {*(a.lower() for a in sent_to), *originals}
    exclude = _our_addresses(msg, parts)
    context = {"message_ids": ids, "sent_to": hints, "exclude": exclude}
    fallback = {"fallback": originals}
    if kind == "disposition-notification":
        # A read receipt (RFC 8098): machine mail about a send that reports no failure.
        return BounceReport(
            kind="automatic",
            classified_by="dsn",
            reason="message disposition notification (read receipt)",
            original_message_id=ids[0] if ids else None,
            message_ids=ids,
        )
    if kind == "feedback-report" or has_feedback:
        return read_arf(msg, parts, problems, **context)  # type: ignore[arg-type]
    if kind in {"delivery-status", "global-delivery-status"} or has_status:
        report = read_dsn(msg, parts, problems, **context, **fallback)  # type: ignore[arg-type]
        if report is not None:
            return report
    if jmrp:
        return read_jmrp(msg, parts, **context)  # type: ignore[arg-type]
    if document is not None:
        report = read_provider(document, **context)  # type: ignore[arg-type]
        if report is not None:
            return report
    if looks_like_bounce(msg) or kind is not None:
        return read_text_bounce(msg, parts, problems, **context, **fallback)  # type: ignore[arg-type]
    return None


def _our_addresses(msg: Message, parts: Sequence[Part]) -> set[str]:
    """Addresses a report names that are never the failed recipient: its own sender, its
    recipient (our mailbox) and the sender of the returned original (us again)."""
    values = [raw_header(msg, name) or "" for name in ("From", "To", "Return-Path", "Sender")]
    out: set[str] = set()
    try:
        out = {a.lower() for _, a in getaddresses(values) if "@" in a}
    except Exception:
        out = set()
    sender = original_sender(parts)
    if sender:
        out.add(sender)
    return out
