"""Which cap locks a worker's sends take shared (PostgreSQL; see core/cap_locks.py).

Per worker, per local day: the caps it has seen near full are counted under their
exclusive lock for the rest of the day; the others under a shared one, confirmed by the
count taken under it (a count too close to the cap sends that attempt back to wait for
the next tick, to be counted again under the exclusive lock).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

from outreach_tui.core.cap_locks import may_share, room_for_shared_lock
from outreach_tui.core.policy import PolicyDecision, PolicyLimits
from outreach_tui.db.repos.counters import concurrent_transactions_bound
from outreach_tui.engine.context import EngineContext

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CapLockModes:
    """The lock modes of one send's caps (True: shared), in the order of
    `db.repos.counters.cap_scopes`."""

    operator: bool
    domain: bool

    def as_tuple(self) -> tuple[bool, bool, bool]:
        # The mailbox's lock stays exclusive: its lease keeps it to one worker, so nobody
        # else waits for it.
        return (self.operator, self.domain, False)


@dataclass
class CapLockChooser:
    """Only a hint, shared by a worker's database threads without a lock of its own: a
    wrong guess costs a skipped tick or a wait, never a cap, since `confirm` judges the
    count taken under the lock itself."""

    limits: PolicyLimits
    #: How many transactions the database runs at once at most.
    concurrency: int
    _day: date | None = None
    _operator_near: bool = False
    _near_domains: set[str] = field(default_factory=set)

    def _roll(self, day: date) -> None:
        if day != self._day:
            self._day, self._operator_near, self._near_domains = day, False, set()

    def _user_cap(self) -> int | None:
        return self.limits.daily_user_cap if self.limits.check_user_cap else None

    def _domain_cap(self) -> int | None:
        return self.limits.daily_domain_cap if self.limits.check_domain_cap else None

    def operator_shared(self, day: date) -> bool:
        self._roll(day)
        return may_share(self._user_cap(), self.concurrency, self._operator_near)

    def modes(self, day: date, recipient_domain: str) -> CapLockModes:
        return CapLockModes(
            operator=self.operator_shared(day),
            domain=may_share(
                self._domain_cap(), self.concurrency, recipient_domain in self._near_domains
            ),
        )

    def confirm(
        self, day: date, recipient_domain: str, modes: CapLockModes, decision: PolicyDecision
    ) -> bool:
        """False when a count taken under a shared lock came too close to its cap: that
        cap is counted under its exclusive lock from now on today."""
        self._roll(day)
        user_cap, domain_cap = self._user_cap(), self._domain_cap()
        operator_full = (
            modes.operator
            and user_cap is not None
            and not room_for_shared_lock(decision.daily_user_count, user_cap, self.concurrency)
        )
        domain_full = (
            modes.domain
            and domain_cap is not None
            and not room_for_shared_lock(decision.daily_domain_count, domain_cap, self.concurrency)
        )
        if operator_full:
            self._operator_near = True
            log.info(
                "operator cap near full (%d of %d): counted under its exclusive lock for the"
                " rest of the day", decision.daily_user_count, user_cap,
            )  # fmt: skip
        if domain_full:
            self._near_domains.add(recipient_domain)
            log.info(
                "recipient domain %s near its cap (%d of %d): counted under its exclusive lock"
                " for the rest of the day", recipient_domain, decision.daily_domain_count,
                domain_cap,
            )  # fmt: skip
        return not (operator_full or domain_full)


def cap_lock_chooser(ctx: EngineContext) -> CapLockChooser:
    """The worker's chooser: on PostgreSQL bounded by how many transactions the server runs
    at once; inert on SQLite (one writer at a time, no cap locks)."""
    limits = ctx.settings.policy.limits()
    if not ctx.db.shared:
        return CapLockChooser(limits, concurrency=0)
    with ctx.db.read() as conn:
        return CapLockChooser(limits, concurrent_transactions_bound(conn))
