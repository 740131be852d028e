"""The pool of sending mailboxes as rotation sees it: each one's limit today, what it has used,
its recent bounce rate and when it may send next. Read in a handful of grouped queries so a
1,200-mailbox pool costs the same few statements as a single mailbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, case, func, select

from outreach_tui.config import Settings
from outreach_tui.core.days import local_day
from outreach_tui.core.rotation import MailboxCandidate
from outreach_tui.core.states import AttemptState, MailboxPhase
from outreach_tui.core.warmup import WarmupRamp, effective_daily_limit
from outreach_tui.db import tables as t

SCOPE_MAILBOX = "mailbox"  # sends accepted (the pipeline's counter)
SCOPE_MAILBOX_BOUNCE = "mailbox_bounce"  # hard bounces
SCOPE_MAILBOX_YELLOW = "mailbox_yellow"  # YELLOW-health leads planned

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
    )


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
).select_from(_M.outerjoin(t.sending_domain, t.sending_domain.c.id == _M.c.domain_id))
_OPEN_BY_MAILBOX = (
    select(t.attempt.c.mailbox_id, func.count())
    .where(t.attempt.c.state.in_(OPEN_ATTEMPT_STATES))
    .group_by(t.attempt.c.mailbox_id)
)


def load_pool(conn: Connection, *, now: datetime, settings: Settings) -> dict[int, PoolMailbox]:
    today = local_day(now, settings.tz)
    since = today - timedelta(days=BOUNCE_WINDOW_DAYS - 1)
    # (scope, mailbox) → (today's count, the window's total), summed by the database.
    counters: dict[tuple[str, str], tuple[int, int]] = {}
    dc = t.daily_counter
    for scope, key, today_count, total in conn.execute(
        select(
            dc.c.scope,
            dc.c.key,
            func.sum(case((dc.c.day == today, dc.c.count), else_=0)),
            func.sum(dc.c.count),
        )
        .where(
            dc.c.scope.in_([SCOPE_MAILBOX, SCOPE_MAILBOX_BOUNCE, SCOPE_MAILBOX_YELLOW]),
            dc.c.day >= since,
        )
        .group_by(dc.c.scope, dc.c.key)
    ):
        counters[(scope, key)] = (int(today_count or 0), int(total or 0))
    open_counts = {int(m): int(n) for m, n in conn.execute(_OPEN_BY_MAILBOX) if m is not None}
    pool: dict[int, PoolMailbox] = {}
    ramp = settings.warmup.ramp()
    for row in conn.execute(_MAILBOXES):
        sent_today, sent_recent = counters.get((SCOPE_MAILBOX, row.email), (0, 0))
        bounced_recent = counters.get((SCOPE_MAILBOX_BOUNCE, row.email), (0, 0))[1]
        attempted = sent_recent + bounced_recent
        open_now = open_counts.get(row.id, 0)
        blocked = blocked_reason(row, now)
        candidate = MailboxCandidate(
            id=row.id,
            email=row.email,
            used_today=sent_today + open_now,
            daily_limit=0 if blocked else mailbox_limit(row, now, settings, ramp=ramp),
            available_at=row.next_send_at,
            last_sent_at=row.last_sent_at,
            bounce_rate=bounced_recent / attempted if attempted else 0.0,
            yellow_today=counters.get((SCOPE_MAILBOX_YELLOW, row.email), (0, 0))[0],
        )
        pool[row.id] = PoolMailbox(row, candidate, blocked, sent_today, open_now)
    return pool
