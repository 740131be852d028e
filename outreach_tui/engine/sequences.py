"""A lead's progress through a campaign: advance after a send, stop on a reply, bounce,
unsubscribe or suppression. Shared by the planner, the dispatcher, the approval queue and
(later) the reply poller, so a sequence stops the same way whoever notices first.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, update

from outreach_tui.core.states import AttemptState, EnrollmentState, LeadStatus
from outreach_tui.db import ledger
from outreach_tui.db import tables as t

#: Attempts that have not reached a server yet: a stopped sequence withdraws them.
UNSENT_STATES = (AttemptState.PENDING_APPROVAL.value, AttemptState.APPROVED.value)


def stop_enrollment(conn: Connection, enrollment_id: int, reason: str, now: datetime) -> None:
    conn.execute(
        update(t.campaign_lead)
        .where(
            t.campaign_lead.c.id == enrollment_id,
            t.campaign_lead.c.state.not_in(
                [EnrollmentState.FINISHED.value, EnrollmentState.STOPPED.value]
            ),
        )
        .values(state=EnrollmentState.STOPPED.value, stop_reason=reason[:300], updated_at=now)
    )


def hold_enrollment(conn: Connection, enrollment_id: int, reason: str, now: datetime) -> None:
    """The outcome of the last send is unknown: nothing more until the operator decides."""
    conn.execute(
        update(t.campaign_lead)
        .where(t.campaign_lead.c.id == enrollment_id)
        .values(state=EnrollmentState.HELD.value, stop_reason=reason[:300], updated_at=now)
    )


def requeue_enrollment(conn: Connection, enrollment_id: int, now: datetime) -> None:
    """The queued step's attempt went away without a send: plan the step again."""
    conn.execute(
        update(t.campaign_lead)
        .where(
            t.campaign_lead.c.id == enrollment_id,
            t.campaign_lead.c.state == EnrollmentState.QUEUED.value,
        )
        .values(state=EnrollmentState.ACTIVE.value, updated_at=now)
    )


def advance_after_send(
    conn: Connection,
    *,
    enrollment_id: int,
    sent_position: int,
    message_id: str,
    subject: str,
    mailbox_id: int,
    sent_at: datetime,
) -> None:
    """Step `sent_position` went out: thread it, and schedule the next step (or finish)."""
    row = conn.execute(select(t.campaign_lead).where(t.campaign_lead.c.id == enrollment_id)).first()
    if row is None:
        return
    next_step = conn.execute(
        select(t.sequence_step.c.delay_days).where(
            t.sequence_step.c.campaign_id == row.campaign_id,
            t.sequence_step.c.position == sent_position + 1,
        )
    ).first()
    thread = [*(row.thread_message_ids or []), message_id]
    values: dict[str, Any] = {
        "next_step": sent_position + 1,
        "thread_message_ids": thread,
        "mailbox_id": mailbox_id,
        "updated_at": sent_at,
    }
    if sent_position == 1 or row.first_subject is None:
        values["first_subject"] = subject
    # A reply may already have stopped the sequence while this send was in flight.
    if row.state in (EnrollmentState.STOPPED.value, EnrollmentState.FINISHED.value):
        conn.execute(
            update(t.campaign_lead).where(t.campaign_lead.c.id == enrollment_id).values(**values)
        )
        return
    if next_step is None:
        values.update(state=EnrollmentState.FINISHED.value, next_due_at=None)
    else:
        values.update(
            state=EnrollmentState.ACTIVE.value,
            next_due_at=sent_at + timedelta(days=float(next_step.delay_days)),
        )
    conn.execute(
        update(t.campaign_lead).where(t.campaign_lead.c.id == enrollment_id).values(**values)
    )


def withdraw_unsent(
    conn: Connection,
    *,
    enrollment_ids: list[int],
    reason: str,
    operator_id: str,
    now: datetime,
) -> int:
    """Reject the unsent attempts of these enrollments (so a queued follow-up never races a
    reply). Returns how many were withdrawn."""
    if not enrollment_ids:
        return 0
    where = [
        t.attempt.c.campaign_lead_id.in_(enrollment_ids),
        t.attempt.c.state.in_(UNSENT_STATES),
    ]
    rows = conn.execute(
        select(
            t.attempt.c.id,
            t.attempt.c.recipient_email,
            t.attempt.c.sender_email,
            t.attempt.c.subject,
        ).where(*where)
    ).all()
    if not rows:
        return 0
    conn.execute(
        update(t.attempt)
        .where(t.attempt.c.id.in_([r.id for r in rows]), t.attempt.c.state.in_(UNSENT_STATES))
        .values(
            state=AttemptState.REJECTED.value,
            policy_result="withdrawn",
            error_detail=reason[:300],
            updated_at=now,
        )
    )
    for r in rows:
        ledger.write_audit(
            conn,
            user_id=operator_id,
            policy_result="withdrawn",
            reason=reason,
            at=now,
            lead_email=r.recipient_email,
            sender_email=r.sender_email,
            subject=r.subject,
            attempt_id=r.id,
        )
    return len(rows)


def stop_lead(
    conn: Connection,
    *,
    lead_id: int,
    reason: str,
    operator_id: str,
    now: datetime,
    lead_status: LeadStatus | None = None,
    company_wide: bool = False,
) -> int:
    """Stop every sequence of a lead (and, for campaigns that ask for it and when
    `company_wide`, of every lead at its domain). Returns the enrollments stopped."""
    lead = conn.execute(
        select(t.lead.c.id, t.lead.c.domain, t.lead.c.status).where(t.lead.c.id == lead_id)
    ).first()
    if lead is None:
        return 0
    if lead_status is not None and not LeadStatus(lead.status).final:
        conn.execute(
            update(t.lead)
            .where(t.lead.c.id == lead_id)
            .values(status=lead_status.value, updated_at=now)
        )
    open_states = [
        EnrollmentState.ACTIVE.value,
        EnrollmentState.QUEUED.value,
        EnrollmentState.HELD.value,
    ]
    targets = conn.execute(
        select(t.campaign_lead.c.id, t.campaign_lead.c.campaign_id).where(
            t.campaign_lead.c.lead_id == lead_id, t.campaign_lead.c.state.in_(open_states)
        )
    ).all()
    enrollments = [r.id for r in targets]
    if company_wide and lead.domain:
        wide_campaigns = (
            conn.execute(
                select(t.campaign.c.id).where(t.campaign.c.stop_on_company_reply.is_(True))
            )
            .scalars()
            .all()
        )
        if wide_campaigns:
            colleagues = conn.execute(
                select(t.campaign_lead.c.id, t.campaign_lead.c.lead_id)
                .join(t.lead, t.lead.c.id == t.campaign_lead.c.lead_id)
                .where(
                    t.lead.c.domain == lead.domain,
                    t.campaign_lead.c.campaign_id.in_(wide_campaigns),
                    t.campaign_lead.c.state.in_(open_states),
                )
            ).all()
            enrollments += [r.id for r in colleagues]
    unique = sorted(set(enrollments))
    for enrollment_id in unique:
        stop_enrollment(conn, enrollment_id, reason, now)
    withdraw_unsent(
        conn,
        enrollment_ids=unique,
        reason=f"sequence stopped: {reason}",
        operator_id=operator_id,
        now=now,
    )
    return len(unique)
