"""The verifier: one address or a stream of millions, fast overall and polite to each host.

Checks in order, stopping at the first decisive one: syntax (email-validator, internationalised
addresses allowed) → disposable domain (the disposable-email-domains list plus the user's) →
MX (dnspython; cached per domain) → catch-all (a random mailbox at the domain, asked once per
domain) → the address itself over SMTP (mail/probe.py).

Scheduling (the politeness rules of DESIGN.md):

- Every mail host (keyed by the IP address we connect to) has a queue of probe jobs drained
  by one task of its own, so a host never sees two sessions at once. The next session starts
  no earlier than `rate_limit_seconds` after the previous one ENDED (a real idle gap for the
  server, however slow its replies).
- A global semaphore (`concurrency`) bounds sessions in progress across all hosts. A host's
  task takes it only once its gap has passed, so a slow or rate-limited host never holds a
  slot while it waits: the pool keeps serving the other hosts.
- Several addresses bound for one host share a session (up to `rcpt_per_session` RCPTs in
  one transaction) unless the host answered 452 to a second RCPT, after which it gets one
  recipient per session (remembered in the domain cache). A catch-all test (random address
  first, then the real one) always has a session of its own.
- Greylisting and other 4xx replies (421 included): the address is asked again once,
  `greylist_retry_seconds` later, in a new session; still deferred → GREYLISTED. While it
  waits the address gives back its in-flight slot, so the retries never stall the stream.
  A dropped connection (no reply) is retried the same way, then UNKNOWN.
- A host that refuses connections or never greets (tarpit) is remembered for the run: its
  other addresses get the same answer without another session.
- Domain facts are looked up once per domain however many addresses share it: concurrent
  lookups of one domain wait on one in-flight future, and the answers go to the
  `domain_insight` cache (with a TTL), so 5,000 addresses at one domain cost one MX lookup and
  one catch-all probe.

Memory stays flat on any input: `verify_stream` keeps at most `in_flight` addresses in
progress (back-pressure on the reader), and every cache is a bounded LRU.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter, OrderedDict, deque
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol, TypeVar

import dns.asyncresolver
from disposable_email_domains import blocklist as disposable_blocklist
from email_validator import EmailNotValidError, validate_email

from outreach_tui.config import VerifySettings
from outreach_tui.core.errors import ConfigError
from outreach_tui.core.verification import (
    UNPROBED_SCORE,
    RcptVerdict,
    VerificationResult,
    VerificationStatus,
    classify_rcpt,
    reply_text,
    result_for_rcpt,
)
from outreach_tui.engine.leads.domain_insight import DomainFacts, InsightStore, MemoryInsightStore
from outreach_tui.mail.mx import MxAnswer, MxStatus, host_address, lookup_mx
from outreach_tui.mail.probe import (
    FailureKind,
    ProbeSession,
    Reply,
    SessionFailure,
    probe,
    random_local_part,
)

log = logging.getLogger(__name__)

V = VerificationStatus
T = TypeVar("T")

#: Bounded caches (entries): domain facts in front of the store, mail host addresses,
#: hosts found down in this run.
LRU_SIZE = 20_000
#: How long a host that refused or never greeted is taken at its word within a run.
HOST_DOWN_SECONDS = 600.0

#: RFC 5322 dot-atom of ASCII atext: a local part email-validator always accepts.
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")

_REFUSED = "the server refused the probe (policy, not the mailbox)"

_NO_MX_DETAIL = {
    MxStatus.NXDOMAIN: "the domain does not exist (NXDOMAIN)",
    MxStatus.NULL_MX: "the domain publishes a null MX (RFC 7505): it takes no mail",
    MxStatus.NO_RECORDS: "the domain has no MX, A or AAAA record",
}


class Prober(Protocol):
    def __call__(
        self,
        host: str,
        address: str,
        port: int,
        recipients: list[str],
        *,
        helo_name: str,
        mail_from: str,
        timeout: float,
    ) -> Awaitable[ProbeSession]: ...


class _Lru(OrderedDict[str, T]):
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


class _Slot:
    """An in-flight place in `verify_stream`, given back once (early if the address parks)."""

    def __init__(self, semaphore: asyncio.Semaphore | None) -> None:
        self.semaphore = semaphore

    def release(self) -> None:
        if self.semaphore is not None:
            self.semaphore.release()
            self.semaphore = None


@dataclass
class _Outcome:
    """One job's share of a session: its replies in order, or why it has fewer."""

    replies: list[Reply]
    failure: SessionFailure | None = None
    not_asked: bool = False
    """The session ended (421, 452) before this job's turn: ask again, it is not a retry."""
    too_many: bool = False
    """The host answered 452 to a later RCPT: it takes one recipient per session."""


