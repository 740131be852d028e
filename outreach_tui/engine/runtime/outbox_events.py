"""Which rows become which outbound webhook events, and what each event's JSON says.

    event                 from
    reply.received        a stored reply of a person (any class but bounces, complaints)
    reply.interested      a reply classed "interested"
    lead.unsubscribed     a reply classed "unsubscribe"; an `unsubscribed` event (one-click)
    lead.bounced          a `hard_bounce` event (a DSN, a provider's webhook, an SMTP refusal)
    lead.complaint        a `complaint` event
    mailbox.paused        a `phase_change` event into PAUSED
    mailbox.resumed       a `phase_change` event from another phase back to HEALTHY
    campaign.finished     a `campaign_finished` event

Every payload is `{"id", "event", "created_at", "data"}`; `id` is the delivery's id (the
`X-Outreach-Delivery` header too), the same on every retry, so a receiver can drop repeats.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from outreach_tui.db.repos.outbox import SourceEvent, SourceReply

#: `event` kinds the outbox reads.
EVENT_KINDS = ["hard_bounce", "complaint", "phase_change", "unsubscribed", "campaign_finished"]

#: Reply classes that are reports, not a person's answer (they arrive as events instead).
_REPORT_CLASSES = frozenset({"bounce_hard", "bounce_soft", "complaint"})


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One event to deliver: its name, where it came from (unique per event) and its data."""

    event: str
    source: str
    data: dict[str, Any]
    at: datetime


def from_reply(reply: SourceReply) -> list[WebhookEvent]:
    klass = reply.classification
    if klass is None or klass in _REPORT_CLASSES:
        return []
    data: dict[str, Any] = {
        "reply_id": reply.id,
        "class": klass,
        "from": reply.from_email,
        "lead_email": reply.affected_email or reply.from_email,
        "subject": reply.subject,
        "text": reply.snippet,
        "mailbox": reply.mailbox_email,
        "campaign": reply.campaign,
        "attempt_id": reply.attempt_id,
        "received_at": _iso(reply.received_at),
    }
    at = reply.created_at
    out = [WebhookEvent("reply.received", f"reply:{reply.id}:reply.received", data, at)]
    if klass == "interested":
        out.append(WebhookEvent("reply.interested", f"reply:{reply.id}:reply.interested", data, at))
    if klass == "unsubscribe":
        unsubscribed = {"email": data["lead_email"], "via": "reply", "reply_id": reply.id}
        out.append(
            WebhookEvent(
                "lead.unsubscribed", f"reply:{reply.id}:lead.unsubscribed", unsubscribed, at
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class Lookups:
    """Names for the ids events carry (filled in one read per pass)."""

    reply_address: dict[int, str | None]
    mailbox_email: dict[int, str]
    campaign_name: dict[int, str]
    attempt_recipient: dict[int, str]


def needed_ids(events: list[SourceEvent]) -> tuple[list[int], list[int], list[int], list[int]]:
    """(reply ids, mailbox ids, campaign ids, attempt ids) the events refer to."""
    replies, mailboxes, campaigns, attempts = set(), set(), set(), set()
    for e in events:
        reply_id = (e.data or {}).get("reply_id")
        if isinstance(reply_id, int):
            replies.add(reply_id)
        attempt_id = (e.data or {}).get("attempt_id")
        if isinstance(attempt_id, int):
            attempts.add(attempt_id)
        if e.subject_id and e.subject_id.isdigit():
            if e.subject_type == "mailbox":
                mailboxes.add(int(e.subject_id))
            elif e.subject_type == "campaign":
                campaigns.add(int(e.subject_id))
    return sorted(replies), sorted(mailboxes), sorted(campaigns), sorted(attempts)


def from_event(e: SourceEvent, names: Lookups) -> WebhookEvent | None:
    data = dict(e.data or {})
    mailbox = _mailbox(e, names)
    name: str | None = None
    payload: dict[str, Any] = {}
    if e.kind in ("hard_bounce", "complaint"):
        name = "lead.bounced" if e.kind == "hard_bounce" else "lead.complaint"
        reply_id = data.get("reply_id")
        attempt_id = data.get("attempt_id")
        email = data.get("email") or data.get("address")
        if email is None and isinstance(reply_id, int):
            email = names.reply_address.get(reply_id)
        if email is None and isinstance(attempt_id, int):
            email = names.attempt_recipient.get(attempt_id)
        payload = {"email": email, "mailbox": mailbox, "code": data.get("code"),
                   "reply_id": reply_id, "attempt_id": attempt_id,
                   "message": e.message}  # fmt: skip
    elif e.kind == "unsubscribed":
        name = "lead.unsubscribed"
        payload = {"email": data.get("email"), "via": data.get("via", "one-click"),
                   "message_id": data.get("message_id")}  # fmt: skip
    elif e.kind == "phase_change":
        before, after = data.get("from"), data.get("to")
        if after == "PAUSED":
            name = "mailbox.paused"
        elif after == "HEALTHY" and before not in (None, "HEALTHY"):
            name = "mailbox.resumed"
        payload = {"mailbox": mailbox, "from": before, "to": after, "reason": data.get("reason"),
                   "by": data.get("by"), "message": e.message}  # fmt: skip
    elif e.kind == "campaign_finished":
        name = "campaign.finished"
        campaign = data.get("campaign")
        if campaign is None and e.subject_id and e.subject_id.isdigit():
            campaign = names.campaign_name.get(int(e.subject_id))
        payload = {"campaign": campaign, "message": e.message}
    if name is None:
        return None
    return WebhookEvent(name, f"event:{e.id}:{name}", payload, e.created_at)


def _mailbox(e: SourceEvent, names: Lookups) -> str | None:
    if e.subject_type == "mailbox" and e.subject_id and e.subject_id.isdigit():
        return names.mailbox_email.get(int(e.subject_id))
    return None


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()
