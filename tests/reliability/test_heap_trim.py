"""Memory of a long run: the C heap's free pages go back to the system (engine/runtime/heap.py).

The soak (bench/soak.py) found the worker's resident size creeping up while the Python
heap, SQLite's memory and the statement caches stayed flat: glibc kept what the database
threads had freed. These tests pin the remedy on the platform we ship on (Linux, glibc):
that a trim really returns a thread's freed heap, and that the monitor job asks for one at
most once per interval however often it runs.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from outreach_tui.engine.clock import SimulatedClock
from outreach_tui.engine.runtime.heap import HeapTrimmer, trim_heap
from outreach_tui.engine.runtime.scheduler import EngineJobs
from tests.functional.helpers import PASSWORD, PASSWORD_ENV, START, make_engine

BLOCK = 4096  # above Python's small-object limit: each one comes from malloc
BLOCKS = 16_384  # 64 MiB
KEEP_EVERY = 64  # what stays allocated pins the heap: nothing is freed from its top


def rss_anon_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no RssAnon in /proc/self/status")


def test_a_trim_returns_the_heap_a_thread_freed():
    kept: list[bytes] = []

    def churn() -> None:
        blocks = [bytes([i % 251]) * BLOCK for i in range(BLOCKS)]
        kept.extend(blocks[::KEEP_EVERY])

    worker = threading.Thread(target=churn)  # a thread's own arena, as for the database work
    worker.start()
    worker.join()
    before = rss_anon_mb()

    assert trim_heap() is True
    freed = before - rss_anon_mb()

    assert len(kept) == BLOCKS // KEEP_EVERY
    assert freed > 32, f"the trim gave back {freed:.1f} MB of ~63 MB freed"


def test_the_trimmer_trims_at_most_once_per_interval():
    now = [0.0]
    trims: list[float] = []
    trimmer = HeapTrimmer(60, monotonic=lambda: now[0], trim=lambda: trims.append(now[0]) or True)

    for step in range(0, 200, 5):  # asked every 5 s for 200 s
        now[0] = float(step)
        trimmer.maybe_trim()

    assert trims == [60.0, 120.0, 180.0]
    assert trimmer.trims == 3


@pytest.fixture
def engine(tmp_path, smtp_server, pki, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    engine = make_engine(tmp_path, smtp_server(), pki, SimulatedClock(START))
    yield engine
    asyncio.run(engine.aclose())


def test_the_monitor_job_trims_the_heap_once_a_minute(engine):
    now = [0.0]
    trims: list[float] = []
    jobs = EngineJobs(engine)
    jobs.heap = HeapTrimmer(monotonic=lambda: now[0], trim=lambda: trims.append(now[0]) or True)

    async def run() -> None:
        for second in (1, 30, 59, 61, 90, 119, 125):
            now[0] = float(second)
            await jobs.monitor()

    asyncio.run(run())
    assert trims == [61.0, 125.0]
