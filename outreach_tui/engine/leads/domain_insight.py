"""What the verifier knows about a recipient domain, and where it keeps it.

`DomainFacts` is one row of the `domain_insight` table: the MX answer, whether the domain
accepts any address, whether it is disposable, whether its host takes one RCPT per session,
whether it refused our probe. Only decisive facts are stored (a DNS timeout is not a fact),
each with a time to live (`[verify] domain_cache_hours`).

Two stores: `DbInsightStore` (engine/leads/domain_insight_db.py: the `domain_insight`
table, used by lead verification so the next run costs no lookups) and `MemoryInsightStore`
(a bounded LRU for one run: `outreach-tui validate`, which stays clear of the database stack
to keep its memory small). Both are small synchronous calls; the verifier keeps an LRU in
front of them (engine/leads/verify_facts.py).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from outreach_tui.mail.mx import MxStatus


@dataclass(frozen=True, slots=True)
class DomainFacts:
    domain: str
    mx_status: MxStatus
    mx_hosts: tuple[str, ...]
    checked_at: datetime
    expires_at: datetime
    detail: str = ""
    catch_all: bool | None = None
    """None: not known (not tested yet, skipped for this provider, or the test failed)."""
    disposable: bool = False
    one_rcpt_per_session: bool = False
    probe_refused: bool = False

    @property
    def primary_mx(self) -> str | None:
        return self.mx_hosts[0] if self.mx_hosts else None

    def learnt(self, **changes: object) -> DomainFacts:
        return replace(self, **changes)  # type: ignore[arg-type]


class InsightStore(Protocol):
    def load(self, domain: str, now: datetime) -> DomainFacts | None:
        """The domain's facts if known and not expired."""
        ...

    def save(self, facts: DomainFacts) -> None: ...


class MemoryInsightStore:
    """A bounded in-memory store (least recently used domains are forgotten first)."""

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self.rows: OrderedDict[str, DomainFacts] = OrderedDict()

    def load(self, domain: str, now: datetime) -> DomainFacts | None:
        facts = self.rows.get(domain)
        if facts is None or facts.expires_at <= now:
            return None
        self.rows.move_to_end(domain)
        return facts

    def save(self, facts: DomainFacts) -> None:
        self.rows[facts.domain] = facts
        self.rows.move_to_end(facts.domain)
        while len(self.rows) > self.capacity:
            self.rows.popitem(last=False)


__all__ = ["DomainFacts", "InsightStore", "MemoryInsightStore"]
