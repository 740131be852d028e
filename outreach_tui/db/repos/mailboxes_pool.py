"""The pool of sending mailboxes as rotation sees it (engine/sending/mailbox_pool.py): each
mailbox with what it sent today and over the bounce window, its bounces, its YELLOW-health
sends today and its open attempts, in one statement. The counters and the open attempts are
correlated subqueries (a few index seeks per mailbox on covering indexes, instead of grouping
every counter row of the window), so a 1,200-mailbox pool costs one round trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Select, bindparam, func, select

from outreach_tui.core.states import AttemptState, CounterScope
from outreach_tui.db import tables as t
from outreach_tui.db.repos.counters import REFUSED_SCOPES, REPORTED_SCOPES

#: Attempts that take a place in a mailbox's day before they are sent.
OPEN_ATTEMPT_STATES = (
    AttemptState.PENDING_APPROVAL.value,
    AttemptState.APPROVED.value,
    AttemptState.SENDING.value,
)


@dataclass(frozen=True, slots=True)
class PoolRecord:
    """A mailbox of the pool with its load (the counters are 0 when there are none)."""

    id: int
    email: str
    from_name: str
    phase: str
    paused_reason: str | None
    daily_limit: int | None
    warmup_started: date | None
    phase_changed_at: datetime | None
    cooldown_until: datetime | None
    next_send_at: datetime | None
    last_sent_at: datetime | None
    resilience_score: int
    verify_tls: bool
    domain_paused: bool | None
    """None: the mailbox has no sending domain."""
    sent_today: int
    sent_recent: int
    """Sends accepted since the first day of the bounce window."""
    refused_recent: int
    """Hard and policy refusals at SMTP time since then (attempts and failures)."""
    reported_recent: int
    """Hard and policy reports since then (failures of sends already counted)."""
    yellow_today: int
    """Sends today to leads of YELLOW verification health."""
    open_attempts: int
    """Attempts waiting for approval, approved or being sent."""


_M = t.mailbox
_DC = t.daily_counter


def _counter(*scopes: str, today_only: bool) -> Any:
    """A correlated subquery: this mailbox's counters `scopes`, today's or the window's sum
    (an index seek on the counter's primary key (scope, key, day) per scope and mailbox)."""
    day = (
        _DC.c.day == bindparam("today", type_=_DC.c.day.type)
        if today_only
        else _DC.c.day >= bindparam("since", type_=_DC.c.day.type)
    )
    scope = _DC.c.scope == scopes[0] if len(scopes) == 1 else _DC.c.scope.in_(scopes)
    return (
        select(func.coalesce(func.sum(_DC.c.count), 0))
        .where(scope, _DC.c.key == _M.c.email, day)
        .scalar_subquery()
    )


_POOL: Select[Any] = select(
    _M.c.id,
    _M.c.email,
    _M.c.from_name,
    _M.c.phase,
    _M.c.paused_reason,
    _M.c.daily_limit,
    _M.c.warmup_started,
    _M.c.phase_changed_at,
    _M.c.cooldown_until,
    _M.c.next_send_at,
    _M.c.last_sent_at,
    _M.c.resilience_score,
    _M.c.verify_tls,
    t.sending_domain.c.paused.label("domain_paused"),
    _counter(CounterScope.MAILBOX, today_only=True).label("sent_today"),
    _counter(CounterScope.MAILBOX, today_only=False).label("sent_recent"),
    _counter(*REFUSED_SCOPES, today_only=False).label("refused_recent"),
    _counter(*REPORTED_SCOPES, today_only=False).label("reported_recent"),
    _counter(CounterScope.MAILBOX_YELLOW, today_only=True).label("yellow_today"),
    select(func.count())
    .where(t.attempt.c.mailbox_id == _M.c.id, t.attempt.c.state.in_(OPEN_ATTEMPT_STATES))
    .scalar_subquery()
    .label("open_attempts"),
).select_from(_M.outerjoin(t.sending_domain, t.sending_domain.c.id == _M.c.domain_id))


def mailbox_pool(conn: Connection, *, today: date, since: date) -> list[PoolRecord]:
    """Every mailbox with its load: counters of `today` and of the days from `since`."""
    return [PoolRecord(*row) for row in conn.execute(_POOL, {"today": today, "since": since})]
