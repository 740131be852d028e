"""Session scheduling for the verifier: the politeness rules, per mail host.

- Every mail host (keyed by the IP address we connect to) has a queue of probe jobs drained
  by one task of its own, so a host never sees two sessions at once. The next session starts
  no earlier than `rate_limit_seconds` after the previous one ENDED (a real idle gap for the
  server, however slow its replies).
- A global semaphore (`concurrency`) bounds sessions in progress across all hosts. A host's
  task takes it only once its gap has passed, so a slow or rate-limited host never holds a
  slot while it waits: the pool keeps serving the other hosts.
- Several jobs bound for one host share a session (up to `rcpt_per_session` RCPTs in one
  transaction) unless a job must be alone or the host answered 452 to a second RCPT, after
  which it gets one recipient per session.

What a session means for each address is decided in engine/leads/verify_probe.py.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Protocol

from outreach_tui.config import VerifySettings
from outreach_tui.mail.probe import ProbeSession, Reply, SessionFailure


class Prober(Protocol):
    """One SMTP session asking `recipients` (mail/probe.py `probe`, or a test's stand-in)."""

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


@dataclass
class Outcome:
    """One job's share of a session: its replies in order, or why it has fewer."""

    replies: list[Reply]
    failure: SessionFailure | None = None
    not_asked: bool = False
    """The session ended (421, 452) before this job's turn: ask again, it is not a retry."""
    too_many: bool = False
    """The host answered 452 to a later RCPT: it takes one recipient per session."""


@dataclass
class Job:
    recipients: list[str]
    future: asyncio.Future[Outcome]
    alone: bool


@dataclass
class Host:
    address: str
    name: str
    one_rcpt: bool = False
    queue: deque[Job] = field(default_factory=deque)
    last_end: float = float("-inf")
    task: asyncio.Task[None] | None = None
    active: int = 0


class SessionScheduler:
    """The hosts' queues and the sessions that drain them, for one verifier run."""

    def __init__(self, settings: VerifySettings, prober: Prober, stats: Counter[str]) -> None:
        self.settings = settings
        self.prober = prober
        self.stats = stats
        self.hosts: dict[str, Host] = {}
        self._sessions = asyncio.Semaphore(settings.concurrency)

    async def submit(
        self, address: str, name: str, recipients: list[str], *, alone: bool, one_rcpt: bool
    ) -> Outcome:
        """Queue a job on the host's queue and wait for its share of a session. `one_rcpt`:
        the host is known to take one recipient per session."""
        host = self.hosts.get(address)
        if host is None:
            host = self.hosts[address] = Host(address, name)
        if one_rcpt:
            host.one_rcpt = True
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        host.queue.append(Job(recipients, future, alone or host.one_rcpt))
        if host.task is None:
            host.task = asyncio.create_task(self._drain(host))
        return await future

    async def aclose(self) -> None:
        """Stop the host tasks (only those still running after a cancelled stream)."""
        running = [h.task for h in self.hosts.values() if h.task is not None]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    async def _drain(self, host: Host) -> None:
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
            if self.hosts.get(host.address) is host:
                del self.hosts[host.address]

    def _take_batch(self, host: Host) -> list[Job]:
        first = host.queue.popleft()
        batch = [first]
        if first.alone or host.one_rcpt:
            return batch
        while (
            host.queue and len(batch) < self.settings.rcpt_per_session and not host.queue[0].alone
        ):
            batch.append(host.queue.popleft())
        return batch

    def _share(self, host: Host, batch: list[Job], session: ProbeSession) -> None:
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
                outcome = Outcome(mine, not_asked=True, too_many=True)
            elif len(mine) == len(job.recipients):
                outcome = Outcome(mine)
            elif everyone:
                outcome = Outcome([], failure=failure)
            elif start <= cut < end and failure is not None:
                outcome = Outcome(mine, failure=failure)
            else:
                outcome = Outcome(mine, not_asked=True)
            outcome.too_many = too_many
            if not job.future.done():
                job.future.set_result(outcome)
            start = end
