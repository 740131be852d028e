"""The pool of sending mailboxes as rotation sees it: each one's limit today, what it has used,
its recent bounce rate and when it may send next. Read in a handful of grouped queries so a
1,200-mailbox pool costs the same few statements as a single mailbox.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, func, select

from outreach_tui.config import Settings
from outreach_tui.core.days import local_day
from outreach_tui.core.rotation import MailboxCandidate
from outreach_tui.core.states import AttemptState, MailboxPhase
from outreach_tui.core.warmup import effective_daily_limit
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
    row: Row[Any]
    candidate: MailboxCandidate
    blocked: str | None
    """Why this mailbox may not send at all now (paused, cooling down, ...), or None."""
    sent_today: int
    open_attempts: int


def mailbox_limit(row: Any, now: datetime, settings: Settings) -> int:
    """A mailbox's daily limit today: fixed or warmup, shaped by its health phase."""
    tz = settings.tz
    phase_started = local_day(row.phase_changed_at, tz) if row.phase_changed_at else None
    return effective_daily_limit(
        phase=row.phase,
        fixed_limit=row.daily_limit,
        warmup_started=row.warmup_started,
        today=local_day(now, tz),
        ramp=settings.warmup.ramp(),
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


_MAILBOXES = select(t.mailbox, t.sending_domain.c.paused.label("domain_paused")).select_from(
    t.mailbox.outerjoin(t.sending_domain, t.sending_domain.c.id == t.mailbox.c.domain_id)
)
_OPEN_BY_MAILBOX = (
    select(t.attempt.c.mailbox_id, func.count())
    .where(t.attempt.c.state.in_(OPEN_ATTEMPT_STATES))
    .group_by(t.attempt.c.mailbox_id)
)


def load_pool(conn: Connection, *, now: datetime, settings: Settings) -> dict[int, PoolMailbox]:
    today = local_day(now, settings.tz)
    since = today - timedelta(days=BOUNCE_WINDOW_DAYS - 1)
    counters: dict[tuple[str, str], dict[date, int]] = defaultdict(dict)
    for scope, key, day, count in conn.execute(
        select(
            t.daily_counter.c.scope,
            t.daily_counter.c.key,
            t.daily_counter.c.day,
            t.daily_counter.c.count,
        ).where(
            t.daily_counter.c.scope.in_(
                [SCOPE_MAILBOX, SCOPE_MAILBOX_BOUNCE, SCOPE_MAILBOX_YELLOW]
            ),
            t.daily_counter.c.day >= since,
        )
    ):
        counters[(scope, key)][day] = int(count)
    open_counts = {int(m): int(n) for m, n in conn.execute(_OPEN_BY_MAILBOX) if m is not None}
    pool: dict[int, PoolMailbox] = {}
    for row in conn.execute(_MAILBOXES):
        sent = counters.get((SCOPE_MAILBOX, row.email), {})
        bounces = counters.get((SCOPE_MAILBOX_BOUNCE, row.email), {})
        sent_recent, bounced_recent = sum(sent.values()), sum(bounces.values())
        attempted = sent_recent + bounced_recent
        sent_today = sent.get(today, 0)
        open_now = open_counts.get(row.id, 0)
        blocked = blocked_reason(row, now)
        candidate = MailboxCandidate(
            id=row.id,
            email=row.email,
            used_today=sent_today + open_now,
            daily_limit=0 if blocked else mailbox_limit(row, now, settings),
            available_at=row.next_send_at,
            last_sent_at=row.last_sent_at,
            bounce_rate=bounced_recent / attempted if attempted else 0.0,
            yellow_today=counters.get((SCOPE_MAILBOX_YELLOW, row.email), {}).get(today, 0),
        )
        pool[row.id] = PoolMailbox(row, candidate, blocked, sent_today, open_now)
    return pool
