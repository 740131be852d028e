"""A lead's progress through a campaign: advance after a send, stop on a reply, bounce,
unsubscribe or suppression. Shared by the planner, the dispatcher, the approval queue and
(later) the reply poller, so a sequence stops the same way whoever notices first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, or_, select, update

from outreach_tui.core.states import AttemptState, EnrollmentState, LeadStatus
from outreach_tui.db import tables as t
from outreach_tui.db.repos.journal import write_audit
from outreach_tui.db.session import DriverStatement

#: Attempts that have not reached a server yet: a stopped sequence withdraws them.
UNSENT_STATES = (AttemptState.PENDING_APPROVAL.value, AttemptState.APPROVED.value)

_CL = t.campaign_lead
# Prebuilt (see db/ledger.py): the planner and the dispatcher run these for every item.
_STOP = DriverStatement(
    update(_CL)
    .where(
        _CL.c.id == bindparam("enrollment_id"),
        _CL.c.state != EnrollmentState.FINISHED.value,
        _CL.c.state != EnrollmentState.STOPPED.value,
    )
    .values(
        state=EnrollmentState.STOPPED.value,
        stop_reason=bindparam("stop_reason"),
        updated_at=bindparam("updated_at"),
    )
)
# Reads go through conn.execute (their results need SQLAlchemy's processing: JSON, numeric).
# With the delay of the step after `position` (NULL when there is none: delay_days is
# NOT NULL), in the same round trip.
_ENROLLMENT_BY_ID = select(
    _CL.c.campaign_id,
    _CL.c.state,
    _CL.c.thread_message_ids,
    _CL.c.first_subject,
    select(t.sequence_step.c.delay_days)
    .where(
        t.sequence_step.c.campaign_id == _CL.c.campaign_id,
        t.sequence_step.c.position == bindparam("position"),
    )
    .scalar_subquery()
    .label("next_delay_days"),
).where(_CL.c.id == bindparam("enrollment_id"))
_ADVANCE_COLUMNS = ("next_step", "thread_message_ids", "mailbox_id", "first_subject", "updated_at")
_ADVANCE = DriverStatement(
    update(_CL)
    .where(_CL.c.id == bindparam("enrollment_id"))
    .values({name: bindparam(name) for name in _ADVANCE_COLUMNS})
)
_ADVANCE_AND_SCHEDULE = DriverStatement(
    update(_CL)
    .where(_CL.c.id == bindparam("enrollment_id"))
    .values(
        {
            name: bindparam(name)
            for name in (*_ADVANCE_COLUMNS, "state", "next_due_at", "stop_reason")
        }
    )
)


def stop_enrollment(conn: Connection, enrollment_id: int, reason: str, now: datetime) -> None:
    stop_enrollments(conn, [(enrollment_id, reason)], now)


def stop_enrollments(conn: Connection, stops: Sequence[tuple[int, str]], now: datetime) -> None:
    """Stop these (enrollment id, reason) sequences unless already finished or stopped: one
    executemany."""
    if stops:
        _STOP.executemany(
            conn,
            [
                {"enrollment_id": eid, "stop_reason": reason[:300], "updated_at": now}
                for eid, reason in stops
            ],
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
    row = conn.execute(
        _ENROLLMENT_BY_ID, {"enrollment_id": enrollment_id, "position": sent_position + 1}
    ).first()
    if row is None:
        return
    values: dict[str, Any] = {
        "enrollment_id": enrollment_id,
        "next_step": sent_position + 1,
        "thread_message_ids": [*(row.thread_message_ids or []), message_id],
        "mailbox_id": mailbox_id,
        "first_subject": (
            subject if sent_position == 1 or row.first_subject is None else row.first_subject
        ),
        "updated_at": sent_at,
    }
    # A reply may already have stopped the sequence while this send was in flight.
    if row.state in (EnrollmentState.STOPPED.value, EnrollmentState.FINISHED.value):
        _ADVANCE.execute(conn, values)
        return
    if row.next_delay_days is None:
        values.update(state=EnrollmentState.FINISHED.value, next_due_at=None)
    else:
        values.update(
            state=EnrollmentState.ACTIVE.value,
            next_due_at=sent_at + timedelta(days=float(row.next_delay_days)),
        )
    values["stop_reason"] = None  # moving on: no reason to wait or stop
    _ADVANCE_AND_SCHEDULE.execute(conn, values)


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
        write_audit(
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


_OPEN_STATES = (
    EnrollmentState.ACTIVE.value,
    EnrollmentState.QUEUED.value,
    EnrollmentState.HELD.value,
)
# Prebuilt: the reply poller stops a lead for nearly every message it applies.
_LEAD_TO_STOP = DriverStatement(
    select(t.lead.c.id, t.lead.c.domain, t.lead.c.status).where(t.lead.c.id == bindparam("lead_id"))
)
_SET_LEAD_STATUS = DriverStatement(
    update(t.lead)
    .where(t.lead.c.id == bindparam("lead_id"))
    .values(status=bindparam("status"), updated_at=bindparam("updated_at"))
)
_OPEN_ENROLLMENTS = DriverStatement(
    select(_CL.c.id, _CL.c.campaign_id).where(
        _CL.c.lead_id == bindparam("lead_id"), or_(*(_CL.c.state == s for s in _OPEN_STATES))
    )
)
_COMPANY_WIDE_CAMPAIGNS = DriverStatement(
    select(t.campaign.c.id).where(t.campaign.c.stop_on_company_reply.is_(True))
)


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
    lead = _LEAD_TO_STOP.execute(conn, {"lead_id": lead_id}).first()
    if lead is None:
        return 0
    if lead_status is not None and not LeadStatus(lead.status).final:
        _SET_LEAD_STATUS.execute(
            conn, {"lead_id": lead_id, "status": lead_status.value, "updated_at": now}
        )
    open_states = list(_OPEN_STATES)
    targets = _OPEN_ENROLLMENTS.execute(conn, {"lead_id": lead_id}).all()
    enrollments = [r.id for r in targets]
    if company_wide and lead.domain:
        wide_campaigns = _COMPANY_WIDE_CAMPAIGNS.execute(conn, {}).scalars().all()
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
    stop_enrollments(conn, [(enrollment_id, reason) for enrollment_id in unique], now)
    withdraw_unsent(
        conn,
        enrollment_ids=unique,
        reason=f"sequence stopped: {reason}",
        operator_id=operator_id,
        now=now,
    )
    return len(unique)
