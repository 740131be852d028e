"""What the read endpoints return: campaigns, mailboxes, replies, the approval queue, and
why a lead is not being written to."""

from __future__ import annotations

from datetime import datetime

from outreach_tui.api.models.base import Out


class CampaignOut(Out):
    """A campaign and its progress."""

    id: int
    name: str
    status: str
    """active, paused, archived or finished."""
    approval: str
    """manual or auto."""
    steps: int
    leads: int
    active: int
    finished: int
    stopped: int
    sent: int


class MailboxOut(Out):
    """A sending mailbox: its health phase, today's sends and limit, its rates."""

    id: int
    email: str
    phase: str
    """HEALTHY, PAUSED, QUARANTINE, RESTRICTED_SEND or WARM_RECOVERY."""
    sent_today: int
    limit_today: int
    bounce_rate: float
    """Over the last 7 days (0.05 is 5 %)."""
    complaint_rate: float
    resilience: int
    blocked: str | None
    """Why it sends nothing now, if it does not."""
    next_send_at: datetime | None
    cooldown_until: datetime | None
    paused_reason: str | None
    verify_tls: bool


class ReplyOut(Out):
    """A message that came back: a reply, a bounce, a complaint."""

    id: int
    received_at: datetime | None
    mailbox: str
    from_email: str | None
    subject: str | None
    classification: str | None
    handled: bool
    snippet: str | None
    """The new text of the reply (without quotes and signature)."""
    affected_email: str | None
    review: str | None


class QueueItemOut(Out):
    """A send waiting for approval."""

    attempt_id: int
    campaign: str | None
    step: int | None
    sender: str
    recipient: str
    subject: str
    body: str
    scheduled_at: datetime | None
    lead_health: str | None
    legal_basis: str | None


class WhyLineOut(Out):
    """One gate holding a lead's sequence."""

    gate: str
    """suppression, lead, health, campaign, sequence, approval, schedule, window, mailbox,
    cap, lease or enrollment."""
    campaign: str | None
    message: str


class WhyOut(Out):
    """Why a lead is (or is not) being written to."""

    email: str
    lines: list[WhyLineOut]