@dataclass
class _Job:
    recipients: list[str]
    future: asyncio.Future[_Outcome]
    alone: bool


@dataclass
class _Host:
    address: str
    name: str
    one_rcpt: bool = False
    queue: deque[_Job] = field(default_factory=deque)
    last_end: float = float("-inf")
    task: asyncio.Task[None] | None = None
    active: int = 0


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
    """Verifies addresses; one object per run (it holds the run's caches and host queues)."""

    def __init__(
        self,
        settings: VerifySettings,
        resolver: dns.asyncresolver.Resolver,
        store: InsightStore | None = None,
        *,
        smtp: bool = True,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        prober: Prober = probe,
    ) -> None:
        self.settings = settings
        self.resolver = resolver
        self.store: InsightStore = store if store is not None else MemoryInsightStore()
        self.smtp = smtp
        self.now = now
        self.prober = prober
        self.disposable = load_disposable(settings)
        self.no_probe = domain_set(settings.no_probe_domains)
        self.skip_catch_all = domain_set(settings.skip_catch_all_domains)
        self.stats: Counter[str] = Counter()
        self._sessions = asyncio.Semaphore(settings.concurrency)
        # DNS answers are cheap for a resolver; more lookups than sessions keep the stream
        # moving without flooding it.
        self._dns = asyncio.Semaphore(max(20, settings.concurrency * 4))
        self._facts: _Lru[DomainFacts] = _Lru()
        self._facts_pending: dict[str, asyncio.Future[DomainFacts | MxAnswer]] = {}
        self._catch_all_pending: dict[str, asyncio.Future[None]] = {}
        self._catch_all_tried: _Lru[bool] = _Lru()
        self._addresses: _Lru[str | MxAnswer] = _Lru()
        self._address_pending: dict[str, asyncio.Future[str | MxAnswer]] = {}
        self._down: _Lru[tuple[float, VerificationStatus, str]] = _Lru()
        self._hosts: dict[str, _Host] = {}
        self._domains_ok: _Lru[str] = _Lru()

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

        async def one(email: str, slot: _Slot) -> None:
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
            task = asyncio.create_task(one(email, _Slot(slots)))
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
        running = [h.task for h in self._hosts.values() if h.task is not None]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    # -- one address --------------------------------------------------------------------

    async def verify(self, email: str, slot: _Slot | None = None) -> VerificationResult:
        slot = slot or _Slot(None)
        given = email.strip()
        syntax = self._syntax(given)
        if isinstance(syntax, VerificationResult):
            return syntax
        domain, rcpt, alone = syntax
        if domain_matches(domain, self.disposable):
            return VerificationResult.of(given, V.DISPOSABLE, f"{domain} is a disposable domain")
        facts = await self._facts_for(domain)
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
        address = await self._address_of(mx)
        if isinstance(address, MxAnswer):
            status = V.TIMEOUT if address.status is MxStatus.TIMEOUT else V.UNKNOWN
            return VerificationResult.of(given, status, address.detail, mx_host=mx)
        test_catch_all = facts.catch_all is None and not (
            domain_matches(domain, self.skip_catch_all) or domain_matches(mx, self.skip_catch_all)
        )
        return await self._probe_address(
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
            parsed = validate_email(given, check_deliverability=False)
        except EmailNotValidError as exc:
            return VerificationResult.of(given, V.INVALID_SYNTAX, str(exc))
        ascii_domain = parsed.ascii_domain.lower()
        self._domains_ok.put(domain.lower(), ascii_domain)
        # A non-ASCII local part has no ASCII form: SMTPUTF8, in a session of its own.
        return ascii_domain, parsed.ascii_email or parsed.normalized, parsed.ascii_email is None

    async def _probe_address(
        self,
        given: str,
        rcpt: str,
        facts: DomainFacts,
        address: str,
        *,
        alone: bool,
        test_catch_all: bool,
        slot: _Slot,
    ) -> VerificationResult:
        mx = facts.mx_hosts[0]
        retried = False
        led = False
        # One random address per test, kept for its retry: a greylisting server lets an
        # address through only when it is asked again.
        random_rcpt = f"{random_local_part()}@{facts.domain}"
        while True:
            facts = self._facts.hit(facts.domain) or facts
            down = self._host_down(address)
            if down is not None:
                return VerificationResult.of(given, down[0], down[1], mx_host=mx)
            if facts.probe_refused:
                return VerificationResult.of(given, V.UNKNOWN, _REFUSED, mx_host=mx)
            if facts.catch_all:
                return VerificationResult.of(
                    given, V.CATCH_ALL, "the domain accepts any address", mx_host=mx
                )
            reply: Reply | None
            if test_catch_all:
                leader, outcome = await self._catch_all_test(
                    facts, address, rcpt, random_rcpt, again=led
                )
                if not leader:  # another address ran the test: now ask about this one
                    test_catch_all = False
                    continue
                led = True
                first = outcome.replies[0] if outcome.replies else None
                if first is not None and classify_rcpt(first.code, first.text) in (
                    RcptVerdict.TEMPORARY,
                    RcptVerdict.TOO_MANY_RECIPIENTS,
                ):
                    if retried:
                        return VerificationResult.of(
                            given,
                            V.GREYLISTED,
                            "still deferred after a retry on a new connection: "
                            + reply_text(first.code, first.text),
                            mx_host=mx,
                            smtp_code=first.code,
                        )
                    retried = await self._park(slot)
                    continue
                if first is not None:
                    test_catch_all = False  # answered: the domain's facts say what it is
                reply = outcome.replies[1] if len(outcome.replies) > 1 else None
            else:
                outcome = await self._ask(address, mx, facts, [rcpt], alone=alone)
                reply = outcome.replies[0] if outcome.replies else None
            if reply is None:
                if outcome.failure is None:
                    continue  # not asked yet (one RCPT per session, a cut-short session)
                result = self._failure_result(given, outcome.failure, mx, retried=retried)
                if result is not None:
                    return result
                retried = await self._park(slot)
                continue
            facts = self._facts.hit(facts.domain) or facts
            if facts.probe_refused and classify_rcpt(reply.code, reply.text) is not (
                RcptVerdict.ACCEPTED
            ):
                return VerificationResult.of(
                    given, V.UNKNOWN, f"{_REFUSED}: {reply_text(reply.code, reply.text)}",
                    mx_host=mx, smtp_code=reply.code,
                )  # fmt: skip
            result = result_for_rcpt(
                given, reply.code, reply.text, mx_host=mx, catch_all=facts.catch_all,
                retried=retried,
            )  # fmt: skip
            if result is not None:
                return result
            retried = await self._park(slot)

    async def _park(self, slot: _Slot) -> bool:
        """Wait to ask again (greylisting wants the same question later, on a new
        connection). The in-flight place is given back meanwhile: the stream keeps moving."""
        slot.release()
        self.stats["retries"] += 1
        await asyncio.sleep(self.settings.greylist_retry_seconds)
        return True

    def _failure_result(
        self, given: str, failure: SessionFailure, mx: str, *, retried: bool
    ) -> VerificationResult | None:
        """The result of a session that ended before the address's RCPT was answered, or
        None when it is worth asking again later."""
        reply = failure.reply
        code = reply.code if reply else None
        if failure.kind is FailureKind.REFUSED:
            return VerificationResult.of(
                given, V.CONNECTION_REFUSED, f"{mx} refused the connection: {failure.detail}",
                mx_host=mx,
            )  # fmt: skip
        if failure.kind is FailureKind.TIMEOUT:
            return VerificationResult.of(
                given,
                V.TIMEOUT,
                f"{mx}: no reply at {failure.stage} within {self.settings.timeout_seconds:g} s",
                mx_host=mx,
            )
        if failure.kind is FailureKind.DROPPED:
            if not retried:
                return None
            return VerificationResult.of(
                given, V.UNKNOWN, f"{mx} dropped the connection at {failure.stage}, twice",
                mx_host=mx,
            )  # fmt: skip
        if reply is None:
            return VerificationResult.of(given, V.UNKNOWN, f"{mx}: {failure.detail}", mx_host=mx)
        said = reply_text(reply.code, reply.text)
        if 400 <= reply.code < 500:
            if not retried:
                return None
            return VerificationResult.of(
                given,
                V.GREYLISTED,
                f"still deferred at {failure.stage} after a retry: {said}",
                mx_host=mx,
                smtp_code=code,
            )
        if classify_rcpt(reply.code, reply.text) is RcptVerdict.REFUSED_PROBE or reply.code == 554:
            return VerificationResult.of(
                given, V.UNKNOWN, f"{_REFUSED} at {failure.stage}: {said}", mx_host=mx,
                smtp_code=code,
            )  # fmt: skip
        return VerificationResult.of(
            given, V.UNKNOWN, f"the server refused {failure.stage}: {said}", mx_host=mx,
            smtp_code=code,
        )  # fmt: skip

    # -- catch-all ----------------------------------------------------------------------

    async def _catch_all_test(
        self, facts: DomainFacts, address: str, rcpt: str, random_rcpt: str, *, again: bool
    ) -> tuple[bool, _Outcome]:
        """Ask a random mailbox at the domain, then `rcpt` in the same session (or in the
        next one for a host that takes one RCPT per session), once per domain: the first
        address of a domain leads the test (True); the others wait for it (False) and then
        find the answer in the domain's facts."""
        domain = facts.domain
        pending = self._catch_all_pending.get(domain)
        if pending is not None:
            await asyncio.shield(pending)
            return False, _Outcome([], not_asked=True)
        if not again and self._catch_all_tried.hit(domain):
            # Tested in this run without an answer (deferred): its leader retries it.
            return False, _Outcome([], not_asked=True)
        self._catch_all_tried.put(domain, True)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._catch_all_pending[domain] = future
        try:
            self.stats["catch_all_tests"] += 1
            host = self._hosts.get(address)
            one_rcpt = facts.one_rcpt_per_session or (host is not None and host.one_rcpt)
            recipients = [random_rcpt] if one_rcpt else [random_rcpt, rcpt]
            outcome = await self._ask(address, facts.mx_hosts[0], facts, recipients, alone=True)
            if outcome.replies:
                first = outcome.replies[0]
                verdict = classify_rcpt(first.code, first.text)
                if verdict is RcptVerdict.ACCEPTED:
                    self._remember(self._current(facts), catch_all=True)
                elif verdict is RcptVerdict.NOT_FOUND:
                    self._remember(self._current(facts), catch_all=False)
            return True, outcome
        finally:
            future.set_result(None)
            del self._catch_all_pending[domain]

    def _current(self, facts: DomainFacts) -> DomainFacts:
        return self._facts.hit(facts.domain) or facts

    # -- sessions -----------------------------------------------------------------------

    async def _ask(
        self, address: str, name: str, facts: DomainFacts, recipients: list[str], *, alone: bool
    ) -> _Outcome:
        """Queue a job on the host's queue and wait for its share of a session; what the
        session taught about the host and the domain is remembered."""
        host = self._hosts.get(address)
        if host is None:
            host = self._hosts[address] = _Host(address, name)
        if facts.one_rcpt_per_session:
            host.one_rcpt = True
        future: asyncio.Future[_Outcome] = asyncio.get_running_loop().create_future()
        host.queue.append(_Job(recipients, future, alone or host.one_rcpt))
        if host.task is None:
            host.task = asyncio.create_task(self._drain(host))
        outcome = await future
        failure = outcome.failure
        if failure is not None and failure.stage in ("connect", "greeting"):
            self._note_down(address, name, failure)
        current = self._current(facts)
        if outcome.too_many and not current.one_rcpt_per_session:
            current = self._remember(current, one_rcpt_per_session=True)
        refused = any(
            classify_rcpt(r.code, r.text) is RcptVerdict.REFUSED_PROBE for r in outcome.replies
        ) or (
            failure is not None
            and failure.reply is not None
            and failure.stage == "mail"
            and classify_rcpt(failure.reply.code, failure.reply.text) is RcptVerdict.REFUSED_PROBE
        )
        if refused and not current.probe_refused:
            self._remember(current, probe_refused=True)
        return outcome

    async def _drain(self, host: _Host) -> None:
        """Run the host's sessions one at a time, a gap after each, until its queue is empty
        and the gap has passed (so a new task for the host cannot start early)."""
        loop = asyncio.get_running_loop()
        gap = self.settings.rate_limit_seconds
        try:
            while True:
                wait = host.last_end + gap - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                    continue
                if not host.queue:
                    break
                batch = self._take_batch(host)
                recipients = [r for job in batch for r in job.recipients]
                # The global slot is taken only now, once it is this host's turn.
                async with self._sessions:
                    host.active += 1
                    self.stats["max_host_sessions"] = max(
                        self.stats["max_host_sessions"], host.active
                    )
                    try:
                        session = await self.prober(
                            host.name,
                            host.address,
                            self.settings.probe_port,
                            recipients,
                            helo_name=self.settings.helo_name,
                            mail_from=self.settings.mail_from,
                            timeout=self.settings.timeout_seconds,
                        )
                    finally:
                        host.active -= 1
                        host.last_end = loop.time()
                self.stats["sessions"] += 1
                self.stats["sessions_quit"] += int(session.quit_sent)
                self._share(host, batch, session)
        finally:
            for job in host.queue:
                job.future.cancel()
            if self._hosts.get(host.address) is host:
                del self._hosts[host.address]

    def _take_batch(self, host: _Host) -> list[_Job]:
        first = host.queue.popleft()
        batch = [first]
        if first.alone or host.one_rcpt:
            return batch
        while (
            host.queue and len(batch) < self.settings.rcpt_per_session and not host.queue[0].alone
        ):
            batch.append(host.queue.popleft())
        return batch

    def _share(self, host: _Host, batch: list[_Job], session: ProbeSession) -> None:
        """Each job's replies. A failure before the first RCPT concerns every job; one at
        an RCPT concerns the job that asked it; jobs after that, or after a session cut
        short by a 421 or a 452, were not asked."""
        replies = session.replies
        failure = session.failure
        cut = len(replies)
        everyone = failure is not None and failure.stage != "rcpt"
        start = 0
        for job in batch:
            end = start + len(job.recipients)
            mine = replies[start:end]
            too_many = False
            if mine and mine[-1].code == 452 and start + len(mine) - 1 > 0:
                # 452 to a later RCPT of the session: one recipient per session from now on.
                host.one_rcpt = too_many = True
                mine = mine[:-1]
                outcome = _Outcome(mine, not_asked=True, too_many=True)
            elif len(mine) == len(job.recipients):
                outcome = _Outcome(mine)
            elif everyone:
                outcome = _Outcome([], failure=failure)
            elif start <= cut < end and failure is not None:
                outcome = _Outcome(mine, failure=failure)
            else:
                outcome = _Outcome(mine, not_asked=True)
            outcome.too_many = too_many
            if not job.future.done():
                job.future.set_result(outcome)
            start = end

    def _note_down(self, address: str, name: str, failure: SessionFailure) -> None:
        """A host that refuses connections or never greets answers the same for all its
        addresses: remember it for a while instead of asking again."""
        if failure.kind is FailureKind.REFUSED:
            status, why = V.CONNECTION_REFUSED, f"{name} refused the connection: {failure.detail}"
        elif failure.kind is FailureKind.TIMEOUT:
            status = V.TIMEOUT
            why = f"{name}: no reply at {failure.stage} within {self.settings.timeout_seconds:g} s"
        else:
            return
        until = asyncio.get_running_loop().time() + HOST_DOWN_SECONDS
        self._down.put(address, (until, status, why))

    def _host_down(self, address: str) -> tuple[VerificationStatus, str] | None:
        entry = self._down.hit(address)
        if entry is None:
            return None
        until, status, why = entry
        if until < asyncio.get_running_loop().time():
            del self._down[address]
            return None
        return status, why

    # -- DNS and the domain cache -------------------------------------------------------

    async def _facts_for(self, domain: str) -> DomainFacts | MxAnswer:
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
            facts = await self._load_facts(domain, now)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it themselves
            raise
        else:
            future.set_result(facts)
        finally:
            del self._facts_pending[domain]
        return facts

    async def _load_facts(self, domain: str, now: datetime) -> DomainFacts | MxAnswer:
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
        self._remember(facts)
        return facts

    def _remember(self, facts: DomainFacts, **changes: object) -> DomainFacts:
        if changes:
            facts = facts.learnt(**changes)
        self._facts.put(facts.domain, facts)
        try:
            self.store.save(facts)
        except Exception:  # the cache is an optimisation: a failed write costs a lookup later
            log.exception("could not save domain facts of %s", facts.domain)
        return facts

    async def _address_of(self, host: str) -> str | MxAnswer:
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
                result = await host_address(self.resolver, host)
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


async def collect(verifier: Verifier, emails: Iterable[str]) -> list[VerificationResult]:
    """Every result of `emails` (tests and small batches)."""
    return [result async for result in verifier.verify_stream(emails)]


__all__ = ["DomainFacts", "Verifier", "collect", "domain_matches", "load_disposable"]
