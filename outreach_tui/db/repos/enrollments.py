"""Enrollments (`campaign_lead`): one lead's progress through one campaign's sequence.

What the planner reads each tick (the due enrollments, with their leads) and writes back in
one batch, and how an enrollment moves after a send or a reply: advance, stop, hold. What
these moves mean is engine/sending/sequences.py; the tick is engine/sending/planner.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, bindparam, or_, select, update

from outreach_tui.core.states import CampaignStatus, EnrollmentState
from outreach_tui.db import tables as t
from outreach_tui.db.records import LeadRecord, columns
from outreach_tui.db.session import DriverStatement

_C, _S, _CL = t.campaign, t.sequence_step, t.campaign_lead

#: Enrollments still under way: a reply, a bounce or an unsubscribe stops them.
OPEN_ENROLLMENT_STATES = (
    EnrollmentState.ACTIVE.value,
    EnrollmentState.QUEUED.value,
    EnrollmentState.HELD.value,
)


# -- the planner's due enrollments and its batch of changes -------------------------------


@dataclass(frozen=True, slots=True)
class DueEnrollment:
    """An active enrollment whose next step is due (or new, with no due time yet), with its
    lead."""

    enrollment_id: int
    campaign_id: int
    next_step: int
    next_due_at: datetime | None
    mailbox_id: int | None
    """The sticky sender of follow-ups (None before the first step went out)."""
    thread_message_ids: list[str] | None
    first_subject: str | None
    lead: LeadRecord


_DUE_COLUMNS = (
    _CL.c.id.label("enrollment_id"),
    _CL.c.campaign_id,
    _CL.c.next_step,
    _CL.c.next_due_at,
    _CL.c.mailbox_id,
    _CL.c.thread_message_ids,
    _CL.c.first_subject,
    *columns(LeadRecord, t.lead),
)


def _due_statements(lock: bool) -> tuple[Select[Any], Select[Any]]:
    base = (
        select(*_DUE_COLUMNS)
        .join(t.lead, t.lead.c.id == _CL.c.lead_id)
        .where(
            _CL.c.state == EnrollmentState.ACTIVE.value,
            _CL.c.campaign_id.in_(bindparam("campaign_ids", expanding=True)),
        )
    )
    if lock:
        base = base.with_for_update(of=_CL, skip_locked=True)
    overdue = (
        base.where(_CL.c.next_due_at <= bindparam("now"))
        .order_by(_CL.c.next_due_at)
        .limit(bindparam("limit"))
    )
    new = (
        base.where(_CL.c.next_due_at.is_(None))
        # The index order (state, next_due_at, campaign_id, rowid): no sort.
        .order_by(_CL.c.campaign_id, _CL.c.id)
        .limit(bindparam("limit"))
    )
    return overdue, new


_DUE = {lock: _due_statements(lock) for lock in (False, True)}


def due_enrollments(
    conn: Connection, campaign_ids: Sequence[int], *, now: datetime, limit: int, lock: bool
) -> list[DueEnrollment]:
    """Up to `limit` active enrollments of these campaigns whose next step is due, oldest
    first, then new ones: two index range scans instead of one OR that defeats the index.

    `lock`: lock the rows read until COMMIT, skipping those another transaction holds
    (PostgreSQL; SQLite admits one writer at a time anyway)."""
    overdue, new = _DUE[lock]
    ids = list(campaign_ids)
    rows = list(conn.execute(overdue, {"campaign_ids": ids, "now": now, "limit": limit}))
    if len(rows) < limit:
        rows += conn.execute(new, {"campaign_ids": ids, "limit": limit - len(rows)}).all()
    return [
        DueEnrollment(row[0], row[1], row[2], row[3], row[4], row[5], row[6], LeadRecord(*row[7:]))
        for row in rows
    ]


@dataclass(frozen=True, slots=True)
class EnrollmentChange:
    """An enrollment's columns the planner may change, as they are to be written."""

    enrollment_id: int
    state: str
    next_due_at: datetime | None
    mailbox_id: int | None
    stop_reason: str | None
    updated_at: datetime


# One prebuilt statement for every enrollment a planner tick touches (planned, waiting,
# finished): each row given every column's value, the unchanged ones as they were read.
_ENROLLMENT_SET = DriverStatement(
    update(_CL)
    .where(_CL.c.id == bindparam("enrollment_id"))
    .values(
        {
            name: bindparam(name)
            for name in ("state", "next_due_at", "mailbox_id", "stop_reason", "updated_at")
        }
    )
)


