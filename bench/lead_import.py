"""Benchmark: `leads import` of a large CSV against a plain sqlite3 executemany of the same rows.

A CSV of ROWS leads (default 1,000,000; about 3 % bad rows of six kinds, 1 % duplicates, one
custom column) is generated once. Each round imports it with `import_leads_csv` into a fresh
migrated SQLite database (streamed, validated, batched transactions, suppression check). The
baseline inserts the same good rows, already parsed into tuples, with one sqlite3
`executemany` into a fresh migrated database's lead table. Medians of ROUNDS rounds.

Target: at least 50,000 rows/s for the import.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import median, peak_rss_mb, result_line, workdir
from outreach_tui.db import migrate
from outreach_tui.db.database import Database
from outreach_tui.db.session import make_engine
from outreach_tui.engine.clock import SimulatedClock
from outreach_tui.engine.leads.ingest import import_leads_csv

TARGET = 50_000
HEADER = ["Email", "First Name", "last_name", "Company", "website", "timezone", "Job Title"]
ZONES = ["Europe/Berlin", "America/New_York", "", "Asia/Tokyo", ""]
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def generate(path: Path, rows: int, seed: int = 7) -> None:
    """Write the CSV row by row (the good rows are re-read for the baseline)."""
    rng = random.Random(seed)
    recent: list[list[str]] = []
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for i in range(rows):
            roll = rng.random()
            good = [
                f"first.last{i}@company{i % 20000}.com", f"First{i}", f"Last{i}",
                f"Company {i % 20000}", f"https://company{i % 20000}.com", ZONES[i % 5],
                "Head of Sales" if i % 3 else "",
            ]  # fmt: skip
            if roll < 0.005:
                good[0] = f"not-an-address-{i}"
            elif roll < 0.010:
                good[0] = ""
            elif roll < 0.015:
                good[5] = "Mars/Olympus"
            elif roll < 0.020:
                good[1] = f"First\n{i}"
            elif roll < 0.025:
                good.append("surplus")
            elif roll < 0.030:
                good[2] = f"La\x00st{i}"
            elif roll < 0.040 and recent:
                good = rng.choice(recent)
            else:
                recent.append(good)
                if len(recent) > 1000:
                    recent.pop(0)
            writer.writerow(good)


def baseline_rows(path: Path) -> list[tuple[object, ...]]:
    """The rows the import keeps, as ready-made tuples (parsing is not timed)."""
    created = NOW.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    seen: set[str] = set()
    out: list[tuple[object, ...]] = []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        for cells in reader:
            if len(cells) != len(HEADER) or any("\x00" in c or "\n" in c for c in cells):
                continue
            email = cells[0].lower()
            if "@" not in email or cells[5] == "Mars/Olympus" or email in seen:
                continue
            seen.add(email)
            custom = json.dumps({"job_title": cells[6]}) if cells[6] else None
            out.append((email, email.rpartition("@")[2], cells[1], cells[2], cells[3], cells[4],
                        cells[5] or None, custom, "new", "csv:bench", created))  # fmt: skip
    return out


def fresh_db(path: Path) -> str:
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    return url


def run_import(csv_path: Path, db_path: Path) -> tuple[float, int]:
    engine = make_engine(fresh_db(db_path))
    db = Database(engine)
    start = time.perf_counter()
    report = import_leads_csv(db, csv_path, clock=SimulatedClock(NOW), operator_id="bench")
    elapsed = time.perf_counter() - start
    engine.dispose()
    return elapsed, report.imported


def run_baseline(rows: list[tuple[object, ...]], db_path: Path) -> float:
    fresh_db(db_path)
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    start = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO lead (email, domain, first_name, last_name, company, website, timezone, "
        "custom, status, source, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def measure(rows: int, rounds: int) -> dict[str, float]:
    """Median rates of the import and the baseline (rows/s), their ratio and peak RSS (MB)."""
    import_rates: list[float] = []
    base_rates: list[float] = []
    with workdir() as tmp:
        tmp_path = Path(tmp)
        csv_path = tmp_path / "leads.csv"
        generate(csv_path, rows)
        for round_no in range(rounds):
            elapsed, imported = run_import(csv_path, tmp_path / f"import{round_no}.db")
            # Rows read per second: bad and duplicate rows cost work too.
            import_rates.append(rows / elapsed)
            print(f"round {round_no + 1}: import {import_rates[-1]:,.0f} rows/s "
                  f"({imported:,} imported in {elapsed:.2f} s)", flush=True)  # fmt: skip
        import_rss = peak_rss_mb()
        good = baseline_rows(csv_path)
        for round_no in range(rounds):
            elapsed = run_baseline(good, tmp_path / f"base{round_no}.db")
            # Same denominator as the import: the ratio is then the ratio of the times.
            base_rates.append(rows / elapsed)
            print(f"round {round_no + 1}: baseline {base_rates[-1]:,.0f} rows/s "
                  f"({len(good):,} inserted in {elapsed:.2f} s)", flush=True)  # fmt: skip
    rate, base = median(import_rates), median(base_rates)
    return {
        "rows_per_s": rate,
        "baseline_rows_per_s": base,
        "ratio": rate / base,
        "peak_rss_mb": import_rss,
        "peak_rss_total_mb": peak_rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    figures = measure(args.rows, args.rounds)
    print(f"rows={args.rows} rounds={args.rounds}")
    print(f"import:   {figures['rows_per_s']:,.0f} rows/s (median)")
    print(f"baseline: {figures['baseline_rows_per_s']:,.0f} rows/s (median, plain executemany)")
    print(f"ratio:    {figures['ratio']:.2f}")
    print(f"peak RSS: {figures['peak_rss_mb']:.0f} MB during imports, "
          f"{figures['peak_rss_total_mb']:.0f} MB with the baseline's rows in memory")  # fmt: skip
    print(result_line("lead_import_rows_per_s", figures["rows_per_s"],
                      figures["baseline_rows_per_s"], TARGET))  # fmt: skip
    print(result_line("lead_import_peak_rss_mb", figures["peak_rss_mb"], 0, 0))


if __name__ == "__main__":
    main()
