"""Benchmark: the console's responsiveness on a 1,000,000-lead database while the engine
dispatches at full speed, beside the same figures on an empty database (same mailboxes).

* first paint: from starting the app to the Dashboard showing its data;
* pane switch: a number key → that pane on screen with its data (panes are prefetched and
  refreshed in the background; every pane, several rounds); `pane_fresh` is the time until
  the data read for this visit is shown;
* key to update: `a` in the Queue (approve) → the queue on screen without that email; `n`
  in Leads (next page) → the next page read and shown; `v` in Audit (audit log ↔ events)
  → the other list read and shown (the only one of the three the empty database allows).

The app runs headless (Textual's test driver, 120x40) with its scheduler on: the planner and
the dispatcher run inside the same event loop, sending to the loopback sink (bench/sink.py,
STARTTLS + AUTH, its own process) with no gap between sends. The big database is the one
bench/engine.py generates (bench/engine_data.py), copied fresh for the run.

Targets: first paint under 500 ms, pane switch under 100 ms, key to update under 50 ms, and
each within 1.5x of the empty database's figure.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import time
from pathlib import Path
from typing import Any

from bench import engine as engine_bench
from bench.common import median, peak_rss_mb, result_line, sink_process, workdir
from bench.engine import prepare_copy
from bench.engine_data import PASSWORD_ENV, Shape, cached_db

SIZE = (120, 40)
TARGETS = {"first_paint_ms": 500.0, "pane_switch_ms": 100.0, "key_to_update_ms": 50.0}


def empty_copy(src: Path, dst: Path, sink: Any) -> None:
    """A migrated database with the big one's mailboxes and nothing else."""
    from outreach_tui.db import migrate
    from outreach_tui.db.session import make_engine

    engine = make_engine(f"sqlite:///{dst}")
    migrate.upgrade(engine)
    engine.dispose()
    conn = sqlite3.connect(dst, isolation_level=None)
    conn.execute("ATTACH DATABASE ? AS big", (f"file:{src}?mode=ro",))
    conn.execute("INSERT INTO sending_domain SELECT * FROM big.sending_domain")
    conn.execute("INSERT INTO mailbox SELECT * FROM big.mailbox")
    conn.execute("INSERT INTO operator SELECT * FROM big.operator")
    conn.execute("DETACH DATABASE big")
    conn.execute(
        "UPDATE mailbox SET smtp_host=?, smtp_port=?, smtp_security='starttls', "
        "smtp_password_ref=?, verify_tls=1",
        (sink.host, sink.port, f"env:{PASSWORD_ENV}"),
    )
    conn.close()


def open_engine(db: Path, tmp: Path, sink: Any) -> Any:
    """bench/engine.py's engine (every mailbox at the sink, no gaps), with the console's
    job intervals."""
    return engine_bench.open_engine(
        db, tmp, sink, scheduler={"dispatch_seconds": 0.2, "plan_seconds": 1}
    )


def send_key(app: Any, key: str) -> None:
    """Deliver a key as the terminal driver would. (Pilot.press waits until the whole
    process is idle, which it never is while the engine sends at full speed: timing it
    would measure the test harness, not the console.)"""
    from textual import events

    event = events.Key(key, key if len(key) == 1 else None)
    event.set_sender(app)
    app._driver.send_message(event)


async def until(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the console did not update")
        await asyncio.sleep(0.001)


async def wait_shown(pane: Any, before: int, timeout: float = 30.0) -> None:
    deadline = time.perf_counter() + timeout
    while pane.show_count <= before:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"pane {pane.PANE_ID} did not update")
        await asyncio.sleep(0.001)


