"""What a provider's event webhook says, read into one shape: Amazon SES (through SNS),
SendGrid's Event Webhook and Mailgun's webhooks.

Only bounces, complaints and deliveries matter here; opens, clicks and the rest are
dropped. A bounce's class (hard, soft, policy) comes from the same rules as a DSN's
(core/bounce_rules.py), given the provider's words and its own permanent/temporary verdict,
so "5.7.1 blocked" from SendGrid is a policy refusal exactly as it is in a bounce mail.
Pure: the payload arrives as parsed JSON, already verified (outreach_tui/api/webhooks/).
What the events then do is decided by core/event_effects.py and applied by the engine.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from outreach_tui.core.bounce_rules import BounceClass, classify

Provider = Literal["ses", "sendgrid", "mailgun"]
EventKind = Literal["bounce", "complaint", "delivery"]
Status = Literal["failed", "delayed", "delivered"]

#: The most events one request may carry (SendGrid batches up to about a thousand).
MAX_EVENTS = 5000
_MAX_TEXT = 1000


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    provider: Provider
    kind: EventKind
    recipient: str
    """The address the event is about (lower-cased)."""
    message_id: str | None
    """Our Message-ID (`<...>`) when the provider reports it."""
    event_id: str
    """The provider's id of this event (de-duplication)."""
    bounce_class: BounceClass | None = None
    delivery_status: Status | None = None
    status_code: str | None = None
    diagnostic: str = ""


def _text(value: Any) -> str:
    return value[:_MAX_TEXT] if isinstance(value, str) else ""