def update_enrollments(conn: Connection, changes: Sequence[EnrollmentChange]) -> None:
    """Write these changes: one executemany."""
    if changes:
        _ENROLLMENT_SET.executemany(
            conn,
            [
                {
                    "enrollment_id": c.enrollment_id,
                    "state": c.state,
                    "next_due_at": c.next_due_at,
                    "mailbox_id": c.mailbox_id,
                    "stop_reason": c.stop_reason,
                    "updated_at": c.updated_at,
                }
                for c in changes
            ],
        )


# -- an enrollment's moves: stop, hold, advance -------------------------------------------

# Prebuilt: the planner and the dispatcher run these for every item.
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


def stop_enrollment(conn: Connection, enrollment_id: int, reason: str, now: datetime) -> None:
    stop_enrollments(conn, [(enrollment_id, reason)], now)


def hold_enrollment(conn: Connection, enrollment_id: int, reason: str, now: datetime) -> None:
    """The outcome of the last send is unknown: nothing more until the operator decides."""
    conn.execute(
        update(_CL)
        .where(_CL.c.id == enrollment_id)
        .values(state=EnrollmentState.HELD.value, stop_reason=reason[:300], updated_at=now)
    )


_HOLD_OPEN = (
    update(_CL)
    .where(
        _CL.c.id == bindparam("enrollment_id"),
        _CL.c.state.in_([EnrollmentState.ACTIVE.value, EnrollmentState.QUEUED.value]),
    )
    .values(
        state=EnrollmentState.HELD.value,
        stop_reason=bindparam("reason"),
        updated_at=bindparam("at"),
    )
)


def hold_open_enrollment(conn: Connection, enrollment_id: int, reason: str, at: datetime) -> bool:
    """The enrollment, if still under way (active or queued), waits for the operator
    (`held`, with `reason`); False when it had finished or stopped already."""
    params = {"enrollment_id": enrollment_id, "reason": reason[:300], "at": at}
    return bool(conn.execute(_HOLD_OPEN, params).rowcount)


_HOLD_QUEUED_OF = (
    update(_CL)
    .where(
        _CL.c.id.in_(
            select(t.attempt.c.campaign_lead_id).where(
                t.attempt.c.id.in_(bindparam("attempt_ids", expanding=True))
            )
        ),
        _CL.c.state == EnrollmentState.QUEUED.value,
    )
    .values(
        state=EnrollmentState.HELD.value,
        stop_reason=bindparam("reason"),
        updated_at=bindparam("at"),
    )
)


def hold_queued_enrollments_of(
    conn: Connection, attempt_ids: list[int], reason: str, at: datetime
) -> None:
    """The enrollments waiting (`queued`) for these attempts, whose sends were interrupted,
    wait for the operator instead (`held`, with `reason`)."""
    conn.execute(_HOLD_QUEUED_OF, {"attempt_ids": attempt_ids, "reason": reason, "at": at})


@dataclass(frozen=True, slots=True)
class EnrollmentProgress:
    """Where an enrollment stands when a step of it went out."""

    campaign_id: int
    state: str
    thread_message_ids: list[str] | None
    first_subject: str | None
    next_delay_days: float | None
    """The delay of the step after the one sent; None when there is none."""


# Reads go through conn.execute (their results need SQLAlchemy's processing: JSON, numeric).
# The next step's delay in the same round trip (delay_days is NOT NULL: NULL means none).
_PROGRESS_BY_ID = select(
    _CL.c.campaign_id,
    _CL.c.state,
    _CL.c.thread_message_ids,
    _CL.c.first_subject,
    select(_S.c.delay_days)
    .where(_S.c.campaign_id == _CL.c.campaign_id, _S.c.position == bindparam("position"))
    .scalar_subquery()
    .label("next_delay_days"),
).where(_CL.c.id == bindparam("enrollment_id"))


def enrollment_progress(
    conn: Connection, enrollment_id: int, *, next_position: int
) -> EnrollmentProgress | None:
    """The enrollment's state and thread, and the delay of its step at `next_position`."""
    row = conn.execute(
        _PROGRESS_BY_ID, {"enrollment_id": enrollment_id, "position": next_position}
    ).first()
    if row is None:
        return None
    delay = row.next_delay_days
    return EnrollmentProgress(
        row.campaign_id,
        row.state,
        row.thread_message_ids,
        row.first_subject,
        None if delay is None else float(delay),
    )


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


