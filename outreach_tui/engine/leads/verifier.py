"""The verifier: one address or a stream of millions, fast overall and polite to each host.

Checks in order, stopping at the first decisive one: syntax (email-validator, internationalised
addresses allowed) → disposable domain (the disposable-email-domains list plus the user's) →
MX (dnspython; cached per domain) → catch-all (a random mailbox at the domain, asked once per
domain) → the address itself over SMTP (mail/probe.py).

A `Verifier` is one run; its parts hold the run's state, one responsibility each:

    verify_facts.py     domain facts and mail host addresses, looked up once (`FactsCache`)
    verify_hosts.py     hosts that refused or never greeted, remembered (`HostHealth`)
    verify_sessions.py  host queues: one session per host at a time, a gap after each, a
                        global bound on sessions, RCPTs sharing a session (`SessionScheduler`)
    verify_probe.py     one address over SMTP: catch-all test, retries, what a reply means
                        (`AddressProber`)

Memory stays flat on any input: `verify_stream` keeps at most `in_flight` addresses in
progress (back-pressure on the reader), and every cache is a bounded LRU.

`build_verifier` is the one place a run's verifier is made: `outreach-tui validate` gives it a
`MemoryInsightStore` (it stays clear of the database stack), lead verification
(engine/leads/lead_verification.py) the `domain_insight` table.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

import dns.asyncresolver
from disposable_email_domains import blocklist as disposable_blocklist
from email_validator import EmailNotValidError, validate_email

from outreach_tui.config import DnsSettings, VerifySettings
from outreach_tui.core.errors import ConfigError
from outreach_tui.core.verification import (
    UNPROBED_SCORE,
    VerificationResult,
    VerificationStatus,
)
from outreach_tui.engine.leads.domain_insight import InsightStore
from outreach_tui.engine.leads.verify_facts import FactsCache, Lru
from outreach_tui.engine.leads.verify_hosts import HostHealth
from outreach_tui.engine.leads.verify_probe import AddressProber, Slot
from outreach_tui.engine.leads.verify_sessions import Prober, SessionScheduler
from outreach_tui.mail.dns import make_resolver
from outreach_tui.mail.mx import MxAnswer, MxStatus
from outreach_tui.mail.probe import probe

log = logging.getLogger(__name__)

V = VerificationStatus

#: RFC 5322 dot-atom of ASCII atext: a local part email-validator always accepts.
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")

_NO_MX_DETAIL = {
    MxStatus.NXDOMAIN: "the domain does not exist (NXDOMAIN)",
    MxStatus.NULL_MX: "the domain publishes a null MX (RFC 7505): it takes no mail",
    MxStatus.NO_RECORDS: "the domain has no MX, A or AAAA record",
}


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def domain_matches(domain: str, names: frozenset[str]) -> bool:
    """`domain` is one of `names` or below one of them (a look-up per label, not a scan)."""
    candidate = domain.lower().rstrip(".")
    while candidate:
        if candidate in names:
            return True
        _, _, candidate = candidate.partition(".")
    return False


def domain_set(entries: Iterable[str]) -> frozenset[str]:
    return frozenset(e.strip().lower().strip(".") for e in entries if e.strip(" ."))


def load_disposable(settings: VerifySettings) -> frozenset[str]:
    extra = set(domain_set(settings.disposable_domains))
    path = settings.disposable_domains_file
    if path is not None:
        extra |= read_domain_file(path)
    return frozenset(disposable_blocklist) | frozenset(extra)


def read_domain_file(path: Path) -> set[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"verify.disposable_domains_file: cannot read {path}: {exc}") from None
    domains = set()
    for number, line in enumerate(lines, 1):
        value = line.split("#", 1)[0].strip().lower().strip(".")
        if not value:
            continue
        if " " in value or "@" in value:
            raise ConfigError(f"{path}:{number}: {value!r} is not a domain name")
        domains.add(value)
    return domains


class Verifier:
    """Verifies addresses; one object per run (its parts hold the run's caches and host
    queues). Made by `build_verifier`; tests give their own resolver and prober."""

    def __init__(
        self,
        settings: VerifySettings,
        resolver: dns.asyncresolver.Resolver,
        store: InsightStore,
        *,
        smtp: bool = True,
        now: Callable[[], datetime] = _wall_clock,
        prober: Prober = probe,
    ) -> None:
        self.settings = settings
        self.smtp = smtp
        self.disposable = load_disposable(settings)
        self.no_probe = domain_set(settings.no_probe_domains)
        self.skip_catch_all = domain_set(settings.skip_catch_all_domains)
        self.stats: Counter[str] = Counter()
        self.facts = FactsCache(settings, resolver, store, now=now, stats=self.stats)
        self.health = HostHealth(settings)
        self.sessions = SessionScheduler(settings, prober, self.stats)
        self.probing = AddressProber(settings, self.facts, self.health, self.sessions, self.stats)
        self._domains_ok: Lru[str] = Lru()

    # -- the stream ---------------------------------------------------------------------

    async def verify_stream(
        self, emails: AsyncIterable[str] | Iterable[str], *, in_flight: int | None = None
    ) -> AsyncIterator[VerificationResult]:
        """Results as they are known (not in input order), with at most `in_flight`
        addresses in progress: the input is read only as fast as results come out."""
        limit = in_flight or max(200, self.settings.concurrency * 50)
        slots = asyncio.Semaphore(limit)
        results: asyncio.Queue[VerificationResult | None] = asyncio.Queue()
        tasks: set[asyncio.Task[None]] = set()

        async def one(email: str, slot: Slot) -> None:
            try:
                result = await self.verify(email, slot)
            except Exception as exc:  # a bug must cost one address, not the run
                log.exception("verifying %s failed", email)
                result = VerificationResult.of(email, V.UNKNOWN, f"internal error: {exc}")
            finally:
                slot.release()
            await results.put(result)

        async def feed() -> None:
            try:
                if isinstance(emails, AsyncIterable):
                    async for email in emails:
                        await start(email)
                else:
                    for email in emails:
                        await start(email)
                while tasks:
                    await asyncio.gather(*list(tasks), return_exceptions=True)
            finally:
                await results.put(None)

        async def start(email: str) -> None:
            await slots.acquire()
            task = asyncio.create_task(one(email, Slot(slots)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        feeder = asyncio.create_task(feed())
        try:
            while (item := await results.get()) is not None:
                yield item
            await feeder
        finally:
            if not feeder.done():
                feeder.cancel()
            for task in list(tasks):
                task.cancel()
            await asyncio.gather(feeder, *tasks, return_exceptions=True)
            await self.aclose()

    async def aclose(self) -> None:
        """Stop the host tasks (only those still running after a cancelled stream)."""
        await self.sessions.aclose()

    # -- one address --------------------------------------------------------------------

    async def verify(self, email: str, slot: Slot | None = None) -> VerificationResult:
        if slot is None:
            slot = Slot(None)  # one address on its own, not part of a stream
        given = email.strip()
        syntax = self._syntax(given)
        if isinstance(syntax, VerificationResult):
            return syntax
        domain, rcpt, alone = syntax
        if domain_matches(domain, self.disposable):
            return VerificationResult.of(given, V.DISPOSABLE, f"{domain} is a disposable domain")
        facts = await self.facts.facts_for(domain)
        if isinstance(facts, MxAnswer):
            status = V.TIMEOUT if facts.status is MxStatus.TIMEOUT else V.UNKNOWN
            return VerificationResult.of(given, status, facts.detail)
        if not facts.mx_status.takes_mail:
            return VerificationResult.of(given, V.NO_MX, _NO_MX_DETAIL[facts.mx_status])
        mx = facts.mx_hosts[0]
        unprobed = f"mail host {mx}; the mailbox was not asked"
        if not self.smtp:
            return VerificationResult.of(
                given, V.UNKNOWN, unprobed + " (--no-smtp)", mx_host=mx, score=UNPROBED_SCORE
            )
        if domain_matches(domain, self.no_probe) or domain_matches(mx, self.no_probe):
            return VerificationResult.of(
                given,
                V.UNKNOWN,
                unprobed + " (verify.no_probe_domains)",
                mx_host=mx,
                score=UNPROBED_SCORE,
            )
        if facts.probe_refused:
            return VerificationResult.of(
                given,
                V.UNKNOWN,
                f"{mx} refused an earlier probe (policy, 5.7.x): not asked again "
                f"before {facts.expires_at:%Y-%m-%d %H:%M} UTC",
                mx_host=mx,
            )
        if facts.catch_all:
            return VerificationResult.of(
                given, V.CATCH_ALL, "the domain accepts any address", mx_host=mx
            )
        address = await self.facts.address_of(mx)
        if isinstance(address, MxAnswer):
            status = V.TIMEOUT if address.status is MxStatus.TIMEOUT else V.UNKNOWN
            return VerificationResult.of(given, status, address.detail, mx_host=mx)
        test_catch_all = facts.catch_all is None and not (
            domain_matches(domain, self.skip_catch_all) or domain_matches(mx, self.skip_catch_all)
        )
        return await self.probing.probe_address(
            given, rcpt, facts, address, alone=alone, test_catch_all=test_catch_all, slot=slot
        )

    def _syntax(self, given: str) -> tuple[str, str, bool] | VerificationResult:
        """(A-label domain, the address for RCPT, needs SMTPUTF8) or INVALID_SYNTAX.

        email-validator decides; a plain ASCII dot-atom local part at a domain it already
        accepted skips the second domain check (the domain check is most of its cost, and
        a list has many addresses per domain)."""
        local, at, domain = given.rpartition("@")
        known = self._domains_ok.hit(domain.lower()) if at else None
        if known is not None and len(local) <= 64 and len(given) <= 254 and _DOT_ATOM.match(local):
            return known, f"{local}@{known}", False
        try:
            # strict: a local part over 64 characters (RFC 5321) is invalid syntax too.
            parsed = validate_email(given, check_deliverability=False, strict=True)
        except EmailNotValidError as exc:
            return VerificationResult.of(given, V.INVALID_SYNTAX, str(exc))
        ascii_domain = parsed.ascii_domain.lower()
        self._domains_ok.put(domain.lower(), ascii_domain)
        # A non-ASCII local part has no ASCII form: SMTPUTF8, in a session of its own.
        return ascii_domain, parsed.ascii_email or parsed.normalized, parsed.ascii_email is None


def build_verifier(
    verify: VerifySettings,
    dns_settings: DnsSettings,
    store: InsightStore,
    *,
    smtp: bool,
    now: Callable[[], datetime] = _wall_clock,
) -> Verifier:
    """The verifier of one run: resolving with `[dns] nameservers` within `verify`'s
    timeout, keeping domain facts in `store`; `smtp=False` stops at the MX check."""
    resolver = make_resolver(dns_settings.nameservers, timeout=verify.timeout_seconds)
    return Verifier(verify, resolver, store, smtp=smtp, now=now)


async def collect(verifier: Verifier, emails: Iterable[str]) -> list[VerificationResult]:
    """Every result of `emails` (tests and small batches)."""
    return [result async for result in verifier.verify_stream(emails)]


__all__ = ["Verifier", "build_verifier", "collect"]
