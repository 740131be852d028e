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

Measured: event-loop lag (a 20 ms timer's overshoot, all run long, kept as a fixed-size
histogram so the bench's own figures do not grow with the run), RSS (sampled; the growth
from the first to the last tenth, after a warm-up tenth, and where it goes: anonymous and
file pages, Python's arenas, SQLite's own memory, glibc malloc's in-use and free-but-kept
bytes), "database is locked" (raised anywhere, or in the log), sends.

    python -m bench.soak                 # 60 minutes (not in CI, not in run_all)
    python -m bench.soak --minutes 5
    python -m bench.soak --minutes 8 --trace-memory   # where does the memory go?

`--trace-memory` runs tracemalloc (10 frames; ~20 times slower, so far fewer simulated days,
and the snapshots stall the loop, so its lag figures mean nothing) and prints, between the
snapshot after the warm-up tenth and the end: the allocation sites (grouped by traceback)
that grew most, the object types whose count grew most (gc), and the Python heap's growth
next to RSS's: heap growth that matches RSS growth is ours to find in those sites; RSS
growth without it is native (SQLite's caches, malloc fragmentation: see the breakdown).
"""

from __future__ import annotations

import _sqlite3
import argparse
import asyncio
import contextlib
import ctypes
import gc
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
from sqlalchemy.exc import OperationalError

from bench.common import result_line, workdir
from outreach_tui.demo.world import build_sandbox
from outreach_tui.engine.clock import SimulatedClock
from outreach_tui.engine.leads.ingest import ingest_leads
from outreach_tui.engine.runtime.scheduler import EngineJobs
from outreach_tui.logsetup import configure_logging

START = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # a Monday morning
LAG_TIMER = 0.02
LOCKED = "database is locked"
REPORT_EVERY = 30.0  # seconds between progress lines


class LagHistogram:
    """Event-loop lags in 0.1 ms buckets up to 2 s (the last bucket takes the rest): an hour
    of a 20 ms timer is ~180,000 samples, which as a list of floats grew the process it
    measures by ~6 MB."""

    BUCKET_MS = 0.1
    BUCKETS = 20_000

    def __init__(self) -> None:
        self.counts = [0] * self.BUCKETS
        self.count = 0
        self.max_ms = 0.0

    def add(self, lag_seconds: float) -> None:
        ms = max(0.0, lag_seconds * 1000)
        self.counts[min(int(ms / self.BUCKET_MS), self.BUCKETS - 1)] += 1
        self.count += 1
        self.max_ms = max(self.max_ms, ms)

    def percentile(self, fraction: float) -> float:
        """The upper edge of the bucket holding the `fraction` quantile, in ms."""
        rank = fraction * max(0, self.count - 1)
        seen = 0
        for index, n in enumerate(self.counts):
            seen += n
            if seen > rank:
                return min(self.max_ms, (index + 1) * self.BUCKET_MS)
        return self.max_ms


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]  # fmt: skip


def native_memory() -> dict[str, float]:
    """Where RSS goes, in MB: anonymous / file-backed / shared pages (/proc), Python's small
    object allocator (arenas and the blocks in use in them), SQLite's own allocations (all
    connections: page caches, schemas, prepared statements) and glibc malloc's in-use and
    free-but-kept bytes (the latter is fragmentation that RSS still counts). Keys missing
    where unavailable."""
    figures: dict[str, float] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("RssAnon", "RssFile", "RssShmem"):
                figures[key] = int(value.split()[0]) / 1024
    figures.update(_obmalloc())
    with contextlib.suppress(OSError, AttributeError):
        used = ctypes.CDLL(_sqlite3.__file__).sqlite3_memory_used
        used.restype = ctypes.c_int64
        figures["sqlite"] = used() / 2**20
    with contextlib.suppress(OSError, AttributeError):
        mallinfo2 = ctypes.CDLL("libc.so.6").mallinfo2
        mallinfo2.restype = _MallInfo2
        info = mallinfo2()
        figures["malloc in use"] = (info.uordblks + info.hblkhd) / 2**20
        figures["malloc free kept"] = info.fordblks / 2**20
    return figures


def _obmalloc() -> dict[str, float]:
    """Python's small-object arenas, from `sys._debugmallocstats()` (it writes to fd 2)."""
    with tempfile.TemporaryFile() as out:
        saved = os.dup(2)
        try:
            os.dup2(out.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        text = out.read().decode(errors="replace")
    figures = {}
    for line in text.splitlines():
        if "arenas *" in line and "bytes/arena" in line:
            figures["py arenas"] = int(line.rsplit("=", 1)[1].replace(",", "")) / 2**20
        elif line.startswith("# bytes in allocated blocks"):
            figures["py blocks"] = int(line.rsplit("=", 1)[1].replace(",", "")) / 2**20
    return figures


class MemoryTrace:
    """tracemalloc snapshots after the warm-up and at the end (`--trace-memory`)."""

    FRAMES = 10
    TOP = 15

    def __init__(self) -> None:
        tracemalloc.start(self.FRAMES)
        self.first: tracemalloc.Snapshot | None = None
        self.first_types: Counter[str] = Counter()

    @staticmethod
    def _snapshot() -> tracemalloc.Snapshot:
        gc.collect()
        return tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__)]
        )

    @staticmethod
    def _types() -> Counter[str]:
        return Counter(type(o).__qualname__ for o in gc.get_objects())

    def warm(self) -> None:
        self.first = self._snapshot()
        self.first_types = self._types()

    def report(self) -> None:
        if self.first is None:
            print("trace-memory: the run ended before the warm-up snapshot")
            return
        last = self._snapshot()
        types = self._types()
        stats = last.compare_to(self.first, "traceback")
        grown = sum(stat.size_diff for stat in stats)
        print(f"\ntrace-memory: Python heap traced {grown / 2**20:+.2f} MB between the "
              f"warm-up snapshot and the end; top {self.TOP} growing sites:")  # fmt: skip
        for stat in sorted(stats, key=lambda s: s.size_diff, reverse=True)[: self.TOP]:
            print(f"  {stat.size_diff / 2**10:+10.1f} KiB  {stat.count_diff:+8d} blocks "
                  f"(now {stat.size / 2**10:.1f} KiB)")  # fmt: skip
            for line in stat.traceback.format(limit=self.FRAMES, most_recent_first=True):
                print(f"      {line}")
        print("trace-memory: object types whose count grew most (gc.get_objects):")
        diff = Counter({k: types[k] - self.first_types.get(k, 0) for k in types})
        for name, delta in diff.most_common(self.TOP):
            if delta > 0:
                print(f"  {delta:+9d}  {name} (now {types[name]})")


