"""Read models of the console's Dashboard: today's totals, the latest events, and the
processes sharing the database.

The dataclasses here are what the console renders; `engine/views/queries.py` (where the
console imports them from) fills them from these reads and the mailbox pool.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import BindParameter, Connection, Integer, bindparam, func, select

from outreach_tui.core.states import AttemptState, CounterScope
from outreach_tui.db import tables as t
from outreach_tui.db.repos.leases import MAILBOX_PREFIX


@dataclass(frozen=True, slots=True)
class EventRow:
    id: int
    created_at: datetime
    severity: str
    kind: str
    message: str
    acknowledged: bool


@dataclass(frozen=True, slots=True)
class Dashboard:
    today: date
    sent_today: int
    planned_today: int
    capacity_today: int
    waiting_approval: int
    replies_waiting: int
    unknown_outcomes: int
    phases: dict[str, int]
    alerts: list[EventRow]
    guard_alerts: list[EventRow] = field(default_factory=list)
    """The latest "alert" events (monitor, healer, DNS): a flood of per-reply events must
    not push a pause out of sight."""


@dataclass(frozen=True, slots=True)
class WorkerRow:
    """A process sharing the database (`outreach-tui worker`, or a console's engine)."""

    id: str
    host: str
    pid: int
    kind: str
    leases: int
    """Mailboxes it holds now (live dispatch leases)."""
    heartbeat_at: datetime
    started_at: datetime
    alive: bool
    """Heard from within a lease's time; past it, its mailboxes go to the others."""


_DC, _A, _E = t.daily_counter, t.attempt, t.event

# -- today's totals ---------------------------------------------------------------------

_MAILBOX_SENDS_ON = select(func.coalesce(func.sum(_DC.c.count), 0)).where(
    _DC.c.scope == CounterScope.MAILBOX, _DC.c.day == bindparam("day", type_=_DC.c.day.type)
)


def mailbox_sends_on(conn: Connection, day: date) -> int:
    """Sends of every mailbox on the local `day` (the mailbox counters' sum)."""
    return int(conn.execute(_MAILBOX_SENDS_ON, {"day": day}).scalar() or 0)


_OPEN_STATES = (
    AttemptState.APPROVED.value,
    AttemptState.PENDING_APPROVAL.value,
    AttemptState.UNKNOWN.value,
)
_OPEN_ATTEMPTS = (
    select(_A.c.state, func.count())
    .where(
        _A.c.state.in_(_OPEN_STATES),
        (_A.c.next_attempt_at.is_(None))
        | (_A.c.next_attempt_at < bindparam("until", type_=_A.c.next_attempt_at.type))
        | (_A.c.state != AttemptState.APPROVED.value),
    )
    .group_by(_A.c.state)
)


def open_attempts_by_state(conn: Connection, until: datetime) -> dict[str, int]:
    """Attempts approved and due before `until`, waiting for approval, or of unknown
    outcome: state → count (states without any are missing)."""
    return {str(state): int(n) for state, n in conn.execute(_OPEN_ATTEMPTS, {"until": until})}


_UNHANDLED_REPLIES = select(func.count()).select_from(t.reply).where(t.reply.c.handled.is_(False))


def unhandled_reply_count(conn: Connection) -> int:
    """Replies nobody has handled yet."""
    return int(conn.execute(_UNHANDLED_REPLIES).scalar() or 0)


# -- events -----------------------------------------------------------------------------

_EVENTS = (
    select(_E.c.id, _E.c.created_at, _E.c.severity, _E.c.kind, _E.c.message, _E.c.acknowledged)
    .order_by(_E.c.id.desc())
    .limit(bindparam("limit", type_=Integer))
)
_SINCE = bindparam("since", type_=_E.c.created_at.type)
_KINDS: BindParameter[Any] = bindparam("kinds", expanding=True)
_EVENTS_BY_SHAPE = {
    (False, False): _EVENTS,
    (True, False): _EVENTS.where(_E.c.created_at >= _SINCE),
    (False, True): _EVENTS.where(_E.c.kind.in_(_KINDS)),
    (True, True): _EVENTS.where(_E.c.created_at >= _SINCE, _E.c.kind.in_(_KINDS)),
}


def recent_events(
    conn: Connection,
    *,
    limit: int,
    since: datetime | None = None,
    kinds: tuple[str, ...] = (),
) -> list[EventRow]:
    """The newest events first: created at `since` or later, of `kinds` (when given)."""
    query = _EVENTS_BY_SHAPE[(since is not None, bool(kinds))]
    params: dict[str, object] = {"limit": limit}
    if since is not None:
        params["since"] = since
    if kinds:
        params["kinds"] = list(kinds)
    return [EventRow(*row) for row in conn.execute(query, params)]


# -- processes sharing the database -----------------------------------------------------

_L, _W = t.lease, t.worker_process
_HELD = (
    select(_L.c.holder, func.count().label("n"))
    .where(
        _L.c.name.startswith(MAILBOX_PREFIX),
        _L.c.expires_at >= bindparam("now", type_=_L.c.expires_at.type),
    )
    .group_by(_L.c.holder)
    .subquery()
)
_WORKERS = (
    select(
        _W.c.id,
        _W.c.host,
        _W.c.pid,
        _W.c.kind,
        func.coalesce(_HELD.c.n, 0).label("leases"),
        _W.c.heartbeat_at,
        _W.c.started_at,
    )
    .outerjoin(_HELD, _HELD.c.holder == _W.c.id)
    .order_by(_W.c.heartbeat_at.desc())
    .limit(200)
)


def worker_rows(conn: Connection, *, now: datetime, alive_since: datetime) -> list[WorkerRow]:
    """The 200 registered processes heard from last, each with the mailbox leases it holds
    now; `alive` when heard from at `alive_since` or later."""
    return [
        WorkerRow(
            id=r.id, host=r.host, pid=r.pid, kind=r.kind, leases=int(r.leases),
            heartbeat_at=r.heartbeat_at, started_at=r.started_at,
            alive=r.heartbeat_at >= alive_since,
        )
        for r in conn.execute(_WORKERS, {"now": now})
    ]  # fmt: skip
