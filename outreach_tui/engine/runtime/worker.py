"""The headless worker: the engine's jobs without a console.

    forever      the scheduler runs every job at its interval until SIGTERM/SIGINT
    once         every job runs one time, then exit (cron)
    until_idle   plan + dispatch repeat until nothing is due now, then exit (tests, cron)

SIGTERM lets the send in flight finish (the dispatcher stops before the next one), releases
this process's leases and exits 0.

On PostgreSQL several workers share one pool of mailboxes: each registers in
`worker_process` (host, pid, heartbeat, at every dispatcher tick), holds a fair share of the
mailboxes with work under leases, and takes over a dead worker's mailboxes when their
leases expire (engine/sending/dispatcher.py, engine/sending/leases.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Literal

from outreach_tui.db.repos.enrollments import step_due
from outreach_tui.db.repos.leases import due_attempt_held_elsewhere
from outreach_tui.engine.engine import Engine
from outreach_tui.engine.runtime.scheduler import EngineJobs, build_scheduler

log = logging.getLogger(__name__)

Mode = Literal["forever", "once", "until_idle"]

#: Guards `until_idle` against a loop that never settles (a bug must not spin forever).
MAX_IDLE_ROUNDS = 100_000


async def run_until_idle(engine: Engine, *, max_rounds: int = MAX_IDLE_ROUNDS) -> int:
    """Plan and dispatch until a round neither queues, sends nor reschedules anything.

    On a shared database (PostgreSQL, several workers) a round in which this worker did
    nothing is not the end while work that is due waits on another process: mailboxes a
    live peer holds (it may die; its mailboxes come here when the lease expires), mailboxes
    ready to send that this worker left to its peers as their fair share (a peer that has
    just exited no longer counts at the next look, and they come here), or steps to plan
    while the planner's lease is another's. The worker waits a dispatch interval and looks
    again."""
    sent = 0
    pause = min(1.0, engine.settings.scheduler.dispatch_seconds)
    for _ in range(max_rounds):
        if engine.dispatcher.stopping:
            break
        plan = await asyncio.to_thread(engine.plan)
        report = await engine.dispatch()
        sent += report.sent
        if plan.planned or report.attempted or report.rescheduled or report.cut_short:
            continue
        if engine.dispatcher.shared and (
            report.mailboxes_left_to_peers
            or await asyncio.to_thread(work_waits_elsewhere, engine, plan.skipped_lease)
        ):
            await asyncio.sleep(pause)
            continue
        break
    return sent


def work_waits_elsewhere(engine: Engine, planner_elsewhere: bool) -> bool:
    """Due work another process holds: an approved, due attempt of a mailbox leased by a
    live peer, or (when the planner's lease is another's) an enrollment whose step is due."""
    now = engine.clock.now()
    with engine.ctx.db.read() as conn:
        if due_attempt_held_elsewhere(conn, engine.holder, now):
            return True
        return planner_elsewhere and step_due(conn, now)


async def run_worker(engine: Engine, mode: Mode) -> int:
    """Run the worker in `mode`; returns the process exit code."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def request_stop(signame: str) -> None:
        if not stop.is_set():
            log.info("%s received: finishing the send in flight, then stopping", signame)
        engine.dispatcher.stopping = True
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, request_stop, sig.name)
    jobs = EngineJobs(engine)
    try:
        if mode == "once":
            await jobs.run_once()
        elif mode == "until_idle":
            await jobs.verify_leads()  # one batch: leads waiting for it can be planned
            sent = await run_until_idle(engine)
            log.info("worker idle after %d sends", sent)
        else:
            scheduler = build_scheduler(jobs)
            scheduler.start()
            log.info("worker running as %s (operator %s)", engine.holder, engine.operator_id)
            await stop.wait()
            await jobs.stop(scheduler)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        await engine.aclose()
    log.info("worker stopped")
    return 0