class Figures:
    def __init__(self) -> None:
        self.lags = LagHistogram()
        self.rss: list[tuple[float, float]] = []  # (seconds since start, MB)
        self.traced: list[float] = []  # Python heap MB (tracemalloc), with each RSS sample
        self.native: list[dict[str, float]] = []  # native_memory(), with each RSS sample
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
        figures.lags.add(loop.time() - before - LAG_TIMER)


async def rss_sampler(figures: Figures, stop: asyncio.Event, every: float, t0: float) -> None:
    process = psutil.Process()
    while not stop.is_set():
        figures.rss.append((time.monotonic() - t0, process.memory_info().rss / 2**20))
        figures.native.append(native_memory())
        if tracemalloc.is_tracing():
            figures.traced.append(tracemalloc.get_traced_memory()[0] / 2**20)
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
               sample_every: float, trace: MemoryTrace | None = None) -> Figures:  # fmt: skip
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
    warmed_at = t0 + minutes * 6  # the warm-up tenth, as in rss_growth
    next_report = t0 + REPORT_EVERY
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
            if trace is not None and trace.first is None and time.monotonic() >= warmed_at:
                trace.warm()
            clock.advance(minutes=sim_step)
            if clock.now().date() != day:
                day = clock.now().date()
                rows = new_leads(figures.rounds, leads_per_day)
                half = len(rows) // 2
                for campaign, part in (("Guest posts Q1", rows[:half]),
                                       ("Partnerships", rows[half:])):  # fmt: skip
                    report = await asyncio.to_thread(
                        ingest_leads, engine.ctx.db, part, clock=clock,
                        operator_id=engine.operator_id, campaign=campaign, source="soak",
                    )  # fmt: skip
                    figures.imported += report.imported
                # ... and approves the manual campaign's queue, as in the morning review.
                pending = await asyncio.to_thread(engine.approvals.pending_ids)
                figures.approved += await asyncio.to_thread(engine.approvals.approve, pending)
            if time.monotonic() >= next_report:
                next_report += REPORT_EVERY
                elapsed = time.monotonic() - t0
                cache = engine.db._compiled_cache
                print(f"{elapsed / 60:5.1f} min: {figures.rounds} rounds, simulated "
                      f"{clock.now():%Y-%m-%d %H:%M}, sent {figures.sent}, "
                      f"RSS {figures.rss[-1][1]:.0f} MB, locked {figures.locked}, "
                      f"SQLAlchemy statement cache {len(cache or ())}, "
                      f"pool {engine.db.pool.status()}", flush=True)  # fmt: skip
                breakdown = figures.native[-1] if figures.native else {}
                print("        " + ", ".join(f"{k} {v:.1f}" for k, v in breakdown.items()))
        if trace is not None:
            trace.report()
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


