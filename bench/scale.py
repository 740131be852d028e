"""Benchmark: sends per second with 1, 2 and 4 `outreach-tui worker` processes on one
PostgreSQL, and 1 worker on SQLite (the baseline), against one loopback SMTP sink; twice:
a sink that answers at once, and one that adds 20 ms to every reply (a real server across a
network).

Each run: a fresh database, MAILBOXES mailboxes at the sink, one campaign of MESSAGES leads
planned beforehand, then the workers (`worker --until-idle`, separate processes) send it
all. The rate is sent / (last sent_at - first sent_at): process start-up and the idle tail
are not counted. Each configuration runs ROUNDS times, interleaved; medians are reported.

Targets: 20 ms sink, 4 workers >= 3x one worker; instant sink, 2 workers >= 1.6x one
worker (this machine has 2 cores). PostgreSQL runs on the same machine, with fsync off (as
in the tests: the figures measure the engine, not the disk).

Each run also prints the cores its processes kept busy in the measured window (workers,
PostgreSQL, the sink, and the whole machine, other jobs included) and the CPU a send cost;
a missed target is explained from those: at one worker's CPU cost per send, the machine's
cores allow at most so many sends a second.

    python -m bench.scale                      # 2,000 messages, 64 mailboxes, 2 rounds
    python -m bench.scale --db-connections 1   # each worker's write transactions at once
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.common import ROOT, peak_rss_mb, result_line, sink_process, workdir

BOX_PASSWORD_ENV = "BENCH_SMTP_PASSWORD"
WINDOW = """
[window]
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
start = "00:00"
end = "24:00"
"""


def config_text(url: str, sink, mailboxes: int, log: Path, db_connections: int = 2) -> str:
    boxes = "".join(
        f"""
[[mailboxes]]
email = "box{i}@sender{i}.com"
smtp_host = "{sink.host}"
smtp_port = {sink.port}
smtp_password = "env:{BOX_PASSWORD_ENV}"
daily_limit = 100000
"""
        for i in range(mailboxes)
    )
    return f"""
database_url = "{url}"
smtp_send_timeout = 60
[operator]
id = "bench"
[policy]
daily_user_cap = 10000000
daily_domain_cap = 10000000
[sending]
min_gap_seconds = 0
max_gap_seconds = 0
[scheduler]
plan_seconds = 5
dispatch_seconds = 0.05
lease_seconds = 10
dispatch_batch = 2000
plan_batch = 20000
db_connections = {db_connections}
[verify]
required = false
[tls]
ca_file = "{sink.ca_file}"
[logging]
level = "WARNING"
file = "{log}"
{boxes}
"""


def prepare(config: Path, tmp: Path, messages: int) -> None:
    """Campaign, leads and every step planned, before any worker starts."""
    from outreach_tui.config import load_settings
    from outreach_tui.engine import build_engine
    from outreach_tui.engine.clock import SystemClock
    from outreach_tui.engine.leads.ingest import import_leads_csv
    from outreach_tui.engine.sending.campaigns import load_campaign_file

    campaign = tmp / "campaign.toml"
    campaign.write_text(
        'name = "Bench"\ntimezone = "UTC"\n' + WINDOW
        + '[[steps]]\nsubject = "Question {{email}}"\nbody = "Hello,\\n\\nA short note.\\n"\n'
    )  # fmt: skip
    leads = tmp / "leads.csv"
    leads.write_text("email\n" + "".join(f"l{i}@co{i % 997}.com\n" for i in range(messages)))
    engine = build_engine(load_settings(config), headless=True, clock=SystemClock())
    try:
        engine.campaigns.create(load_campaign_file(campaign))
        import_leads_csv(
            engine.ctx.db, leads, clock=engine.clock, operator_id=engine.operator_id,
            campaign="Bench",
        )  # fmt: skip
        while engine.plan().planned:
            pass
    finally:
        engine.close_sync()


class CpuSampler:
    """CPU seconds each group of processes (workers, PostgreSQL, the sink) used in a window
    of wall time known only afterwards (the first and last send, read from the ledger).

    Every process's cumulative CPU is sampled with the wall time every SAMPLE_SECONDS; a
    process that exits (a PostgreSQL backend when its worker disconnects) keeps its last
    sample, so its CPU stays counted."""

    SAMPLE_SECONDS = 0.05

    def __init__(self, groups: Callable[[], dict[str, list[psutil.Process]]]) -> None:
        self._groups = groups
        self._samples: dict[tuple[str, int], tuple[list[float], list[float]]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> CpuSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            machine = psutil.cpu_times()  # every process, ours or not (other jobs' load)
            walls, cpus = self._samples.setdefault(("machine", 0), ([], []))
            walls.append(time.time())
            cpus.append(machine.user + machine.system + machine.nice + machine.irq
                        + machine.softirq)  # fmt: skip
            for name, procs in self._groups().items():
                for proc in procs:
                    try:
                        times = proc.cpu_times()
                    except psutil.Error:
                        continue
                    walls, cpus = self._samples.setdefault((name, proc.pid), ([], []))
                    walls.append(time.time())
                    cpus.append(times.user + times.system)
            self._stop.wait(self.SAMPLE_SECONDS)

    def used(self, start: float, end: float) -> dict[str, float]:
        """CPU seconds per group between two wall times (time.time())."""
        totals: dict[str, float] = {}
        for (name, _pid), (walls, cpus) in self._samples.items():
            used = _cpu_at(walls, cpus, end) - _cpu_at(walls, cpus, start)
            totals[name] = totals.get(name, 0.0) + used
        return totals


def _cpu_at(walls: list[float], cpus: list[float], moment: float) -> float:
    """A process's cumulative CPU at `moment`: its last sample before (0 before the first)."""
    i = bisect.bisect_right(walls, moment)
    return cpus[i - 1] if i else 0.0