async def measure(engine: Any, rounds: int) -> dict[str, list[float]]:
    from outreach_tui.tui.app import OutreachApp

    figures: dict[str, list[float]] = {
        "first_paint_ms": [],
        "pane_switch_ms": [],
        "pane_fresh_ms": [],
        "toggle_ms": [],
        "approve_ms": [],
        "next_page_ms": [],
    }
    sent_before = engine.queries.dashboard().sent_today
    for round_no in range(rounds):
        app = OutreachApp(engine, refresh_seconds=3600)
        t0 = time.perf_counter()
        async with app.run_test(size=SIZE) as pilot:
            await wait_shown(app.pane("dashboard"), 0)
            figures["first_paint_ms"].append((time.perf_counter() - t0) * 1000)
            # Steady state: the console has been open a moment and prefetched its panes.
            for pane_id in (
                "queue",
                "campaigns",
                "mailboxes",
                "domains",
                "inbox",
                "leads",
                "suppression",
                "audit",
            ):
                await wait_shown(app.pane(pane_id), 0)
            for key, pane_id in (
                ("2", "queue"),
                ("3", "campaigns"),
                ("4", "mailboxes"),
                ("5", "domains"),
                ("6", "inbox"),
                ("7", "leads"),
                ("8", "suppression"),
                ("9", "audit"),
                ("1", "dashboard"),
            ):
                pane = app.pane(pane_id)
                before = pane.show_count
                t1 = time.perf_counter()
                send_key(app, key)
                # Laid out on screen with its data (prefetched, refreshed in the background) ...
                await until(
                    lambda p=pane, i=pane_id, a=app: (
                        a.current_pane == i and p.region.height > 0 and p.show_count > 0
                    )
                )
                figures["pane_switch_ms"].append((time.perf_counter() - t1) * 1000)
                # ... and with the data read for this visit.
                await wait_shown(pane, before)
                figures["pane_fresh_ms"].append((time.perf_counter() - t1) * 1000)
            await pilot.press("2")
            queue = app.pane("queue")
            await wait_shown(queue, queue.show_count - 1)
            for _ in range(5):
                if not queue.items:
                    break
                target = queue.table.current_key()
                rows = queue.table.row_count
                t1 = time.perf_counter()
                send_key(app, "a")
                await until(
                    lambda t=target, n=rows, q=queue: t not in q.items and q.table.row_count < n
                )
                figures["approve_ms"].append((time.perf_counter() - t1) * 1000)
                await asyncio.sleep(0.3)  # the engine's answer and the refresh follow
            await pilot.press("7")
            leads = app.pane("leads")
            await wait_shown(leads, leads.show_count - 1)
            for _ in range(5):
                if not leads.more:
                    break
                before = leads.show_count
                t1 = time.perf_counter()
                send_key(app, "n")
                await wait_shown(leads, before)
                figures["next_page_ms"].append((time.perf_counter() - t1) * 1000)
            # Audit: `v` switches between the audit log and the events (both databases).
            await pilot.press("9")
            audit = app.pane("audit")
            for _ in range(4):
                before = audit.show_count
                t1 = time.perf_counter()
                send_key(app, "v")
                await wait_shown(audit, before)
                figures["toggle_ms"].append((time.perf_counter() - t1) * 1000)
            await pilot.press("q")
        print(
            f"  round {round_no + 1}: first paint {figures['first_paint_ms'][-1]:.0f} ms",
            flush=True,
        )
    sent = engine.queries.dashboard().sent_today - sent_before
    figures["sent_during_run"] = [float(sent)]
    return figures


def run_one(label: str, db: Path, tmp: Path, sink: Any, rounds: int) -> dict[str, float]:
    engine = open_engine(db, tmp, sink)
    try:
        raw = asyncio.run(measure(engine, rounds))
    finally:
        engine.close_sync()
    out = {name: median(values) for name, values in raw.items() if values}
    keys = raw["approve_ms"] + raw["next_page_ms"] + raw["toggle_ms"]
    out["key_to_update_ms"] = median(keys) if keys else float("nan")
    out["pane_switch_p99_ms"] = (
        statistics.quantiles(raw["pane_switch_ms"], n=100)[98]
        if len(raw["pane_switch_ms"]) > 2
        else float("nan")
    )
    print(f"[{label}] " + ", ".join(f"{k} {v:.1f}" for k, v in out.items()), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--attempts", type=int, default=10_000_000)
    parser.add_argument("--mailboxes", type=int, default=1_200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    shape = Shape(leads=args.leads, attempts=args.attempts, mailboxes=args.mailboxes)
    src, _ = cached_db(shape)
    with workdir() as tmp_name:
        tmp = Path(tmp_name)
        with sink_process(tmp) as sink:
            empty = tmp / "empty.db"
            empty_copy(src, empty, sink)
            base = run_one("empty", empty, tmp, sink, args.rounds)
            big = tmp / "big.db"
            copy_s = prepare_copy(src, big, sink)
            print(f"copied the {args.leads:,}-lead database in {copy_s:.1f} s", flush=True)
            full = run_one("full", big, tmp, sink, args.rounds)
    print(f"peak RSS: {peak_rss_mb():.0f} MB")
    for metric, target in TARGETS.items():
        value, baseline = full[metric], base[metric]
        print(
            f"{metric}: {value:.1f} ms on {args.leads:,} leads, {baseline:.1f} ms empty, "
            f"ratio {value / baseline:.2f} (target < {target:g} ms and < 1.5x)"
        )
        print(result_line(f"console_{metric}", value, baseline, target))
    print(result_line("console_peak_rss_mb", peak_rss_mb(), 0, 0))


if __name__ == "__main__":
    main()
