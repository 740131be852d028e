"""How many messages a mailbox may send today: its warmup ramp and its health phase.

New mailboxes ramp up slowly (providers distrust a fresh address that suddenly sends 50 a day);
a mailbox recovering from a pause sends a flat trickle, then climbs back. The engine reads the
facts (phase, when it began, warmup start) and asks here; nothing in this module does I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from outreach_tui.core.errors import InputError
from outreach_tui.core.states import MailboxPhase


@dataclass(frozen=True, slots=True)
class WarmupRamp:
    """The shape of a warmup: weekly steps, or a daily percentage climb to a cap."""

    kind: Literal["weekly", "percent"] = "weekly"
    weekly_steps: tuple[int, ...] = (5, 10, 20, 35, 50)  # per-day limit in week 1, 2, ...
    percent_start: int = 5  # "percent": the day-1 limit
    percent_daily_increase: float = 0.20  # +20 %/day, rounded up, at least +1
    percent_cap: int = 50

    def __post_init__(self) -> None:
        if self.kind not in ("weekly", "percent"):
            raise InputError(f"warmup kind {self.kind!r} is not 'weekly' or 'percent'")
        if not self.weekly_steps:
            raise InputError("warmup weekly_steps must not be empty")
        if any(step < 0 for step in self.weekly_steps):
            raise InputError(f"warmup weekly_steps must not be negative: {self.weekly_steps}")
        if self.percent_start < 0 or self.percent_cap < 0:
            raise InputError("warmup percent_start and percent_cap must not be negative")
        if not self.percent_daily_increase >= 0:  # also rejects NaN
            raise InputError("warmup percent_daily_increase must not be negative")


def warmup_limit(started: date | None, today: date, ramp: WarmupRamp) -> int | None:
    """Today's warmup limit, or None when the mailbox is not warming up (`started` is None).

    Day 1 is `started` itself; before it the limit is 0. The weekly ramp holds its last step
    after the last week; the percent ramp holds its cap.
    """
    if started is None:
        return None
    if today < started:
        return 0
    days_in = (today - started).days  # 0 on the first day
    if ramp.kind == "weekly":
        return ramp.weekly_steps[min(days_in // 7, len(ramp.weekly_steps) - 1)]
    limit = min(ramp.percent_start, ramp.percent_cap)
    for _ in range(days_in):
        if limit >= ramp.percent_cap:
            break
        # round() first: 15 * 0.2 must be 3, not the 3.0000000000000004 ceil would make 4.
        increase = max(1, math.ceil(round(limit * ramp.percent_daily_increase, 9)))
        limit = min(ramp.percent_cap, limit + increase)
    return limit


def effective_daily_limit(
    *,
    phase: str,
    fixed_limit: int | None,
    warmup_started: date | None,
    today: date,
    ramp: WarmupRamp,
    default_limit: int,
    phase_started: date | None,
    restricted_limit: int = 10,
    recovery_start: int = 50,
    recovery_step: int = 5,
    cooling_down: bool = False,
) -> int:
    """The number of messages the mailbox may send today (never negative).

    PAUSED, QUARANTINE or a running cooldown: 0. HEALTHY: the configured limit (`fixed_limit`,
    else `default_limit`), lowered to the warmup ramp while warming up. RESTRICTED_SEND: the
    flat `restricted_limit`, and WARM_RECOVERY: `recovery_start` plus `recovery_step` per whole
    day since `phase_started`; neither ever exceeds the HEALTHY limit.
    """
    try:
        current = MailboxPhase(phase)
    except ValueError:
        raise InputError(f"unknown mailbox phase {phase!r}") from None
    if cooling_down or current in (MailboxPhase.PAUSED, MailboxPhase.QUARANTINE):
        return 0
    healthy = fixed_limit if fixed_limit is not None else default_limit
    ramp_limit = warmup_limit(warmup_started, today, ramp)
    if ramp_limit is not None:
        healthy = min(healthy, ramp_limit)
    healthy = max(0, healthy)
    if current is MailboxPhase.HEALTHY:
        return healthy
    if current is MailboxPhase.RESTRICTED_SEND:
        # Restricted is meant to be stricter than healthy: a mailbox in warmup week 1 (5/day)
        # must not jump to 10/day because it was paused.
        return max(0, min(restricted_limit, healthy))
    days_in = max(0, (today - phase_started).days) if phase_started is not None else 0
    return max(0, min(recovery_start + recovery_step * days_in, healthy))


@dataclass(frozen=True, slots=True)
class PoolMember:
    """One mailbox as the capacity planner sees it (the facts `effective_daily_limit` takes)."""

    phase: str = MailboxPhase.HEALTHY.value
    fixed_limit: int | None = None
    warmup_started: date | None = None
    phase_started: date | None = None


@dataclass(frozen=True, slots=True)
class CapacityDay:
    day: date
    mailboxes: int
    """The sum of the mailboxes' daily limits."""
    capacity: int
    """What may go out: `mailboxes` under the operator's daily cap (and the recipient-domain
    cap times the number of recipient domains, when that number is known)."""


def capacity_by_day(
    members: list[PoolMember],
    *,
    start: date,
    days: int,
    ramp: WarmupRamp,
    default_limit: int,
    user_cap: int | None,
    domain_cap: int | None = None,
    recipient_domains: int | None = None,
    restricted_limit: int = 10,
    recovery_start: int = 50,
    recovery_step: int = 5,
) -> list[CapacityDay]:
    """Day-by-day capacity of a pool under the warmup schedule and the policy caps, with the
    limits the engine's rotation uses (each day as its own "today")."""
    out = []
    for offset in range(days):
        today = start + timedelta(days=offset)
        total = sum(
            effective_daily_limit(
                phase=m.phase,
                fixed_limit=m.fixed_limit,
                warmup_started=m.warmup_started,
                today=today,
                ramp=ramp,
                default_limit=default_limit,
                phase_started=m.phase_started,
                restricted_limit=restricted_limit,
                recovery_start=recovery_start,
                recovery_step=recovery_step,
            )
            for m in members
        )
        capacity = total
        if user_cap is not None:
            capacity = min(capacity, user_cap)
        if domain_cap is not None and recipient_domains is not None:
            capacity = min(capacity, domain_cap * recipient_domains)
        out.append(CapacityDay(today, total, capacity))
    return out
