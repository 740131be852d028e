"""Sending providers' notifications that arrive by mail: Amazon SES (through SNS, as JSON or as
the JSON of an "Email" subscription with SNS's footer), SendGrid event JSON and Mailgun webhook
JSON forwarded to a mailbox.

Their bounce types say more than an SMTP code (SES ``Permanent``/``NoEmail``, SendGrid's
``bounce_classification``, Mailgun's ``severity``), so they are read first and the remote
diagnostic they carry decides the rest through the same rules as a DSN. An SNS message's
unsubscribe link is SNS's footer, never a person asking to be removed.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from outreach_tui.core.bounce_addresses import choose
from outreach_tui.core.bounce_rules import BounceVerdict, classify, enhanced_codes
from outreach_tui.mail.bounces.original import strip_brackets
from outreach_tui.mail.bounces.report import BounceReport, failure
from outreach_tui.mail.mime_parts import Part, Problems, part_text

_MAX_JSON = 256 * 1024


def provider_json(parts: Sequence[Part], problems: Problems) -> dict[str, Any] | list[Any] | None:
    """The first JSON document of a text or JSON part that a provider could have written."""
    for part in parts:
        if part.depth > 1 or part.content_type not in {
            "text/plain", "application/json", "text/json",
        }:  # fmt: skip
            continue
        text = part_text(part.message, problems, _MAX_JSON)
        starts = [i for i in (text.find("{"), text.find("[")) if 0 <= i <= 2000]
        if not starts:
            continue
        try:
            document, _ = json.JSONDecoder().raw_decode(text[min(starts) :])
        except ValueError:
            continue
        if isinstance(document, dict | list):
            return document
    return None


def read_provider(
    document: dict[str, Any] | list[Any],
    *,
    message_ids: tuple[str, ...],
    sent_to: Collection[str],
    exclude: Collection[str],
) -> BounceReport | None:
    """A report from a provider notification, or None when the JSON is no such thing."""
    if isinstance(document, dict) and document.get("Type") in {
        "Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation",
    }:  # fmt: skip
        inner = document.get("Message")
        if document.get("Type") != "Notification" or not isinstance(inner, str):
            return _automatic("SNS subscription message", message_ids)
        try:
            document = json.loads(inner)
        except ValueError:
            return _automatic("SNS notification without JSON", message_ids)
    if isinstance(document, dict) and ("notificationType" in document or "eventType" in document):
        return _ses(document, message_ids, sent_to, exclude)
    events = document if isinstance(document, list) else [document]
    events = [e for e in events if isinstance(e, dict)]
    mailgun = [e.get("event-data", e) for e in events]
    if any(isinstance(e, dict) and "event" in e and "recipient" in e for e in mailgun):
        return _mailgun([e for e in mailgun if isinstance(e, dict)], message_ids, sent_to, exclude)
    if any("event" in e and "email" in e for e in events):
        return _sendgrid(events, message_ids, sent_to, exclude)
    return None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _code(value: object) -> str | None:
    codes = enhanced_codes(str(value or ""))
    return codes[0] if codes else None


def _automatic(reason: str, message_ids: tuple[str, ...]) -> BounceReport:
    return BounceReport(
        kind="automatic",
        classified_by="dsn",
        reason=reason,
        original_message_id=message_ids[0] if message_ids else None,
        message_ids=message_ids,
    )


def _ids(values: Iterable[object], message_ids: tuple[str, ...]) -> tuple[str, ...]:
    found = [strip_brackets(v) for v in values if isinstance(v, str) and "@" in v]
    return tuple(dict.fromkeys([*(i for i in found if i), *message_ids]))


def _verdict(
    diagnostic: str, status: str | None, *, transient: bool, forced: str | None
) -> BounceVerdict:
    verdict = classify(diagnostic, status=status, transient=transient)
    if forced is None or verdict.bounce_class == "policy":
        return verdict
    if forced == "hard" and transient:
        return verdict
    rule = f"provider type, then {verdict.rule}"
    return BounceVerdict(forced, verdict.code, rule)  # type: ignore[arg-type]


# --- Amazon SES -------------------------------------------------------------------------------

_SES_FORCED = {
    ("permanent", "noemail"): "hard",
    ("permanent", "suppressed"): "hard",
    ("permanent", "onaccountsuppressionlist"): "hard",
    ("transient", "mailboxfull"): "soft",
    ("transient", "messagetoolarge"): "soft",
    ("transient", "contentrejected"): "policy",
    ("transient", "attachmentrejected"): "policy",
}


def _ses(
    note: dict[str, Any],
    message_ids: tuple[str, ...],
    sent_to: Collection[str],
    exclude: Collection[str],
) -> BounceReport:
    kind = str(note.get("notificationType") or note.get("eventType") or "").lower()
    mail = _dict(note.get("mail"))
    common = _dict(mail.get("commonHeaders"))
    headers = _list(mail.get("headers"))
    quoted = [common.get("messageId")]
    quoted += [
        h.get("value")
        for h in headers
        if isinstance(h, dict) and str(h.get("name", "")).lower() == "message-id"
    ]
    if mail.get("messageId"):
        quoted.append(f"{mail['messageId']}@email.amazonses.com")
    ids = _ids(quoted, message_ids)
    destination = [str(a) for a in _list(mail.get("destination")) if isinstance(a, str)]
    if kind == "complaint":
        body = _dict(note.get("complaint"))
        who = [
            str(r.get("emailAddress", ""))
            for r in body.get("complainedRecipients") or []
            if isinstance(r, dict)
        ]
        return BounceReport(
            kind="complaint",
            classified_by="arf",
            reason=f"Amazon SES complaint ({body.get('complaintFeedbackType') or 'abuse'})",
            recipients=choose(who or destination, sent_to, exclude=exclude),
            original_message_id=ids[0] if ids else None,
            message_ids=ids,
        )
    if kind == "delivery":
        body = _dict(note.get("delivery"))
        return BounceReport(
            kind="delivered",
            classified_by="dsn",
            reason="Amazon SES delivery notification",
            recipients=choose(body.get("recipients") or destination, sent_to, exclude=exclude),
            original_message_id=ids[0] if ids else None,
            delivery_status="delivered",
            message_ids=ids,
        )
    if kind in {"bounce", "deliverydelay", "reject"}:
        body = _dict(note.get("bounce") or note.get("deliveryDelay") or note.get("reject"))
        listed = body.get("bouncedRecipients") or body.get("delayedRecipients") or []
        first = next((r for r in listed if isinstance(r, dict)), {})
        who = [str(r.get("emailAddress", "")) for r in listed if isinstance(r, dict)]
        diagnostic = str(first.get("diagnosticCode") or body.get("reason") or "")
        status = _code(first.get("status") or "")
        bounce_type = str(body.get("bounceType") or "").lower()
        sub_type = str(body.get("bounceSubType") or "").lower()
        delayed = kind == "deliverydelay"
        transient = delayed or bounce_type in {"transient", "undetermined"}
        forced = _SES_FORCED.get((bounce_type, sub_type))
        if kind == "reject":
            forced = "policy"
        elif forced is None and bounce_type == "permanent" and not diagnostic:
            forced = "hard"
        verdict = _verdict(diagnostic, status, transient=transient, forced=forced)
        return failure(
            verdict,
            reason=f"Amazon SES {kind} ({bounce_type or '-'}/{sub_type or '-'})",
            recipients=choose(who or destination, sent_to, exclude=exclude),
            diagnostic=diagnostic[:400] or None,
            message_ids=ids,
            delayed=delayed,
        )
    return _automatic(f"Amazon SES {kind or 'notification'} event", ids)


# --- SendGrid ---------------------------------------------------------------------------------

_SENDGRID_CLASS = {
    "invalid address": "hard",
    "mailbox unavailable": "soft",
    "technical": "soft",
    "content": "policy",
    "reputation": "policy",
    "frequency or volume too high": "policy",
}
_SENDGRID_RANK = {
    "spamreport": 5,
    "bounce": 4,
    "blocked": 4,
    "dropped": 3,
    "deferred": 2,
    "delivered": 1,
}


def _sendgrid(
    events: list[dict[str, Any]],
    message_ids: tuple[str, ...],
    sent_to: Collection[str],
    exclude: Collection[str],
) -> BounceReport:
    event = max(events, key=lambda e: _SENDGRID_RANK.get(str(e.get("event", "")).lower(), 0))
    name = str(event.get("event", "")).lower()
    ids = _ids([event.get("smtp-id"), event.get("message_id")], message_ids)
    who = choose([str(event.get("email", ""))], sent_to, exclude=exclude)
    if name == "spamreport":
        return BounceReport(
            kind="complaint", classified_by="arf", reason="SendGrid spamreport event",
            recipients=who, original_message_id=ids[0] if ids else None, message_ids=ids,
        )  # fmt: skip
    if name == "delivered":
        return BounceReport(
            kind="delivered", classified_by="dsn", reason="SendGrid delivered event",
            recipients=who, original_message_id=ids[0] if ids else None,
            delivery_status="delivered", message_ids=ids,
        )  # fmt: skip
    if name not in {"bounce", "blocked", "dropped", "deferred"}:
        return _automatic(f"SendGrid {name or 'unknown'} event", ids)
    reason = str(event.get("reason") or event.get("response") or "")
    status = _code(event.get("status") or "")
    kind = str(event.get("type") or name).lower()
    forced = _SENDGRID_CLASS.get(str(event.get("bounce_classification") or "").lower())
    if name == "dropped":
        lowered = reason.lower()
        forced = "hard" if "bounced" in lowered or "invalid" in lowered else forced
        if "spam reporting" in lowered or "unsubscribed" in lowered:
            return _automatic(f"SendGrid dropped: {reason}", ids)
    transient = name == "deferred" or kind == "blocked"
    verdict = _verdict(reason, status, transient=transient, forced=forced)
    return failure(
        verdict, reason=f"SendGrid {name} event ({kind})", recipients=who,
        diagnostic=reason[:400] or None, message_ids=ids, delayed=name == "deferred",
    )  # fmt: skip


# --- Mailgun ----------------------------------------------------------------------------------


def _mailgun(
    events: list[dict[str, Any]],
    message_ids: tuple[str, ...],
    sent_to: Collection[str],
    exclude: Collection[str],
) -> BounceReport:
    event = events[0]
    name = str(event.get("event", "")).lower()
    headers = _dict(_dict(event.get("message")).get("headers"))
    ids = _ids([headers.get("message-id"), headers.get("Message-Id")], message_ids)
    ids = ids or _ids([f"<{headers.get('message-id')}>"] if headers.get("message-id") else [], ())
    who = choose([str(event.get("recipient", ""))], sent_to, exclude=exclude)
    if name == "complained":
        return BounceReport(
            kind="complaint", classified_by="arf", reason="Mailgun complained event",
            recipients=who, original_message_id=ids[0] if ids else None, message_ids=ids,
        )  # fmt: skip
    if name == "delivered":
        return BounceReport(
            kind="delivered", classified_by="dsn", reason="Mailgun delivered event",
            recipients=who, original_message_id=ids[0] if ids else None,
            delivery_status="delivered", message_ids=ids,
        )  # fmt: skip
    if name not in {"failed", "bounced", "dropped"}:
        return _automatic(f"Mailgun {name or 'unknown'} event", ids)
    status_block = _dict(event.get("delivery-status"))
    diagnostic = " ".join(
        str(status_block.get(k) or "") for k in ("code", "message", "description")
    ).strip()
    status = _code(status_block.get("enhanced-code") or "")
    severity = str(event.get("severity") or "permanent").lower()
    reason = str(event.get("reason") or "").lower()
    forced = {"suppress-bounce": "hard", "espblock": "policy"}.get(reason)
    if reason == "suppress-complaint":
        return _automatic("Mailgun dropped: the address complained before", ids)
    expired = reason == "old"
    verdict = classify(
        diagnostic, status=status, transient=severity == "temporary", expired=expired
    )
    if forced is not None and verdict.bounce_class != "policy":
        verdict = BounceVerdict(forced, verdict.code, f"Mailgun reason {reason}")  # type: ignore[arg-type]
    return failure(
        verdict, reason=f"Mailgun {name} event ({severity}, {reason or '-'})", recipients=who,
        diagnostic=diagnostic[:400] or None, message_ids=ids, expired=expired,
    )  # fmt: skip