def rss_growth(values: list[float]) -> tuple[float, float, float]:
    """(first tenth's median MB, last tenth's median MB, growth %), after a warm-up tenth."""
    tenth = max(1, len(values) // 10)
    first = statistics.median(values[tenth : 2 * tenth])
    last = statistics.median(values[-tenth:])
    return first, last, 100 * (last - first) / first if first else 0.0


def by_tenth(samples: list[tuple[float, float]]) -> list[float]:
    """The median RSS of each tenth of the run: a steady slope shows as a staircase."""
    tenth = max(1, len(samples) // 10)
    return [statistics.median(mb for _, mb in samples[i : i + tenth])
            for i in range(0, tenth * 10, tenth) if samples[i : i + tenth]]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="wall-clock minutes")
    parser.add_argument("--sim-step", type=float, default=10.0,
                        help="simulated minutes per round of jobs")  # fmt: skip
    parser.add_argument("--leads-per-day", type=int, default=300)
    parser.add_argument("--sample-seconds", type=float, default=5.0)
    parser.add_argument("--trace-memory", action="store_true",
                        help="tracemalloc: the allocation sites that grow (slow)")  # fmt: skip
    args = parser.parse_args()
    trace = MemoryTrace() if args.trace_memory else None
    with workdir() as tmp:
        run = soak(Path(tmp), args.minutes, args.sim_step, args.leads_per_day,
                   args.sample_seconds, trace)  # fmt: skip
        figures = asyncio.run(run)
    lags = figures.lags
    p50, p99 = lags.percentile(0.5), lags.percentile(0.99)
    first, last, growth = rss_growth([mb for _, mb in figures.rss])
    simulated = timedelta(minutes=args.sim_step * figures.rounds)
    print(f"wall {args.minutes:g} min, simulated {simulated.days} days "
          f"{simulated.seconds // 3600} h, {figures.rounds} rounds")  # fmt: skip
    print(f"sent {figures.sent}, leads imported {figures.imported}, approved "
          f"{figures.approved}, console reads {figures.reads}")  # fmt: skip
    print(f'"database is locked": {figures.locked}; other errors: {len(figures.errors)}')
    for error in figures.errors[:10]:
        print(f"  {error}")
    print(f"event-loop lag: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {lags.max_ms:.0f} ms "
          f"({lags.count} samples)")  # fmt: skip
    print(f"RSS: {first:.0f} MB -> {last:.0f} MB ({growth:+.1f} %), peak "
          f"{max(mb for _, mb in figures.rss):.0f} MB ({len(figures.rss)} samples)")  # fmt: skip
    print("RSS by tenth (MB): " + " ".join(f"{mb:.0f}" for mb in by_tenth(figures.rss)))
    if figures.traced:
        heap_first, heap_last, _ = rss_growth(figures.traced)
        print(f"Python heap (tracemalloc): {heap_first:.1f} MB -> {heap_last:.1f} MB "
              f"({heap_last - heap_first:+.1f} MB; RSS {last - first:+.1f} MB; tracemalloc's "
              f"own {tracemalloc.get_tracemalloc_memory() / 2**20:.0f} MB)")  # fmt: skip
    print("where RSS goes (MB, first tenth after the warm-up -> last tenth):")
    for key in figures.native[0] if figures.native else ():
        a, b, _ = rss_growth([sample.get(key, 0.0) for sample in figures.native])
        print(f"  {key}: {a:.1f} -> {b:.1f} ({b - a:+.1f})")
    print(result_line("soak_database_locked", figures.locked, 0, 0))
    print(result_line("soak_loop_lag_p99_ms", p99, 0, 50))
    print(result_line("soak_rss_growth_pct", growth, 0, 10))
    print(result_line("soak_sends_per_min", figures.sent / args.minutes, 0, 0))


if __name__ == "__main__":
    main()