def advance_enrollment(
    conn: Connection,
    *,
    enrollment_id: int,
    next_step: int,
    thread_message_ids: list[str],
    mailbox_id: int,
    first_subject: str | None,
    at: datetime,
    state: str | None,
    next_due_at: datetime | None = None,
) -> None:
    """Move the enrollment's thread on to `next_step`; with a `state`, also set it and
    `next_due_at` and clear its stop reason. `state` None: the sequence is over already
    (stopped or finished), only its thread moves on."""
    values = {
        "enrollment_id": enrollment_id,
        "next_step": next_step,
        "thread_message_ids": thread_message_ids,
        "mailbox_id": mailbox_id,
        "first_subject": first_subject,
        "updated_at": at,
    }
    if state is None:
        _ADVANCE.execute(conn, values)
        return
    values.update(state=state, next_due_at=next_due_at, stop_reason=None)
    _ADVANCE_AND_SCHEDULE.execute(conn, values)


# -- the open enrollments of a lead (and of its colleagues) -------------------------------

# Prebuilt: the reply poller stops a lead for nearly every message it applies.
_OPEN_ENROLLMENTS = DriverStatement(
    select(_CL.c.id).where(
        _CL.c.lead_id == bindparam("lead_id"),
        or_(*(_CL.c.state == s for s in OPEN_ENROLLMENT_STATES)),
    )
)
_COMPANY_WIDE_CAMPAIGNS = DriverStatement(
    select(_C.c.id).where(_C.c.stop_on_company_reply.is_(True))
)
_OPEN_AT_DOMAIN = (
    select(_CL.c.id)
    .join(t.lead, t.lead.c.id == _CL.c.lead_id)
    .where(
        t.lead.c.domain == bindparam("domain"),
        _CL.c.campaign_id.in_(bindparam("campaign_ids", expanding=True)),
        _CL.c.state.in_(OPEN_ENROLLMENT_STATES),
    )
)


def open_enrollment_ids(conn: Connection, lead_id: int) -> list[int]:
    """The lead's enrollments still under way (active, queued or held)."""
    return [int(r[0]) for r in _OPEN_ENROLLMENTS.execute(conn, {"lead_id": lead_id})]


def company_wide_campaign_ids(conn: Connection) -> list[int]:
    """Campaigns that stop every lead of a company when one of them replies."""
    return [int(r[0]) for r in _COMPANY_WIDE_CAMPAIGNS.execute(conn, {})]


def open_enrollment_ids_at_domain(
    conn: Connection, domain: str, campaign_ids: Sequence[int]
) -> list[int]:
    """The open enrollments, in these campaigns, of every lead at `domain`."""
    rows = conn.execute(_OPEN_AT_DOMAIN, {"domain": domain, "campaign_ids": list(campaign_ids)})
    return [int(r[0]) for r in rows]


_RELEASE_HELD = (
    update(_CL)
    .where(
        _CL.c.lead_id.in_(bindparam("where_lead_ids", expanding=True)),
        _CL.c.state == EnrollmentState.ACTIVE.value,
        _CL.c.stop_reason == bindparam("where_reason"),
    )
    .values(stop_reason=None)
)


def release_held(conn: Connection, lead_ids: Sequence[int], *, reason: str, at: datetime) -> None:
    """The leads' active enrollments the planner held back with `reason` are due now."""
    params = {
        "where_lead_ids": list(lead_ids),
        "where_reason": reason,
        "next_due_at": at,
        "updated_at": at,
    }
    conn.execute(_RELEASE_HELD, params)


_STEP_DUE = (
    select(_CL.c.id)
    .join(_C, _C.c.id == _CL.c.campaign_id)
    .where(
        _CL.c.state == EnrollmentState.ACTIVE.value,
        _C.c.status == CampaignStatus.ACTIVE.value,
        or_(_CL.c.next_due_at.is_(None), _CL.c.next_due_at <= bindparam("now")),
    )
    .limit(1)
)


def step_due(conn: Connection, now: datetime) -> bool:
    """An active enrollment of an active campaign has its next step due (or is new)."""
    return conn.execute(_STEP_DUE, {"now": now}).first() is not None
