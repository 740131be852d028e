"""The pool of sending mailboxes as rotation sees it: each one's limit today, what it has used,
its recent bounce rate and when it may send next. Read in one statement (the counters and
open attempts as correlated subqueries, a few index seeks per mailbox), so a 1,200-mailbox
pool costs one round trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, select

from outreach_tui.config import Settings
from outreach_tui.core.days import local_day
from outreach_tui.core.rotation import MailboxCandidate
from outreach_tui.core.states import AttemptState, CounterScope, MailboxPhase
from outreach_tui.core.warmup import WarmupRamp, effective_daily_limit
from outreach_tui.db import tables as t

#: Days over which the recent bounce rate is measured.
BOUNCE_WINDOW_DAYS = 7

OPEN_ATTEMPT_STATES = (
    AttemptState.PENDING_APPROVAL.value,
    AttemptState.APPROVED.value,
    AttemptState.SENDING.value,
)


@dataclass(frozen=True, slots=True)
class PoolMailbox:
    row: Any
    candidate: MailboxCandidate
    blocked: str | None
    """Why this mailbox may not send at all now (paused, cooling down, ...), or None."""
    sent_today: int
    open_attempts: int


def mailbox_limit(
    row: Any, now: datetime, settings: Settings, *, ramp: WarmupRamp | None = None
) -> int:
    """A mailbox's daily limit today: fixed or warmup, shaped by its health phase.
    `ramp`: pass it when calling for many mailboxes (it is the same for all)."""
    tz = settings.tz
    phase_started = local_day(row.phase_changed_at, tz) if row.phase_changed_at else None
    return effective_daily_limit(
        phase=row.phase,
        fixed_limit=row.daily_limit,
        warmup_started=row.warmup_started,
        today=local_day(now, tz),
        ramp=ramp or settings.warmup.ramp(),
        default_limit=settings.sending.default_daily_limit,
        phase_started=phase_started,
        cooling_down=row.cooldown_until is not None and row.cooldown_until > now,
        **phase_limits(settings),
    )


def phase_limits(settings: Settings) -> dict[str, int]:
    """The recovery phases' limits from [monitor], as `effective_daily_limit` takes them."""
    m = settings.monitor
    return {
        "restricted_limit": m.restricted_daily_limit,
        "recovery_start": m.recovery_start_limit,
        "recovery_step": m.recovery_daily_step,
    }


def mailboxes_at_limit(
    conn: Connection, rows: list[Any], *, now: datetime, settings: Settings
) -> set[int]:
    """Ids of `rows` (mailbox rows) that have sent their limit for today: the dispatcher
    skips them, so attempts planned before a phase change (a RESTRICTED_SEND mailbox's
    queue from its HEALTHY days) wait for tomorrow instead of bursting past 10/day."""
    if not rows:
        return set()
    today = local_day(now, settings.tz)
    sent = dict(
        conn.execute(
            select(_DC.c.key, _DC.c.count).where(
                _DC.c.scope == CounterScope.MAILBOX,
                _DC.c.key.in_([row.email for row in rows]),
                _DC.c.day == today,
            )
        ).all()
    )
    ramp = settings.warmup.ramp()
    return {
        row.id
        for row in rows
        if int(sent.get(row.email, 0)) >= mailbox_limit(row, now, settings, ramp=ramp)
    }


def blocked_reason(row: Any, now: datetime) -> str | None:
    if row.phase in (MailboxPhase.PAUSED.value, MailboxPhase.QUARANTINE.value):
        why = f" ({row.paused_reason})" if row.paused_reason else ""
        return f"mailbox {row.email} is {row.phase}{why}"
    if row.domain_paused:
        return f"sending domain of {row.email} is paused"
    if row.cooldown_until is not None and row.cooldown_until > now:
        return f"mailbox {row.email} is cooling down until {row.cooldown_until:%Y-%m-%d %H:%M} UTC"
    return None


_M = t.mailbox
_DC = t.daily_counter


def _counter(scope: str, *, today_only: bool) -> Any:
    """A correlated subquery: this mailbox's counter `scope`, today's or the window's sum
    (one index seek on the counter's primary key (scope, key, day) per mailbox)."""
    day = (
        _DC.c.day == bindparam("today", type_=_DC.c.day.type)
        if today_only
        else _DC.c.day >= bindparam("since", type_=_DC.c.day.type)
    )
    return (
        select(func.coalesce(func.sum(_DC.c.count), 0))
        .where(_DC.c.scope == scope, _DC.c.key == _M.c.email, day)
        .scalar_subquery()
    )


_MAILBOXES = select(
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
    # What rotation needs besides the row, in the same statement: per mailbox a few seeks
    # on covering indexes instead of grouping every counter row of the window.
    _counter(CounterScope.MAILBOX, today_only=True).label("sent_today"),
    _counter(CounterScope.MAILBOX, today_only=False).label("sent_recent"),
    _counter(CounterScope.MAILBOX_BOUNCE, today_only=False).label("bounced_recent"),
    _counter(CounterScope.MAILBOX_YELLOW, today_only=True).label("yellow_today"),
    select(func.count())
    .where(t.attempt.c.mailbox_id == _M.c.id, t.attempt.c.state.in_(OPEN_ATTEMPT_STATES))
    .scalar_subquery()
    .label("open_attempts"),
).select_from(_M.outerjoin(t.sending_domain, t.sending_domain.c.id == _M.c.domain_id))


def load_pool(conn: Connection, *, now: datetime, settings: Settings) -> dict[int, PoolMailbox]:
    today = local_day(now, settings.tz)
    since = today - timedelta(days=BOUNCE_WINDOW_DAYS - 1)
    ramp = settings.warmup.ramp()
    default_limit = settings.sending.default_daily_limit
    extra = phase_limits(settings)
    # The limit depends only on these facts (and today): most mailboxes share them.
    limits: dict[tuple[Any, ...], int] = {}
    pool: dict[int, PoolMailbox] = {}
    for row in conn.execute(_MAILBOXES, {"today": today, "since": since}):
        blocked = blocked_reason(row, now)
        if blocked is not None:
            limit = 0
        else:
            phase = row.phase
            # The phase's start matters only to WARM_RECOVERY's climb.
            changed = row.phase_changed_at if phase != MailboxPhase.HEALTHY.value else None
            key = (phase, row.daily_limit, row.warmup_started, changed)
            limit_or_none = limits.get(key)
            if limit_or_none is None:
                limit_or_none = limits[key] = effective_daily_limit(
                    phase=phase,
                    fixed_limit=row.daily_limit,
                    warmup_started=row.warmup_started,
                    today=today,
                    ramp=ramp,
                    default_limit=default_limit,
                    phase_started=local_day(changed, settings.tz) if changed else None,
                    cooling_down=False,  # a running cooldown blocks the mailbox (above)
                    **extra,
                )
            limit = limit_or_none
        sent_today = int(row.sent_today)
        bounced_recent = int(row.bounced_recent)
        attempted = int(row.sent_recent) + bounced_recent
        open_now = int(row.open_attempts)
        candidate = MailboxCandidate(
            id=row.id,
            email=row.email,
            used_today=sent_today + open_now,
            daily_limit=limit,
            available_at=row.next_send_at,
            last_sent_at=row.last_sent_at,
            bounce_rate=bounced_recent / attempted if attempted else 0.0,
            yellow_today=int(row.yellow_today),
        )
        pool[row.id] = PoolMailbox(row, candidate, blocked, sent_today, open_now)
    return pool