def _address(value: Any) -> str | None:
    """A bare address from "Name <a@b>" or "a@b"; None for anything else."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if "<" in text and text.endswith(">"):
        text = text[text.rindex("<") + 1 : -1]
    text = text.strip().lower()
    if "@" not in text or any(c.isspace() or ord(c) < 32 for c in text) or len(text) > 320:
        return None
    return text


def _message_id(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip() or len(value) > 998:
        return None
    text = value.strip()
    if any(ord(c) < 33 for c in text):
        return None
    return text if text.startswith("<") else f"<{text}>"


def _bounce_class(diagnostic: str, status: str | None, *, permanent: bool) -> BounceClass:
    if not permanent:
        return "soft"
    return classify(diagnostic, status=status, transient=False).bounce_class


# -- Amazon SES (the Message of an SNS notification) ------------------------------------


def ses_events(message: str) -> list[ProviderEvent]:
    """The events of one SES notification (`Message` of the SNS envelope, a JSON text)."""
    try:
        body = json.loads(message)
    except ValueError:
        return []
    if not isinstance(body, dict):
        return []
    kind = body.get("notificationType") or body.get("eventType")
    mail = body.get("mail") if isinstance(body.get("mail"), dict) else {}
    assert isinstance(mail, dict)
    headers = mail.get("commonHeaders") if isinstance(mail.get("commonHeaders"), dict) else {}
    assert isinstance(headers, dict)
    message_id = _message_id(headers.get("messageId"))
    ses_id = _text(mail.get("messageId")) or "unknown"
    out: list[ProviderEvent] = []
    if kind == "Bounce" and isinstance(body.get("bounce"), dict):
        bounce = body["bounce"]
        permanent = bounce.get("bounceType") == "Permanent"
        feedback = _text(bounce.get("feedbackId")) or ses_id
        for entry in _dicts(bounce.get("bouncedRecipients")):
            address = _address(entry.get("emailAddress"))
            if address is None:
                continue
            status = _text(entry.get("status")) or None
            diagnostic = _text(entry.get("diagnosticCode"))
            out.append(ProviderEvent(
                "ses", "bounce", address, message_id, f"ses:{feedback}:{address}",
                bounce_class=_bounce_class(diagnostic, status, permanent=permanent),
                delivery_status="failed", status_code=status, diagnostic=diagnostic,
            ))  # fmt: skip
    elif kind == "Complaint" and isinstance(body.get("complaint"), dict):
        complaint = body["complaint"]
        feedback = _text(complaint.get("feedbackId")) or ses_id
        for entry in _dicts(complaint.get("complainedRecipients")):
            address = _address(entry.get("emailAddress"))
            if address is not None:
                out.append(ProviderEvent(
                    "ses", "complaint", address, message_id, f"ses:{feedback}:{address}",
                    diagnostic=_text(complaint.get("complaintFeedbackType")),
                ))  # fmt: skip
    elif kind == "Delivery" and isinstance(body.get("delivery"), dict):
        for value in body["delivery"].get("recipients") or []:
            address = _address(value)
            if address is not None:
                out.append(ProviderEvent(
                    "ses", "delivery", address, message_id, f"ses:{ses_id}:delivery:{address}",
                    delivery_status="delivered",
                ))  # fmt: skip
    return out[:MAX_EVENTS]


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, list):
        yield from (v for v in value[:MAX_EVENTS] if isinstance(v, dict))


# -- SendGrid Event Webhook (a JSON array) ----------------------------------------------


def sendgrid_events(payload: Any) -> list[ProviderEvent]:
    out: list[ProviderEvent] = []
    for entry in _dicts(payload):
        address = _address(entry.get("email"))
        name = entry.get("event")
        if address is None or not isinstance(name, str):
            continue
        message_id = _message_id(entry.get("smtp-id"))
        event_id = (
            f"sendgrid:{_text(entry.get('sg_event_id')) or _text(entry.get('sg_message_id'))}"
        )
        event_id += f":{name}:{address}"
        status = _text(entry.get("status")) or None
        reason = _text(entry.get("reason"))
        if name == "bounce":
            # type "bounce": the receiver refused the address for good; "blocked": it
            # refused the message or us for now.
            permanent = entry.get("type", "bounce") == "bounce"
            klass = _bounce_class(reason, status, permanent=permanent)
            out.append(ProviderEvent(
                "sendgrid", "bounce", address, message_id, event_id, bounce_class=klass,
                delivery_status="failed", status_code=status, diagnostic=reason,
            ))  # fmt: skip
        elif name == "deferred":
            out.append(ProviderEvent(
                "sendgrid", "bounce", address, message_id, event_id, bounce_class="soft",
                delivery_status="delayed", status_code=status, diagnostic=reason,
            ))  # fmt: skip
        elif name == "spamreport":
            out.append(ProviderEvent("sendgrid", "complaint", address, message_id, event_id))
        elif name == "delivered":
            out.append(ProviderEvent(
                "sendgrid", "delivery", address, message_id, event_id,
                delivery_status="delivered",
            ))  # fmt: skip
    return out


# -- Mailgun (one event per request) -----------------------------------------------------


def mailgun_events(data: dict[str, Any]) -> list[ProviderEvent]:
    name = data.get("event")
    address = _address(data.get("recipient"))
    if address is None or not isinstance(name, str):
        return []
    message = data.get("message") if isinstance(data.get("message"), dict) else {}
    assert isinstance(message, dict)
    headers = message.get("headers") if isinstance(message.get("headers"), dict) else {}
    assert isinstance(headers, dict)
    message_id = _message_id(headers.get("message-id"))
    event_id = f"mailgun:{_text(data.get('id')) or 'unknown'}"
    status = data.get("delivery-status") if isinstance(data.get("delivery-status"), dict) else {}
    assert isinstance(status, dict)
    code = status.get("code")
    diagnostic = " ".join(
        part for part in (
            str(code) if isinstance(code, int) else "",
            _text(status.get("message")),
            _text(status.get("description")),
        ) if part
    )[:_MAX_TEXT]  # fmt: skip
    enhanced = _text(status.get("enhanced-code")) or None
    if name == "failed":
        permanent = data.get("severity") == "permanent"
        return [ProviderEvent(
            "mailgun", "bounce", address, message_id, event_id,
            bounce_class=_bounce_class(diagnostic, enhanced, permanent=permanent),
            delivery_status="failed" if permanent else "delayed",
            status_code=enhanced, diagnostic=diagnostic,
        )]  # fmt: skip
    if name == "complained":
        return [ProviderEvent("mailgun", "complaint", address, message_id, event_id)]
    if name == "delivered":
        return [ProviderEvent(
            "mailgun", "delivery", address, message_id, event_id, delivery_status="delivered"
        )]  # fmt: skip
    return []