class LockSampler:
    """PostgreSQL's view of the run, every SAMPLE_SECONDS: how many of the workers'
    connections wait for a lock, how many of those for a cap lock (an advisory lock:
    db/ledger.py lock_scopes; the others wait for a row, mostly the operator's daily
    counter), and how many sit "idle in transaction" (the database waits for the worker's
    next statement)."""

    SAMPLE_SECONDS = 0.02
    QUERY = (
        "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'),"
        " count(*) FILTER (WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'),"
        " count(*) FILTER (WHERE state = 'idle in transaction')"
        " FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._samples: list[tuple[float, int, int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> LockSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(self._dsn, autocommit=True) as conn:
            while not self._stop.is_set():
                waiting, on_caps, idle = conn.execute(self.QUERY).fetchone() or (0, 0, 0)
                self._samples.append((time.time(), waiting, on_caps, idle))
                self._stop.wait(self.SAMPLE_SECONDS)

    def means(self, start: float, end: float) -> tuple[float, float, float]:
        """(connections waiting for a lock, for a cap lock, idle in transaction), averaged
        over a window."""
        inside = [row[1:] for row in self._samples if start <= row[0] <= end] or [(0, 0, 0)]
        waiting, on_caps, idle = (sum(column) / len(inside) for column in zip(*inside, strict=True))
        return waiting, on_caps, idle


def process_tree(pid: int | None) -> list[psutil.Process]:
    if pid is None:
        return []
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


@dataclass
class Run:
    rate: float  # sends per second, first send to last
    seconds: float
    cpu: dict[str, float]  # CPU seconds per group in that window
    lock_waiting: float = 0.0  # PostgreSQL: connections waiting for a lock, on average
    cap_lock_waiting: float = 0.0  # ... of them for a cap (advisory) lock
    idle_in_transaction: float = 0.0  # ... and waiting for their worker's next statement

    def cores(self, group: str | None = None) -> float:
        """Cores kept busy during the window: by `group`, by all our processes (None)."""
        if group is not None:
            return self.cpu.get(group, 0.0) / self.seconds
        return sum(v for k, v in self.cpu.items() if k != "machine") / self.seconds

    def ms_per_send(self, group: str | None = None) -> float:
        """CPU milliseconds a send cost: in `group`, in all our processes (None)."""
        return self.cores(group) / self.rate * 1000

    def describe(self) -> str:
        busy = ", ".join(
            f"{group} {self.cores(group):.2f}"
            for group in ("workers", "postgresql", "sink", "machine")
        )
        text = (
            f"{self.rate:.0f} sends/s; cores busy: {busy}; {self.ms_per_send():.2f} ms CPU a send"
        )
        if self.cpu.get("postgresql"):
            text += (f"; connections waiting for a lock {self.lock_waiting:.2f} (a cap "
                     f"lock {self.cap_lock_waiting:.2f}), idle in transaction "
                     f"{self.idle_in_transaction:.2f}")  # fmt: skip
        return text


def measure(url: str) -> tuple[int, float, float]:
    """(sent, wall time of the first send, of the last) read from the ledger."""
    from sqlalchemy import func, select

    from outreach_tui.db import tables as t
    from outreach_tui.db.session import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            sent, first, last = conn.execute(
                select(func.count(), func.min(t.attempt.c.sent_at), func.max(t.attempt.c.sent_at))
                .where(t.attempt.c.state == "sent")
            ).one()  # fmt: skip
    finally:
        engine.dispose()
    return int(sent), first.timestamp(), max(last.timestamp(), first.timestamp() + 1e-6)


def run_once(backend: str, workers: int, sink, messages: int, mailboxes: int, tmp: Path,
             pg, db_connections: int = 2) -> Run:  # fmt: skip
    """Sends per second of one run, and the CPU its processes used meanwhile."""
    tag = f"{backend}-{workers}-{time.monotonic_ns()}"
    run_dir = tmp / tag
    run_dir.mkdir()
    if backend == "sqlite":
        url = f"sqlite:///{run_dir / 'bench.db'}"
    else:
        url = pg.create_database(f"b_{tag.replace('-', '_')}")
    config = run_dir / "config.toml"
    config.write_text(config_text(url, sink, mailboxes, run_dir / "worker.log", db_connections))
    prepare(config, run_dir, messages)
    env = {**os.environ, BOX_PASSWORD_ENV: "bench-password"}
    procs: list[subprocess.Popen[bytes]] = []

    def groups() -> dict[str, list[psutil.Process]]:
        return {
            "workers": [p for proc in procs for p in process_tree(proc.pid)],
            "postgresql": process_tree(pg.pid) if backend == "postgresql" else [],
            "sink": process_tree(sink.pid),
        }

    locks = LockSampler(pg.dsn(url.rsplit("/", 1)[1])) if backend == "postgresql" else None
    with CpuSampler(groups) as sampler, locks or contextlib.nullcontext():
        start_workers(procs, workers, config, env, run_dir, backend)
    sent, first, last = measure(url)
    if sent != messages:
        raise RuntimeError(f"{backend} x{workers}: {sent} of {messages} sent")
    waiting, on_caps, idle = locks.means(first, last) if locks is not None else (0.0, 0.0, 0.0)
    return Run(
        sent / (last - first), last - first, sampler.used(first, last), waiting, on_caps, idle
    )


def start_workers(procs: list[subprocess.Popen[bytes]], workers: int, config: Path,
                  env: dict[str, str], run_dir: Path, backend: str) -> None:  # fmt: skip
    """Start `workers` worker processes (into `procs`, which the sampler reads) and wait
    for every one to finish."""
    for n in range(workers):
        with (run_dir / f"worker{n}.err").open("wb") as err:
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "outreach_tui",
                        "--config",
                        str(config),
                        "worker",
                        "--until-idle",
                    ],
                    env=env,
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                )
            )
    for n, proc in enumerate(procs):
        if proc.wait(timeout=600) != 0:
            tail = (run_dir / f"worker{n}.err").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{backend} x{workers}: worker {n} failed:\n{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--mailboxes", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--db-connections", type=int, default=2,
        help="[scheduler] db_connections of every worker (default: the configuration's 2)",
    )  # fmt: skip
    args = parser.parse_args()
    from tests.servers.postgres import PostgresServer

    configs = [("sqlite", 1), ("postgresql", 1), ("postgresql", 2), ("postgresql", 4)]
    figures: dict[int, dict[tuple[str, int], Run]] = {}
    with workdir() as tmp_name, PostgresServer() as pg:
        tmp = Path(tmp_name)
        for delay in (0, 20):
            runs: dict[tuple[str, int], list[Run]] = {c: [] for c in configs}
            with sink_process(tmp, reply_delay_ms=delay) as sink:
                for round_no in range(args.rounds):
                    for backend, workers in configs:
                        run = run_once(backend, workers, sink, args.messages, args.mailboxes,
                                       tmp, pg, args.db_connections)  # fmt: skip
                        runs[(backend, workers)].append(run)
                        print(f"sink +{delay} ms, round {round_no + 1}: {backend} x{workers} "
                              f"{run.describe()}", flush=True)  # fmt: skip
            figures[delay] = {c: median_run(v) for c, v in runs.items()}

    cores = os.cpu_count() or 1
    children_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"messages={args.messages} mailboxes={args.mailboxes} rounds={args.rounds} "
          f"db_connections={args.db_connections} cores={cores}")  # fmt: skip
    for delay, f in figures.items():
        one = f[("postgresql", 1)].rate
        pg_rates = ", ".join(
            f"x{w} {f[('postgresql', w)].rate:.0f}/s ({f[('postgresql', w)].rate / one:.2f}x)"
            for w in (1, 2, 4)
        )
        print(f"sink +{delay} ms (medians): sqlite x1 {f[('sqlite', 1)].rate:.0f}/s; "
              f"postgresql {pg_rates}")  # fmt: skip
    print(f"peak RSS: this process {peak_rss_mb():.0f} MB, "
          f"largest worker {children_rss:.0f} MB")  # fmt: skip

    slow, fast = figures[20], figures[0]
    ratio4 = slow[("postgresql", 4)].rate / slow[("postgresql", 1)].rate
    ratio2 = fast[("postgresql", 2)].rate / fast[("postgresql", 1)].rate
    if ratio4 < 3:
        why = cpu_limit(slow[("postgresql", 1)], slow[("postgresql", 4)], 4, cores, 3)
        print(f"LIMIT 20 ms sink: 4 workers reach {ratio4:.2f}x, not 3x. {why}")
    if ratio2 < 1.6:
        why = cpu_limit(fast[("postgresql", 1)], fast[("postgresql", 2)], 2, cores, 1.6)
        print(f"LIMIT instant sink: 2 workers reach {ratio2:.2f}x, not 1.6x. {why}")
    print(result_line("scale_pg4_vs_pg1_20ms_ratio", ratio4, 1.0, 3.0))
    print(result_line("scale_pg2_vs_pg1_instant_ratio", ratio2, 1.0, 1.6))
    for delay, f in figures.items():
        base, one = f[("sqlite", 1)].rate, f[("postgresql", 1)].rate
        targets = {1: 0.0, 2: 1.6 * one if delay == 0 else 0.0, 4: 3.0 * one if delay else 0.0}
        for w in (1, 2, 4):
            metric = f"scale_pg{w}_sends_per_s_{delay}ms"
            print(result_line(metric, f[("postgresql", w)].rate, base, targets[w]))
    print(result_line("scale_peak_rss_mb", max(peak_rss_mb(), children_rss), 0, 0))


