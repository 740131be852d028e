"""Soak: the demo world at full speed for an hour: no "database is locked", memory flat,
event-loop lag p99 under 50 ms.

The sandbox of `outreach-tui demo` (its SMTP sink with STARTTLS and AUTH, its recipients who
reply, bounce, complain and unsubscribe) runs on a simulated clock that moves SIM_STEP
minutes per round, so an hour of wall time is weeks of outreach: the engine's jobs (plan,
dispatch, replies, monitor, healer) run back to back on one event loop, as in the worker,
with no pacing gap, while a second thread reads what the console shows (dashboard,
mailboxes, leads, audit) every 200 ms. Every simulated day an operator imports a few
hundred new leads, so the campaigns never run dry, and approves the manual campaign's queue
(unapproved attempts hold their mailbox's room for the day).

Measured: event-loop lag (a 20 ms timer's overshoot, all run long), RSS (sampled; the
growth from the first to the last tenth, after a warm-up tenth), "database is locked"
(raised anywhere, or in the log), sends.

    python -m bench.soak                 # 60 minutes (not in CI, not in run_all)
    python -m bench.soak --minutes 5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
from sqlalchemy.exc import OperationalError

from bench.common import result_line, workdir
from outreach_tui.demo.world import build_sandbox
from outreach_tui.engine.clock import SimulatedClock
from outreach_tui.engine.leads import ingest_leads
from outreach_tui.engine.scheduler import EngineJobs
from outreach_tui.logsetup import configure_logging

START = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # a Monday morning
LAG_TIMER = 0.02
LOCKED = "database is locked"


class Figures:
    def __init__(self) -> None:
        self.lags: list[float] = []
        self.rss: list[tuple[float, float]] = []  # (seconds since start, MB)
        self.locked = 0
        self.errors: list[str] = []
        self.reads = 0
        self.rounds = 0
        self.sent = 0
        self.imported = 0
        self.approved = 0

    def failed(self, where: str, exc: BaseException) -> None:
        if LOCKED in str(exc):
            self.locked += 1
        else:
            self.errors.append(f"{where}: {type(exc).__name__}: {exc}")


def console_reader(engine, figures: Figures, stop: threading.Event) -> None:
    """What the console's panes read while the engine writes (their own thread, as the
    console's workers do)."""
    queries = engine.queries
    while not stop.is_set():
        try:
            queries.dashboard()
            queries.mailboxes()
            queries.leads(limit=200)
            queries.audit()
            figures.reads += 1
        except (OperationalError, sqlite3.OperationalError) as exc:
            figures.failed("console read", exc)
        stop.wait(0.2)


