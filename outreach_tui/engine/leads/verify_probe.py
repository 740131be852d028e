"""SMTP probing of one address: the catch-all test, retries, and what each reply means.

- A catch-all test (a random mailbox at the domain first, then the real address) runs once
  per domain, in a session of its own; the other addresses of the domain wait for it and then
  find the answer in the domain's facts.
- Greylisting and other 4xx replies (421 included): the address is asked again once,
  `greylist_retry_seconds` later, in a new session; still deferred → GREYLISTED. While it
  waits the address gives back its in-flight slot, so the retries never stall the stream.
  A dropped connection (no reply) is retried the same way, then UNKNOWN.
- A session teaches about its host and domain: a host that refused or never greeted is down
  for a while (engine/leads/verify_hosts.py), a 452 to a later RCPT means one recipient per
  session, a 5.7.x refusal of the probe is remembered (engine/leads/verify_facts.py).

Sessions themselves are scheduled in engine/leads/verify_sessions.py.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from outreach_tui.config import VerifySettings
from outreach_tui.core.verification import (
    RcptVerdict,
    VerificationResult,
    VerificationStatus,
    classify_rcpt,
    reply_text,
    result_for_rcpt,
)
from outreach_tui.engine.leads.domain_insight import DomainFacts
from outreach_tui.engine.leads.verify_facts import FactsCache, Lru
from outreach_tui.engine.leads.verify_hosts import HostHealth
from outreach_tui.engine.leads.verify_sessions import Outcome, SessionScheduler
from outreach_tui.mail.probe import FailureKind, Reply, SessionFailure, random_local_part

V = VerificationStatus

REFUSED = "the server refused the probe (policy, not the mailbox)"


class Slot:
    """An in-flight place in `Verifier.verify_stream`, given back once (early if the address
    parks)."""

    def __init__(self, semaphore: asyncio.Semaphore | None) -> None:
        self.semaphore = semaphore

    def release(self) -> None:
        if self.semaphore is not None:
            self.semaphore.release()
            self.semaphore = None


class AddressProber:
    """Asks mail hosts about addresses, for one verifier run."""

    def __init__(
        self,
        settings: VerifySettings,
        facts: FactsCache,
        health: HostHealth,
        sessions: SessionScheduler,
        stats: Counter[str],
    ) -> None:
        self.settings = settings
        self.facts = facts
        self.health = health
        self.sessions = sessions
        self.stats = stats
        self._catch_all_pending: dict[str, asyncio.Future[None]] = {}
        self._catch_all_tried: Lru[bool] = Lru()

    async def probe_address(
        self,
        given: str,
        rcpt: str,
        facts: DomainFacts,
        address: str,
        *,
        alone: bool,
        test_catch_all: bool,
        slot: Slot,
    ) -> VerificationResult:
        """The result for `given` (asked as `rcpt`) at the domain's first MX, whose IP
        address is `address`."""
        mx = facts.mx_hosts[0]
        retried = False
        led = False
        # One random address per test, kept for its retry: a greylisting server lets an
        # address through only when it is asked again.
        random_rcpt = f"{random_local_part()}@{facts.domain}"
        while True:
            facts = self.facts.current(facts)
            down = self.health.down(address)
            if down is not None:
                return VerificationResult.of(given, down[0], down[1], mx_host=mx)
            if facts.probe_refused:
                return VerificationResult.of(given, V.UNKNOWN, REFUSED, mx_host=mx)
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
            facts = self.facts.current(facts)
            if facts.probe_refused and classify_rcpt(reply.code, reply.text) is not (
                RcptVerdict.ACCEPTED
            ):
                return VerificationResult.of(
                    given, V.UNKNOWN, f"{REFUSED}: {reply_text(reply.code, reply.text)}",
                    mx_host=mx, smtp_code=reply.code,
                )  # fmt: skip
            result = result_for_rcpt(
                given, reply.code, reply.text, mx_host=mx, catch_all=facts.catch_all,
                retried=retried,
            )  # fmt: skip
            if result is not None:
                return result
            retried = await self._park(slot)

    async def _park(self, slot: Slot) -> bool:
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
                given, V.UNKNOWN, f"{REFUSED} at {failure.stage}: {said}", mx_host=mx,
                smtp_code=code,
            )  # fmt: skip
        return VerificationResult.of(
            given, V.UNKNOWN, f"the server refused {failure.stage}: {said}", mx_host=mx,
            smtp_code=code,
        )  # fmt: skip

    async def _catch_all_test(
        self, facts: DomainFacts, address: str, rcpt: str, random_rcpt: str, *, again: bool
    ) -> tuple[bool, Outcome]:
        """Ask a random mailbox at the domain, then `rcpt` in the same session (or in the
        next one for a host that takes one RCPT per session), once per domain: the first
        address of a domain leads the test (True); the others wait for it (False) and then
        find the answer in the domain's facts."""
        domain = facts.domain
        pending = self._catch_all_pending.get(domain)
        if pending is not None:
            await asyncio.shield(pending)
            return False, Outcome([], not_asked=True)
        if not again and self._catch_all_tried.hit(domain):
            # Tested in this run without an answer (deferred): its leader retries it.
            return False, Outcome([], not_asked=True)
        self._catch_all_tried.put(domain, True)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._catch_all_pending[domain] = future
        try:
            self.stats["catch_all_tests"] += 1
            host = self.sessions.hosts.get(address)
            one_rcpt = facts.one_rcpt_per_session or (host is not None and host.one_rcpt)
            recipients = [random_rcpt] if one_rcpt else [random_rcpt, rcpt]
            outcome = await self._ask(address, facts.mx_hosts[0], facts, recipients, alone=True)
            if outcome.replies:
                first = outcome.replies[0]
                verdict = classify_rcpt(first.code, first.text)
                if verdict is RcptVerdict.ACCEPTED:
                    self.facts.remember(self.facts.current(facts), catch_all=True)
                elif verdict is RcptVerdict.NOT_FOUND:
                    self.facts.remember(self.facts.current(facts), catch_all=False)
            return True, outcome
        finally:
            future.set_result(None)
            del self._catch_all_pending[domain]

    async def _ask(
        self, address: str, name: str, facts: DomainFacts, recipients: list[str], *, alone: bool
    ) -> Outcome:
        """A share of a session at the host (verify_sessions.py); what the session taught
        about the host and the domain is remembered."""
        outcome = await self.sessions.submit(
            address, name, recipients, alone=alone, one_rcpt=facts.one_rcpt_per_session
        )
        failure = outcome.failure
        if failure is not None and failure.stage in ("connect", "greeting"):
            self.health.note_down(address, name, failure)
        current = self.facts.current(facts)
        if outcome.too_many and not current.one_rcpt_per_session:
            current = self.facts.remember(current, one_rcpt_per_session=True)
        refused = any(
            classify_rcpt(r.code, r.text) is RcptVerdict.REFUSED_PROBE for r in outcome.replies
        ) or (
            failure is not None
            and failure.reply is not None
            and failure.stage == "mail"
            and classify_rcpt(failure.reply.code, failure.reply.text) is RcptVerdict.REFUSED_PROBE
        )
        if refused and not current.probe_refused:
            self.facts.remember(current, probe_refused=True)
        return outcome
