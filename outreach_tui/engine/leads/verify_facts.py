"""The verifier's facts cache: what one run knows about recipient domains and mail hosts.

Domain facts (the MX answer, catch-all, one RCPT per session, a refused probe) are looked up
once per domain however many addresses share it: concurrent lookups of one domain wait on
one in-flight future, and the answers go to the `InsightStore` (engine/leads/domain_insight.py)
with a time to live, so 5,000 addresses at one domain cost one MX lookup. The addresses of
mail hosts are resolved once the same way. Only decisive answers are kept (a DNS timeout is
not a fact about a domain); every cache is a bounded LRU, so memory stays flat on any input.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

import dns.asyncresolver

from outreach_tui.config import VerifySettings
from outreach_tui.core.probe_targets import parse_networks, refusal
from outreach_tui.engine.leads.domain_insight import DomainFacts, InsightStore
from outreach_tui.mail.mx import MxAnswer, MxStatus, host_addresses, lookup_mx

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Bounded caches (entries): domain facts in front of the store, mail host addresses,
#: hosts found down in this run, catch-all tests tried, domains found well-formed.
LRU_SIZE = 20_000


class Lru(OrderedDict[str, T]):
    """A bounded map; the least recently used entries go first."""

    def __init__(self, capacity: int = LRU_SIZE) -> None:
        super().__init__()
        self.capacity = capacity

    def hit(self, key: str) -> T | None:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value

    def put(self, key: str, value: T) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.capacity:
            self.popitem(last=False)


class FactsCache:
    """Domain facts and mail host addresses for one run, in front of the store and DNS."""

    def __init__(
        self,
        settings: VerifySettings,
        resolver: dns.asyncresolver.Resolver,
        store: InsightStore,
        *,
        now: Callable[[], datetime],
        stats: Counter[str],
    ) -> None:
        self.settings = settings
        self.resolver = resolver
        self.store = store
        self.now = now
        self.stats = stats
        # DNS answers are cheap for a resolver; more lookups than sessions keep the stream
        # moving without flooding it.
        self._dns = asyncio.Semaphore(max(20, settings.concurrency * 4))
        self._facts: Lru[DomainFacts] = Lru()
        self._facts_pending: dict[str, asyncio.Future[DomainFacts | MxAnswer]] = {}
        self._addresses: Lru[str | MxAnswer] = Lru()
        self._address_pending: dict[str, asyncio.Future[str | MxAnswer]] = {}
        self._allowed = parse_networks(settings.allow_networks)

    def current(self, facts: DomainFacts) -> DomainFacts:
        """The latest facts of `facts.domain` (another address may have taught more)."""
        return self._facts.hit(facts.domain) or facts

    async def facts_for(self, domain: str) -> DomainFacts | MxAnswer:
        """The domain's facts, or the failed MX lookup (not cached) that left them unknown."""
        now = self.now()
        cached = self._facts.hit(domain)
        if cached is not None and cached.expires_at > now:
            return cached
        pending = self._facts_pending.get(domain)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[DomainFacts | MxAnswer] = asyncio.get_running_loop().create_future()
        self._facts_pending[domain] = future
        try:
            facts = await self._load(domain, now)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it themselves
            raise
        else:
            future.set_result(facts)
        finally:
            del self._facts_pending[domain]
        return facts

    async def _load(self, domain: str, now: datetime) -> DomainFacts | MxAnswer:
        stored = self.store.load(domain, now)
        if stored is not None:
            self._facts.put(domain, stored)
            return stored
        async with self._dns:
            self.stats["mx_lookups"] += 1
            answer = await lookup_mx(self.resolver, domain)
        if not answer.status.decisive:
            return answer  # a failed lookup is not a fact about the domain: not cached
        ttl = timedelta(hours=self.settings.domain_cache_hours)
        facts = DomainFacts(
            domain=domain,
            mx_status=answer.status,
            mx_hosts=answer.hosts,
            checked_at=now,
            expires_at=now + ttl,
            detail=answer.detail,
            disposable=False,
        )
        self.remember(facts)
        return facts

    def remember(self, facts: DomainFacts, **changes: object) -> DomainFacts:
        """Keep `facts` (with `changes` learnt) here and in the store."""
        if changes:
            facts = facts.learnt(**changes)
        self._facts.put(facts.domain, facts)
        try:
            self.store.save(facts)
        except Exception:  # the cache is an optimisation: a failed write costs a lookup later
            log.exception("could not save domain facts of %s", facts.domain)
        return facts

    async def address_of(self, host: str) -> str | MxAnswer:
        """The IP address to connect to for mail host `host`: the first of its addresses the
        probe may connect to (core/probe_targets.py), or why there is none (a failed lookup,
        or only internal addresses: `MxStatus.REFUSED_TARGET`)."""
        cached = self._addresses.hit(host)
        if cached is not None:
            return cached
        pending = self._address_pending.get(host)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[str | MxAnswer] = asyncio.get_running_loop().create_future()
        self._address_pending[host] = future
        try:
            async with self._dns:
                found = await host_addresses(self.resolver, host)
            result = found if isinstance(found, MxAnswer) else self._probeable(host, found)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()
            raise
        else:
            future.set_result(result)
            if isinstance(result, str) or result.status.decisive:
                self._addresses.put(host, result)
        finally:
            del self._address_pending[host]
        return result

    def _probeable(self, host: str, addresses: list[str]) -> str | MxAnswer:
        """The first address outside the refused networks (unless `[verify] allow_networks`
        names them), or a decisive answer that says why none may be probed."""
        reasons: list[str] = []
        for address in addresses:
            why = refusal(address, self._allowed)
            if why is None:
                return address
            reasons.append(why)
        self.stats["refused_targets"] += 1
        return MxAnswer(
            MxStatus.REFUSED_TARGET,
            detail=f"mail host {host} resolves to {reasons[0]}: not probed "
            "(verify.allow_networks allows a network)",
        )