def median_run(runs: list[Run]) -> Run:
    """The run with the median rate (its own CPU figures with it)."""
    ordered = sorted(runs, key=lambda run: run.rate)
    return ordered[(len(ordered) - 1) // 2]


def cpu_limit(one: Run, many: Run, workers: int, cores: int, target: float) -> str:
    """What limits the scaling, from what the runs measured: the CPU ceiling at one
    worker's cost per send, how busy the machine was, and how the workers' connections
    spent the run in PostgreSQL."""
    ceiling = cores / (one.ms_per_send() / 1000)
    needed = target * one.rate * many.ms_per_send() / 1000
    return (
        f"CPU: a send costs {one.ms_per_send():.2f} ms of CPU with one worker (worker "
        f"{one.ms_per_send('workers'):.2f}, PostgreSQL {one.ms_per_send('postgresql'):.2f}, "
        f"sink {one.ms_per_send('sink'):.2f}), so {cores} cores allow at most {ceiling:.0f} "
        f"sends/s, {ceiling / one.rate:.2f}x one worker's {one.rate:.0f}/s; {target:g}x at "
        f"the {many.ms_per_send():.2f} ms a send cost with {workers} workers would take "
        f"{needed:.1f} cores. With {workers} workers the machine was "
        f"{many.cores('machine'):.2f} of {cores} cores busy ({many.cores():.2f} by the "
        f"workers, PostgreSQL and the sink). The workers hardly wait for each other: on "
        f"average {many.lock_waiting:.2f} of their connections waited for a lock "
        f"({many.cap_lock_waiting:.2f} for a cap lock, shared far from the caps; the rest "
        f"for a row, mostly the operator's daily counter, which every send's last "
        f"transaction updates). {many.idle_in_transaction:.2f} sat idle in a transaction "
        "while PostgreSQL waited for the worker's next statement: a send is about 16 "
        "round trips in two transactions, and each reply needs the worker's database thread "
        "to win the GIL back from its event loop (TLS and SMTP)."
    )


if __name__ == "__main__":
    main()
