"""The HTTP API's throughput and latency against an in-process baseline of the same engine
calls: GET /health, POST /policy/validate and POST /leads (batches of 100), served by
`outreach-tui serve` with 1 and 4 uvicorn workers, on SQLite and on PostgreSQL.

For each configuration:

- requests/s with a closed loop of `--concurrency` connections for `--seconds` (p50/p99 of
  those requests too);
- /policy/validate at a fixed 200 requests/s (an open loop: latency counted from when each
  request was due, so a stall is not hidden by the requests that wait behind it): p50/p99;
- POST /leads, 100 new leads a request: leads/s.

The baseline calls the engine directly in this process (no HTTP, no JSON): the same health
report, policy decision and ingestion of 100 rows, one after the other.

Targets: /policy/validate p99 under 10 ms at 200 requests/s; /leads at least
5,000 leads/s. The load generator runs on the same (small, possibly shared) machine as the
server and the database: the figures are a floor, and noisy.

    python -m bench.api [--seconds 5] [--concurrency 16] [--configs sqlite:1,postgresql:4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.common import ROOT, result_line, workdir

TOKEN = "bench-token-not-a-secret"
SENDER = "alex@brand-news.com"


@dataclass
class Figures:
    rps: float
    p50_ms: float
    p99_ms: float


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def write_config(directory: Path, database_url: str, port: int, workers: int) -> Path:
    path = directory / f"config-{port}.toml"
    path.write_text(
        f"""
