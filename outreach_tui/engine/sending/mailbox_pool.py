"""The pool of sending mailboxes as rotation sees it: each one's limit today, what it has used,
its recent bounce rate and when it may send next. Read in one statement
(db/repos/mailboxes_pool.py), so a 1,200-mailbox pool costs one round trip; the limits are
worked out here (`core.warmup`), once per distinct set of facts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection

from outreach_tui.config import Settings
from outreach_tui.core.days import local_day
from outreach_tui.core.recovery import Rates
from outreach_tui.core.rotation import MailboxCandidate
from outreach_tui.core.states import CounterScope, MailboxPhase
from outreach_tui.core.warmup import WarmupRamp, effective_daily_limit
from outreach_tui.db.repos.counters import counter_values
from outreach_tui.db.repos.mailboxes_pool import PoolRecord, mailbox_pool

#: Days over which the recent bounce rate is measured.
BOUNCE_WINDOW_DAYS = 7


@dataclass(frozen=True, slots=True)
class PoolMailbox:
    """A mailbox of the pool: its row, itself as rotation sees it, and why it may not send."""

    row: PoolRecord
    candidate: MailboxCandidate
    blocked: str | None
    """Why this mailbox may not send at all now (paused, cooling down, ...), or None."""
    sent_today: int
    open_attempts: int


class LimitFacts(Protocol):
    """What a mailbox's daily limit depends on (a `MailboxRecord` or a `PoolRecord`)."""

    @property
    def phase(self) -> str: ...
    @property
    def daily_limit(self) -> int | None: ...
    @property
    def warmup_started(self) -> date | None: ...
    @property
    def phase_changed_at(self) -> datetime | None: ...
    @property
    def cooldown_until(self) -> datetime | None: ...


class SendingMailbox(LimitFacts, Protocol):
    """A mailbox with what says whether it may send at all."""

    @property
    def id(self) -> int: ...
    @property
    def email(self) -> str: ...
    @property
    def paused_reason(self) -> str | None: ...
    @property
    def domain_paused(self) -> bool | None: ...


def mailbox_limit(
    row: LimitFacts, now: datetime, settings: Settings, *, ramp: WarmupRamp | None = None
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
    conn: Connection, rows: Sequence[SendingMailbox], *, now: datetime, settings: Settings
) -> set[int]:
    """Ids of `rows` (mailboxes) that have sent their limit for today: the dispatcher
    skips them, so attempts planned before a phase change (a RESTRICTED_SEND mailbox's
    queue from its HEALTHY days) wait for tomorrow instead of bursting past 10/day."""
    if not rows:
        return set()
    today = local_day(now, settings.tz)
    sent = counter_values(conn, CounterScope.MAILBOX, [row.email for row in rows], today)
    ramp = settings.warmup.ramp()
    return {
        row.id
        for row in rows
        if sent.get(row.email, 0) >= mailbox_limit(row, now, settings, ramp=ramp)
    }


def blocked_reason(row: SendingMailbox, now: datetime) -> str | None:
    """Why this mailbox may not send at all now (paused, quarantined, its sending domain
    paused, cooling down), or None."""
    if row.phase in (MailboxPhase.PAUSED.value, MailboxPhase.QUARANTINE.value):
        why = f" ({row.paused_reason})" if row.paused_reason else ""
        return f"mailbox {row.email} is {row.phase}{why}"
    if row.domain_paused:
        return f"sending domain of {row.email} is paused"
    if row.cooldown_until is not None and row.cooldown_until > now:
        return f"mailbox {row.email} is cooling down until {row.cooldown_until:%Y-%m-%d %H:%M} UTC"
    return None


def load_pool(conn: Connection, *, now: datetime, settings: Settings) -> dict[int, PoolMailbox]:
    """Every mailbox by id, with its limit today and its load."""
    today = local_day(now, settings.tz)
    since = today - timedelta(days=BOUNCE_WINDOW_DAYS - 1)
    ramp = settings.warmup.ramp()
    default_limit = settings.sending.default_daily_limit
    extra = phase_limits(settings)
    # The limit depends only on these facts (and today): most mailboxes share them.
    limits: dict[tuple[Any, ...], int] = {}
    pool: dict[int, PoolMailbox] = {}
    for row in mailbox_pool(conn, today=today, since=since):
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
        # Rates as the monitor reads them: failures over attempts, each event counted once.
        recent = Rates(
            sent=int(row.sent_recent),
            bounced=int(row.refused_recent),
            bounce_reports=int(row.reported_recent),
        )
        open_now = int(row.open_attempts)
        candidate = MailboxCandidate(
            id=row.id,
            email=row.email,
            used_today=sent_today + open_now,
            daily_limit=limit,
            available_at=row.next_send_at,
            last_sent_at=row.last_sent_at,
            bounce_rate=recent.bounce_rate,
            yellow_today=int(row.yellow_today),
        )
        pool[row.id] = PoolMailbox(row, candidate, blocked, sent_today, open_now)
    return pool
