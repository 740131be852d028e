"""The headless worker: the engine's jobs without a console.

    forever      the scheduler runs every job at its interval until SIGTERM/SIGINT
    once         every job runs one time, then exit (cron)
    until_idle   plan + dispatch repeat until nothing is due now, then exit (tests, cron)

SIGTERM lets the send in flight finish (the dispatcher stops before the next one), releases
this process's leases and exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Literal

from outreach_tui.engine.engine import Engine
from outreach_tui.engine.scheduler import EngineJobs, build_scheduler

log = logging.getLogger(__name__)

Mode = Literal["forever", "once", "until_idle"]

#: Guards `until_idle` against a loop that never settles (a bug must not spin forever).
MAX_IDLE_ROUNDS = 100_000


async def run_until_idle(engine: Engine, *, max_rounds: int = MAX_IDLE_ROUNDS) -> int:
    """Plan and dispatch until a round neither queues, sends nor reschedules anything."""
    sent = 0
    for _ in range(max_rounds):
        if engine.dispatcher.stopping:
            break
        planned = (await asyncio.to_thread(engine.plan)).planned
        report = await engine.dispatch()
        sent += report.sent
        if not planned and not report.attempted and not report.rescheduled:
            break
    return sent


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
