"""Read endpoints (scope read): campaigns, mailboxes, replies, the approval queue, and why a
lead is not being written to."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from outreach_tui.api.auth import Caller, require
from outreach_tui.api.models.base import AUTH_RESPONSES
from outreach_tui.api.models.reads import (
    CampaignOut,
    MailboxOut,
    QueueItemOut,
    ReplyOut,
    WhyLineOut,
    WhyOut,
)
from outreach_tui.api.routers.deps import engine
from outreach_tui.core.addresses import normalize_address
from outreach_tui.engine import Engine

router = APIRouter(tags=["reads"], responses=AUTH_RESPONSES)
Reader = Annotated[Caller, Depends(require("read"))]
Eng = Annotated[Engine, Depends(engine)]


@router.get("/campaigns", response_model=list[CampaignOut])
def campaigns(caller: Reader, eng: Eng) -> list[CampaignOut]:
    """Every campaign with its progress."""
    return [
        CampaignOut(id=c.id, name=c.name, status=c.status, approval=c.approval, steps=c.steps,
                    leads=c.leads, active=c.active, finished=c.finished, stopped=c.stopped,
                    sent=c.sent)
        for c in eng.campaigns.summaries()
    ]  # fmt: skip


@router.get("/mailboxes", response_model=list[MailboxOut])
def mailboxes(caller: Reader, eng: Eng) -> list[MailboxOut]:
    """Every mailbox: phase, today's sends and limit, bounce and complaint rates."""
    return [
        MailboxOut(id=m.id, email=m.email, phase=m.phase, sent_today=m.sent_today,
                   limit_today=m.limit_today, bounce_rate=m.bounce_rate,
                   complaint_rate=m.complaint_rate, resilience=m.resilience, blocked=m.blocked,
                   next_send_at=m.next_send_at, cooldown_until=m.cooldown_until,
                   paused_reason=m.paused_reason, verify_tls=m.verify_tls)
        for m in eng.queries.mailboxes()
    ]  # fmt: skip


@router.get("/replies", response_model=list[ReplyOut])
def replies(
    caller: Reader,
    eng: Eng,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    include_handled: bool = True,
    search: Annotated[str, Query(max_length=200)] = "",
) -> list[ReplyOut]:
    """The newest replies, bounces and complaints (`search` "review": those whose
    suppression waits for the operator)."""
    return [
        ReplyOut(id=r.id, received_at=r.received_at, mailbox=r.mailbox, from_email=r.from_email,
                 subject=r.subject, classification=r.classification, handled=r.handled,
                 snippet=r.snippet, affected_email=r.affected_email, review=r.review)
        for r in eng.queries.replies(limit=limit, include_handled=include_handled, search=search)
    ]  # fmt: skip


@router.get("/queue", response_model=list[QueueItemOut])
def queue(
    caller: Reader,
    eng: Eng,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[QueueItemOut]:
    """Sends waiting for approval (manual campaigns)."""
    return [
        QueueItemOut(attempt_id=q.attempt_id, campaign=q.campaign, step=q.step, sender=q.sender,
                     recipient=q.recipient, subject=q.subject, body=q.body,
                     scheduled_at=q.scheduled_at, lead_health=q.lead_health,
                     legal_basis=q.legal_basis)
        for q in eng.approvals.page(offset=offset, limit=limit)
    ]  # fmt: skip


@router.get("/leads/{email}/why", response_model=WhyOut)
def why(email: str, caller: Reader, eng: Eng) -> WhyOut:
    """Why this lead is, or is not, being written to: the gate holding each sequence."""
    address = normalize_address(email)
    lines = [WhyLineOut(gate=w.gate, campaign=w.campaign, message=w.message)
             for w in eng.explainer.why(address)]  # fmt: skip
    return WhyOut(email=address, lines=lines)