async def lag_probe(figures: Figures, stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        before = loop.time()
        await asyncio.sleep(LAG_TIMER)
        figures.lags.append(loop.time() - before - LAG_TIMER)


async def rss_sampler(figures: Figures, stop: asyncio.Event, every: float, t0: float) -> None:
    process = psutil.Process()
    while not stop.is_set():
        figures.rss.append((time.monotonic() - t0, process.memory_info().rss / 2**20))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


def new_leads(day: int, count: int) -> list[tuple[str, dict[str, str]]]:
    return [
        (
            f"import-day{day}:{i + 2}",
            {
                "email": f"p{day}x{i}@prospect{(day * count + i) % 997}.com",
                "first_name": f"Pat{i}",
                "company": f"Prospect {i}",
            },
        )
        for i in range(count)
    ]


async def soak(directory: Path, minutes: float, sim_step: float, leads_per_day: int,
               sample_every: float) -> Figures:  # fmt: skip
    figures = Figures()
    clock = SimulatedClock(START)
    sandbox = build_sandbox(
        directory,
        clock=clock,
        sending={"min_gap_seconds": 0, "max_gap_seconds": 0, "default_daily_limit": 150,
                 "postal_address": "Brand News Ltd, 1 Main St, Springfield"},
    )  # fmt: skip
    engine = sandbox.engine
    configure_logging("INFO", directory / "sandbox.log")
    await sandbox.start()
    jobs = EngineJobs(engine)
    sandbox.add_jobs(jobs)
    stop = asyncio.Event()
    reader_stop = threading.Event()
    t0 = time.monotonic()
    tasks = [
        asyncio.create_task(lag_probe(figures, stop)),
        asyncio.create_task(rss_sampler(figures, stop, sample_every, t0)),
    ]
    reader = threading.Thread(target=console_reader, args=(engine, figures, reader_stop))
    reader.start()
    deadline = t0 + minutes * 60
    day = clock.now().date()
    steps = {"plan": jobs.plan, "dispatch": jobs.dispatch, "replies": jobs.poll_replies,
             "monitor": jobs.monitor, "heal": jobs.heal}  # fmt: skip
    try:
        while time.monotonic() < deadline:
            for name, job in steps.items():
                try:
                    if name == "dispatch":
                        report = await engine.dispatch()
                        figures.sent += report.sent
                    else:
                        await job()
                except (OperationalError, sqlite3.OperationalError) as exc:
                    figures.failed(name, exc)
            figures.rounds += 1
            clock.advance(minutes=sim_step)
            if clock.now().date() != day:
                day = clock.now().date()
                rows = new_leads(figures.rounds, leads_per_day)
                half = len(rows) // 2
                for campaign, part in (("Guest posts Q1", rows[:half]),
                                       ("Partnerships", rows[half:])):  # fmt: skip
                    report = await asyncio.to_thread(
                        ingest_leads, engine.db, part, clock=clock,
                        operator_id=engine.operator_id, campaign=campaign, source="soak",
                    )  # fmt: skip
                    figures.imported += report.imported
                # ... and approves the manual campaign's queue, as in the morning review.
                pending = await asyncio.to_thread(engine.approvals.pending_ids)
                figures.approved += await asyncio.to_thread(engine.approvals.approve, pending)
            if figures.rounds % 50 == 0:
                elapsed = time.monotonic() - t0
                print(f"{elapsed / 60:5.1f} min: {figures.rounds} rounds, simulated "
                      f"{clock.now():%Y-%m-%d %H:%M}, sent {figures.sent}, "
                      f"RSS {figures.rss[-1][1]:.0f} MB, locked {figures.locked}",
                      flush=True)  # fmt: skip
        phases = [(m.email, m.phase) for m in engine.queries.mailboxes()]
        print("mailboxes at the end:", ", ".join(f"{e} {p}" for e, p in phases))
        campaigns = [(c.name, c.status) for c in engine.campaigns.summaries()]
        print("campaigns at the end:", ", ".join(f"{n} {s}" for n, s in campaigns))
    finally:
        stop.set()
        reader_stop.set()
        reader.join()
        await asyncio.gather(*tasks)
        await sandbox.stop()
        await engine.aclose()
    log_text = (directory / "sandbox.log").read_text(errors="replace")
    figures.locked += log_text.count(LOCKED)
    return figures


def rss_growth(samples: list[tuple[float, float]]) -> tuple[float, float, float]:
    """(first tenth's median MB, last tenth's median MB, growth %), after a warm-up tenth."""
    values = [mb for _, mb in samples]
    tenth = max(1, len(values) // 10)
    first = statistics.median(values[tenth : 2 * tenth])
    last = statistics.median(values[-tenth:])
    return first, last, 100 * (last - first) / first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="wall-clock minutes")
    parser.add_argument("--sim-step", type=float, default=10.0,
                        help="simulated minutes per round of jobs")  # fmt: skip
    parser.add_argument("--leads-per-day", type=int, default=300)
    parser.add_argument("--sample-seconds", type=float, default=5.0)
    args = parser.parse_args()
    with workdir() as tmp:
        figures = asyncio.run(
            soak(Path(tmp), args.minutes, args.sim_step, args.leads_per_day, args.sample_seconds)
        )
    lags_ms = sorted(lag * 1000 for lag in figures.lags)
    p50 = statistics.median(lags_ms)
    p99 = lags_ms[int(0.99 * (len(lags_ms) - 1))]
    first, last, growth = rss_growth(figures.rss)
    simulated = timedelta(minutes=args.sim_step * figures.rounds)
    print(f"wall {args.minutes:g} min, simulated {simulated.days} days "
          f"{simulated.seconds // 3600} h, {figures.rounds} rounds")  # fmt: skip
    print(f"sent {figures.sent}, leads imported {figures.imported}, approved "
          f"{figures.approved}, console reads {figures.reads}")  # fmt: skip
    print(f'"database is locked": {figures.locked}; other errors: {len(figures.errors)}')
    for error in figures.errors[:10]:
        print(f"  {error}")
    print(f"event-loop lag: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {lags_ms[-1]:.0f} ms "
          f"({len(lags_ms)} samples)")  # fmt: skip
    print(f"RSS: {first:.0f} MB -> {last:.0f} MB ({growth:+.1f} %), peak "
          f"{max(mb for _, mb in figures.rss):.0f} MB ({len(figures.rss)} samples)")  # fmt: skip
    print(result_line("soak_database_locked", figures.locked, 0, 0))
    print(result_line("soak_loop_lag_p99_ms", p99, 0, 50))
    print(result_line("soak_rss_growth_pct", growth, 0, 10))
    print(result_line("soak_sends_per_min", figures.sent / args.minutes, 0, 0))


if __name__ == "__main__":
    main()
