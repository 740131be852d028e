"""The engine's periodic jobs on APScheduler, for the headless worker
(engine/runtime/worker.py) and the console's engine thread (engine/runtime/runner.py) alike.

    verify-leads   [scheduler] verify_seconds     a batch of unverified leads ([verify] required)
    plan           [scheduler] plan_seconds       the planner fills the queue
    dispatch       [scheduler] dispatch_seconds   the dispatcher sends what is due
    poll-replies   [scheduler] poll_minutes       the reply inbox fetches over IMAP
    monitor        [scheduler] monitor_seconds    bounce and complaint rates; the heap trim
    heal           [scheduler] heal_seconds       the recovery pipeline
    dns-check      [scheduler] dns_check_hours    sending domains' DNS ([dns] health_checks)
    webhooks       [webhooks] interval_seconds    the outbound webhooks' outbox (receivers set)
    heartbeat      every 30 s                     this process in `worker_process` (/health)

The scheduler keeps no state of its own: the queue's truth is the database, and the jobs
are registered anew from the settings every time a process starts (APScheduler's default
in-memory job store; two processes never share one). Every job runs once as soon as the
scheduler starts, then at its interval; it coalesces missed runs, runs at most one
instance at a time, may start up to `[scheduler] misfire_grace_seconds` late, and a job
that raises is logged without stopping the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from outreach_tui.engine.engine import Engine
from outreach_tui.engine.runtime.heap import HeapTrimmer

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[object]]

#: How often a process running the jobs says it is alive (/health shows the age).
HEARTBEAT_SECONDS = 30.0


class EngineJobs:
    """The jobs, as coroutines calling the engine.

    `hooks` are extra coroutines run after a job's own work, by job: "poll" (after
    poll-replies), "monitor", "heal" and "dns" (after dns-check). The demo's sandbox adds
    the recipients' answers to "poll" (demo/world.py)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dispatch_lock = asyncio.Lock()
        self.hooks: dict[str, list[Job]] = {"poll": [], "monitor": [], "heal": [], "dns": []}
        # Long runs: the C heap's free pages go back to the system (see engine/runtime/heap.py).
        self.heap = HeapTrimmer()

    async def verify_leads(self) -> None:
        """Verify a batch of unverified leads of active campaigns (only when the planner
        waits for verification: `[verify] required`)."""
        settings = self.engine.settings
        if not settings.verify.required:
            return
        await self.engine.lead_verifier.run(limit=settings.verify.batch_size)

    async def plan(self) -> None:
        report = await asyncio.to_thread(self.engine.plan)
        if report.planned:
            log.debug("plan job: %d planned", report.planned)

    async def dispatch(self) -> None:
        # The lock lets shutdown wait for the send in flight.
        async with self.dispatch_lock:
            await self.engine.dispatch()

    async def _run_hooks(self, name: str) -> None:
        for hook in self.hooks[name]:
            await hook()

    async def poll_replies(self) -> None:
        cycle = await self.engine.poll_replies()
        if cycle.poll.applied or cycle.poll.errors:
            log.info("poll job: %d replies applied, errors: %s", cycle.poll.applied,
                     cycle.poll.errors or "none")  # fmt: skip
        await self._run_hooks("poll")

    async def monitor(self) -> None:
        await self.engine.monitor.run()
        await self._run_hooks("monitor")
        if self.heap.due():
            await asyncio.to_thread(self.heap.maybe_trim)

    async def heal(self) -> None:
        await self.engine.healer.run()
        await self._run_hooks("heal")

    async def dns_check(self) -> None:
        if self.engine.settings.dns.health_checks:
            await self.engine.dns_health.check_all()
        await self._run_hooks("dns")

    async def webhooks(self) -> None:
        """Mark campaigns whose every lead reached a final state finished, then queue new
        events for the outbound webhooks and deliver what is due (engine/runtime/outbox.py;
        no deliveries when no receiver is configured)."""
        await asyncio.to_thread(self.engine.campaigns.refresh_finished)
        await self.engine.automation.run_outbox()

    async def heartbeat(self) -> None:
        await asyncio.to_thread(self.engine.automation.heartbeat)

    def all(self) -> dict[str, tuple[Job, float]]:
        """Job id → (coroutine function, interval in seconds)."""
        s = self.engine.settings.scheduler
        return {
            "verify-leads": (self.verify_leads, s.verify_seconds),
            "plan": (self.plan, s.plan_seconds),
            "dispatch": (self.dispatch, s.dispatch_seconds),
            "poll-replies": (self.poll_replies, s.poll_minutes * 60),
            "monitor": (self.monitor, s.monitor_seconds),
            "heal": (self.heal, s.heal_seconds),
            "dns-check": (self.dns_check, s.dns_check_hours * 3600),
            "webhooks": (self.webhooks, self.engine.settings.webhooks.interval_seconds),
            "heartbeat": (self.heartbeat, HEARTBEAT_SECONDS),
        }

    async def stop(self, scheduler: AsyncIOScheduler) -> None:
        """Stop `scheduler` the safe way: no new runs, the send in flight finishes (the
        dispatcher sees `stopping` after it), then shut down. Shutting down first would
        cancel a send half-way and leave its connection to the garbage collector."""
        self.engine.dispatcher.stopping = True
        scheduler.pause()
        async with self.dispatch_lock:
            pass
        scheduler.shutdown(wait=False)
        await asyncio.to_thread(self.engine.automation.leave)
        # Alerts still being delivered run on this loop: let them finish before it closes.
        await self.engine.alerts.drain()

    async def run_once(self) -> None:
        """Every job one time, in pipeline order (`worker --once`)."""
        for job, _ in self.all().values():
            await job()


def build_scheduler(jobs: EngineJobs, *, start_now: bool = True) -> AsyncIOScheduler:
    """A scheduler with every job registered; call `.start()` inside the running loop.

    `start_now`: every job's first run is at the start; False adds them paused (no next run
    time, as APScheduler takes it) until resumed."""
    grace = jobs.engine.settings.scheduler.misfire_grace_seconds
    scheduler = AsyncIOScheduler(timezone=UTC)
    now = datetime.now(UTC)
    for job_id, (func, seconds) in jobs.all().items():
        scheduler.add_job(
            _logged(job_id, func),
            IntervalTrigger(seconds=seconds, timezone=UTC),
            id=job_id,
            name=job_id,
            misfire_grace_time=grace,
            coalesce=True,
            max_instances=1,
            next_run_time=now if start_now else None,
            replace_existing=True,
        )
    return scheduler


def _logged(job_id: str, func: Job) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        try:
            await func()
        except Exception:  # a failing job must not stop the scheduler; the log keeps it
            log.exception("job %s failed", job_id)

    run.__name__ = f"job_{job_id.replace('-', '_')}"
    return run