database_url = "{database_url}"
[operator]
id = "bench"
[logging]
level = "WARNING"
file = "{directory / "bench-api.log"}"
[dns]
health_checks = false
[verify]
required = false
[policy]
daily_user_cap = 1000000
[api]
bind = "127.0.0.1"
port = {port}
workers = {workers}
rate_limit_per_minute = 1000000
rate_limit_burst = 1000000
deliver_webhooks = false
leads_max_rows = 1000
[[api.tokens]]
name = "bench"
token = "env:BENCH_API_TOKEN"
scopes = ["*"]
[[mailboxes]]
email = "{SENDER}"
smtp_host = "127.0.0.1"
smtp_port = 2525
smtp_password = "env:BENCH_SMTP_PASSWORD"
""",
        encoding="utf-8",
    )
    return path


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env.update(OUTREACH_CONFIG=str(config), BENCH_API_TOKEN=TOKEN, BENCH_SMTP_PASSWORD="x")
    return env


# -- the load ---------------------------------------------------------------------------------


class Load:
    def __init__(self, base: str) -> None:
        self.base = base
        self.batch = 0

    def client(self, connections: int) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        return httpx.AsyncClient(base_url=self.base, limits=limits, timeout=60,
                                 headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip

    def request(self, kind: str) -> tuple[str, str, dict | None]:
        if kind == "health":
            return "GET", "/health", None
        if kind == "policy":
            n = self.batch = self.batch + 1
            return "POST", "/policy/validate", {
                "to": f"lead{n % 5000}@firma{n % 97}.de", "from": SENDER, "subject": "Hi",
            }  # fmt: skip
        self.batch += 1
        rows = [{"email": f"b{self.batch}-{i}-{os.getpid()}@leads{i % 50}.example",
                 "first_name": "Ann", "company": "Co"} for i in range(100)]  # fmt: skip
        return "POST", "/leads", {"leads": rows}

    async def closed(self, kind: str, seconds: float, concurrency: int) -> Figures:
        latencies: list[float] = []
        deadline = time.perf_counter() + seconds
        async with self.client(concurrency) as client:

            async def worker() -> None:
                while time.perf_counter() < deadline:
                    method, path, body = self.request(kind)
                    start = time.perf_counter()
                    response = await client.request(method, path, json=body)
                    latencies.append(time.perf_counter() - start)
                    if response.status_code >= 300:
                        raise RuntimeError(f"{path}: HTTP {response.status_code} {response.text}")

            began = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - began
        return Figures(len(latencies) / elapsed, pct(latencies, 0.5), pct(latencies, 0.99))

    async def open(self, kind: str, rate: float, seconds: float) -> Figures:
        latencies: list[float] = []
        async with self.client(64) as client:
            began = time.perf_counter()
            total = int(rate * seconds)

            async def one(due: float) -> None:
                method, path, body = self.request(kind)
                response = await client.request(method, path, json=body)
                latencies.append(time.perf_counter() - due)
                response.raise_for_status()

            tasks = []
            for i in range(total):
                due = began + i / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(due)))
            await asyncio.gather(*tasks)
            elapsed = time.perf_counter() - began
        return Figures(len(latencies) / elapsed, pct(latencies, 0.5), pct(latencies, 0.99))


# -- the baseline -----------------------------------------------------------------------------


def baseline(config: Path, seconds: float) -> dict[str, Figures]:
    """The same engine calls in this process, one after the other."""
    from outreach_tui.config import load_settings
    from outreach_tui.engine import build_engine

    os.environ.update(BENCH_API_TOKEN=TOKEN, BENCH_SMTP_PASSWORD="x")
    engine = build_engine(load_settings(config), headless=True, role="bench")
    automation = engine.automation
    out: dict[str, Figures] = {}
    load = Load("")
    calls = {
        "health": lambda: automation.health(),
        "policy": lambda: automation.check_policy(
            SENDER, f"lead{load.batch % 5000}@firma{load.batch % 97}.de", "Hi"
        ),
        "leads": lambda: automation.ingest_leads(
            load.request("leads")[2]["leads"], campaign=None, source="bench", actor="bench"
        ),
    }
    for kind, call in calls.items():
        latencies: list[float] = []
        deadline = time.perf_counter() + seconds
        began = time.perf_counter()
        while time.perf_counter() < deadline:
            load.batch += 1
            start = time.perf_counter()
            call()
            latencies.append(time.perf_counter() - start)
        elapsed = time.perf_counter() - began
        out[kind] = Figures(len(latencies) / elapsed, pct(latencies, 0.5), pct(latencies, 0.99))
    engine.close_sync()
    return out


# -- a configuration --------------------------------------------------------------------------


def serve(config: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "outreach_tui", "serve"],
        env=environment(config), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(process.stderr.read().decode() if process.stderr else "died")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1).status_code == 200:
                time.sleep(1.0)  # every worker up
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the API did not start")


def run_config(backend: str, workers: int, url: str, tmp: Path, args: argparse.Namespace):
    from outreach_tui.config import load_settings
    from outreach_tui.engine import build_engine

    port = free_port()
    config = write_config(tmp, url, port, workers)
    os.environ.update(BENCH_API_TOKEN=TOKEN, BENCH_SMTP_PASSWORD="x")
    build_engine(load_settings(config), headless=True, role="bench").close_sync()  # migrated
    process = serve(config, port)
    try:
        load = Load(f"http://127.0.0.1:{port}")
        figures = {
            "health": asyncio.run(load.closed("health", args.seconds, args.concurrency)),
            "policy": asyncio.run(load.closed("policy", args.seconds, args.concurrency)),
            "policy@200": asyncio.run(load.open("policy", 200, args.seconds)),
            "leads": asyncio.run(load.closed("leads", args.seconds, max(1, args.concurrency // 4))),
        }
    finally:
        process.terminate()
        process.wait(timeout=30)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--configs", default="sqlite:1,sqlite:4,postgresql:1,postgresql:4")
    args = parser.parse_args()
    configs = [(c.split(":")[0], int(c.split(":")[1])) for c in args.configs.split(",")]
    results: dict[tuple[str, int], dict[str, Figures]] = {}
    bases: dict[str, dict[str, Figures]] = {}
    with workdir() as tmp_name:
        tmp = Path(tmp_name)
        pg = None
        if any(b == "postgresql" for b, _ in configs):
            from tests.servers.postgres import PostgresServer

            pg = PostgresServer().start()
        try:
            for n, (backend, workers) in enumerate(configs):
                if backend == "postgresql":
                    assert pg is not None
                    url = pg.create_database(f"bench_api_{n}")
                else:
                    url = f"sqlite:///{tmp / f'bench-{n}.db'}"
                results[(backend, workers)] = run_config(backend, workers, url, tmp, args)
                if backend not in bases:
                    bases[backend] = baseline(write_config(tmp, url, free_port(), 1), args.seconds)
                f = results[(backend, workers)]
                print(
                    f"{backend} x{workers}: health {f['health'].rps:.0f}/s "
                    f"(p99 {f['health'].p99_ms:.1f} ms); policy {f['policy'].rps:.0f}/s "
                    f"(p99 {f['policy'].p99_ms:.1f} ms), at 200/s p50 "
                    f"{f['policy@200'].p50_ms:.1f} ms p99 {f['policy@200'].p99_ms:.1f} ms; "
                    f"leads {f['leads'].rps * 100:.0f}/s (p99 {f['leads'].p99_ms:.0f} ms/100)",
                    flush=True,
                )
        finally:
            if pg is not None:
                pg.stop()
    for backend, base in bases.items():
        print(f"in-process {backend}: health {base['health'].rps:.0f}/s, policy "
              f"{base['policy'].rps:.0f}/s (p99 {base['policy'].p99_ms:.2f} ms), leads "
              f"{base['leads'].rps * 100:.0f}/s")  # fmt: skip
    print(f"seconds={args.seconds} concurrency={args.concurrency} cores={os.cpu_count()}")
    for (backend, workers), f in results.items():
        base = bases[backend]
        tag = f"{backend}_x{workers}"
        print(result_line(f"api_health_rps_{tag}", f["health"].rps, base["health"].rps, 0))
        print(result_line(f"api_policy_rps_{tag}", f["policy"].rps, base["policy"].rps, 0))
        print(result_line(f"api_policy_p50_ms_at_200rps_{tag}", f["policy@200"].p50_ms,
                          base["policy"].p50_ms, 10))  # fmt: skip
        print(result_line(f"api_policy_p99_ms_at_200rps_{tag}", f["policy@200"].p99_ms,
                          base["policy"].p99_ms, 10))  # fmt: skip
        print(result_line(f"api_leads_per_s_{tag}", f["leads"].rps * 100,
                          base["leads"].rps * 100, 5000))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
