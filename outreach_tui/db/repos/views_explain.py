"""What `engine/views/explain.py` reads to say why a lead is not written to, and to forecast
the next sends: a lead's enrollments, the attempt of a step, the queue and the steps due
within a horizon, today's cap counters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Integer, Select, bindparam, select

from outreach_tui.core.states import AttemptState, CounterScope, EnrollmentState, LeadStatus
from outreach_tui.db import tables as t
from outreach_tui.db.records import AttemptRecord, LeadRecord, columns
from outreach_tui.db.repos.enrollments import DueEnrollment

_A, _C, _CL, _L, _DC = t.attempt, t.campaign, t.campaign_lead, t.lead, t.daily_counter
_LIMIT = bindparam("limit", type_=Integer)


# -- why ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LeadEnrollment:
    """An enrollment (`campaign_lead` row) with its campaign's name, status and pause."""

    id: int
    campaign_id: int
    lead_id: int
    mailbox_id: int | None
    next_step: int
    next_due_at: datetime | None
    state: str
    stop_reason: str | None
    thread_message_ids: list[str] | None
    first_subject: str | None
    updated_at: datetime | None
    campaign_name: str
    campaign_status: str
    campaign_paused_reason: str | None


_LEAD_ENROLLMENTS = (
    select(
        *columns(
            LeadEnrollment,
            _CL,
            campaign_name=_C.c.name,
            campaign_status=_C.c.status,
            campaign_paused_reason=_C.c.paused_reason,
        )
    )
    .join(_C, _C.c.id == _CL.c.campaign_id)
    .where(_CL.c.lead_id == bindparam("lead_id"))
    .order_by(_CL.c.id)
)


def lead_enrollments(conn: Connection, lead_id: int) -> list[LeadEnrollment]:
    """Every enrollment of the lead, in the order they were made."""
    return [LeadEnrollment(*row) for row in conn.execute(_LEAD_ENROLLMENTS, {"lead_id": lead_id})]


_STEP_ATTEMPT = select(*columns(AttemptRecord, _A)).where(
    _A.c.campaign_lead_id == bindparam("enrollment_id"),
    _A.c.step_position == bindparam("step"),
)


def step_attempt(conn: Connection, enrollment_id: int, step: int) -> AttemptRecord | None:
    """The attempt of an enrollment's step, or None while it is not in the ledger."""
    row = conn.execute(_STEP_ATTEMPT, {"enrollment_id": enrollment_id, "step": step}).first()
    return None if row is None else AttemptRecord(*row)


_LAST_AUDIT_REASON = (
    select(t.audit_log.c.reason)
    .where(t.audit_log.c.attempt_id == bindparam("attempt_id"))
    .order_by(t.audit_log.c.id.desc())
    .limit(1)
)


def last_audit_reason(conn: Connection, attempt_id: int) -> str | None:
    """The reason of the attempt's latest audit entry (why it was deferred)."""
    value = conn.execute(_LAST_AUDIT_REASON, {"attempt_id": attempt_id}).scalar()
    return None if value is None else str(value)


# -- forecast -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueuedSend:
    """An approved attempt in the queue, with its lead's timezone."""

    id: int
    campaign_id: int | None
    step_position: int | None
    mailbox_id: int | None
    recipient_email: str
    subject: str
    next_attempt_at: datetime | None
    lead_timezone: str | None


_QUEUED = (
    select(*columns(QueuedSend, _A, lead_timezone=_L.c.timezone))
    .join(_L, _L.c.id == _A.c.lead_id)
    .where(
        _A.c.state == AttemptState.APPROVED.value,
        (_A.c.next_attempt_at.is_(None))
        | (_A.c.next_attempt_at <= bindparam("until", type_=_A.c.next_attempt_at.type)),
    )
    .order_by(_A.c.next_attempt_at, _A.c.id)
    .limit(_LIMIT)
)


def queued_sends(conn: Connection, *, until: datetime, limit: int) -> list[QueuedSend]:
    """Up to `limit` approved attempts due by `until` (or unscheduled), soonest first."""
    return [QueuedSend(*row) for row in conn.execute(_QUEUED, {"until": until, "limit": limit})]


def _due_steps(verified_only: bool) -> Select[Any]:
    return (
        select(
            _CL.c.id.label("enrollment_id"),
            _CL.c.campaign_id,
            _CL.c.next_step,
            _CL.c.next_due_at,
            _CL.c.mailbox_id,
            _CL.c.thread_message_ids,
            _CL.c.first_subject,
            *columns(LeadRecord, _L),
        )
        .join(_L, _L.c.id == _CL.c.lead_id)
        .where(
            _CL.c.state == EnrollmentState.ACTIVE.value,
            _CL.c.campaign_id.in_(bindparam("campaign_ids", expanding=True)),
            (_CL.c.next_due_at.is_(None))
            | (_CL.c.next_due_at <= bindparam("until", type_=_CL.c.next_due_at.type)),
            _L.c.status.in_([LeadStatus.NEW.value, LeadStatus.CONTACTED.value]),
            _L.c.health.in_(["GREEN", "YELLOW"])
            if verified_only
            else (_L.c.health.is_(None)) | (_L.c.health != "RED"),
        )
        .order_by(_CL.c.next_due_at, _CL.c.id)
        .limit(_LIMIT)
    )


_DUE_STEPS = {verified_only: _due_steps(verified_only) for verified_only in (False, True)}


def due_steps(
    conn: Connection,
    campaign_ids: list[int],
    *,
    until: datetime,
    verified_only: bool,
    limit: int,
) -> list[DueEnrollment]:
    """Up to `limit` active enrollments of these campaigns whose next step is due by
    `until` (or new), soonest first, with leads that may be written to: `new` or
    `contacted`, and GREEN or YELLOW (`verified_only`) or at least not RED."""
    rows = conn.execute(
        _DUE_STEPS[verified_only],
        {"campaign_ids": campaign_ids, "until": until, "limit": limit},
    )
    return [
        DueEnrollment(row[0], row[1], row[2], row[3], row[4], row[5], row[6], LeadRecord(*row[7:]))
        for row in rows
    ]


_CAP_COUNTERS = select(_DC.c.scope, _DC.c.key, _DC.c.count).where(
    _DC.c.day == bindparam("day", type_=_DC.c.day.type),
    _DC.c.scope.in_([CounterScope.USER, CounterScope.DOMAIN]),
)


def cap_counters_on(conn: Connection, day: date) -> dict[tuple[str, str], int]:
    """The operators' and recipient domains' counters of the local `day`: (scope, key) →
    count."""
    return {
        (str(scope), str(key)): int(n)
        for scope, key, n in conn.execute(_CAP_COUNTERS, {"day": day})
    }
