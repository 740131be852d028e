"""Benchmark: `outreach-tui validate` against py3-validate-email in one local world of MX hosts.

The world (bench/verify_world.py, tests/servers/probe_world.py): 10,000 addresses over 300
domains, MX hosts on 127.x loopback addresses on port 25, 40 ms added before every SMTP reply,
a dnslib server on 127.0.0.1:53. Everything runs inside a network namespace of its own
(bench/verify_netns.py) because the peer only knows the system resolver and port 25; it is
removed at the end, also on failure. Needs root and iproute2.

Per round, on the same list: our verifier as a subprocess (`outreach-tui validate`, its
defaults: concurrency 20, 2.0 s between sessions to one MX host, at most one session per host),
then the peer, one address after the other as it is used, on an evenly spread subset (the whole
list would take it most of an hour). Reported (medians over the rounds): addresses per second
of each and their ratio, accuracy against the world's truth, the share of sessions the client
ended with QUIT (server drops excluded), and the most sessions any MX host had at once.

Second run: `--no-smtp` over 1,000,000 generated addresses, RSS of the validate process sampled
with psutil: at 100,000 and at 1,000,000 results written, and the peak (VmHWM).

Targets: >= 20x the peer's throughput, accuracy >= 99 %, 100 % QUIT, never two sessions at
once to one MX host; --no-smtp peak RSS < 80 MB, growth < 5 MB from 100k to 1M.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.common import ROOT, median, peak_rss_mb, result_line, workdir
from bench.verify_netns import NamespaceUnavailable, exec_prefix, network_namespace
from bench.verify_world import (
    Scenario,
    build_scenario,
    generated_addresses,
    peer_answer_is_right,
    subset,
)

SPEEDUP_TARGET = 20.0
ACCURACY_TARGET = 99.0
RSS_PEAK_TARGET_MB = 80.0
RSS_GROWTH_TARGET_MB = 5.0
PROBE_PORT = 25
DNS_PORT = 53
HELO = "prober.bench-outreach.net"
MAIL_FROM = "probe@bench-outreach.net"
CLI = Path(sys.executable).with_name("outreach-tui")


@dataclass
class Run:
    """One run of one tool over one list."""

    addresses: int
    elapsed: float
    correct: int = 0
    sessions: int = 0
    quit_share: float = 1.0
    max_per_host: int = 0
    peak_rss_mb: float = 0.0
    wrong: Counter[tuple[str, str]] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return self.addresses / self.elapsed

    @property
    def accuracy(self) -> float:
        return 100.0 * self.correct / self.addresses


# ---------------------------------------------------------------------------- our verifier


def verifier_available() -> str | None:
    """None if `outreach-tui validate` exists, else why not."""
    if not CLI.exists():
        return f"{CLI} does not exist"
    probe = subprocess.run([str(CLI), "validate", "--help"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"`outreach-tui validate --help` failed: {probe.stderr.strip()[-300:]}"
    return None


def write_config(path: Path, args: argparse.Namespace) -> None:
    path.write_text(
        f"""# bench/verify.py: the verifier pointed at the namespace's test world
[verify]
helo_name = "{HELO}"
mail_from = "{MAIL_FROM}"
concurrency = {args.concurrency}
rate_limit_seconds = {args.rate_limit}
greylist_retry_seconds = {args.greylist_retry}
timeout_seconds = 5
probe_port = {PROBE_PORT}
allow_networks = ["127.0.0.0/8"]   # the world's MX hosts are on loopback

[dns]
nameservers = ["127.0.0.1:{DNS_PORT}"]

[logging]
file = "{path.parent / "outreach.log"}"
""",
        encoding="utf-8",
    )


@dataclass
class Sampled:
    elapsed: float
    returncode: int
    peak_rss_mb: float
    rss_at: dict[int, tuple[int, float]]
    """Mark → (results written when sampled, RSS in MB) at the first sample that saw at least
    ``mark`` results; a mark the process passed just before it exited gets its last sample."""
    stderr: str


def run_sampled(
    cmd: list[str], output: Path, marks: tuple[int, ...], env: dict[str, str], log: Path
) -> Sampled:
    """Run ``cmd``, sampling its RSS and how many result lines ``output`` holds."""
    lines = 0
    offset = 0
    rss_at: dict[int, tuple[int, float]] = {}
    last: tuple[int, float] | None = None
    peak = 0.0
    pending = sorted(marks)
    with log.open("w") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=err, stderr=subprocess.STDOUT, env=env)
        try:
            ps = psutil.Process(proc.pid)
            while proc.poll() is None:
                try:
                    rss = ps.memory_info().rss / 2**20
                    peak = max(peak, _vm_hwm_mb(proc.pid) or rss)
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    break
                if output.exists():
                    with output.open("rb") as fh:
                        fh.seek(offset)
                        chunk = fh.read()
                    offset += len(chunk)
                    lines += chunk.count(b"\n")
                last = (lines - 1, rss)  # minus the CSV header line
                while pending and lines - 1 >= pending[0]:
                    rss_at[pending.pop(0)] = last
                time.sleep(0.02)
            proc.wait()
        finally:
            if proc.poll() is None:  # interrupted: leave no validate process behind
                proc.kill()
                proc.wait()
        elapsed = time.perf_counter() - started
    if output.exists():
        with output.open("rb") as fh:
            fh.seek(offset)
            lines += fh.read().count(b"\n")
    for mark in pending:
        if last is not None and lines - 1 >= mark:
            rss_at[mark] = last
    return Sampled(elapsed, proc.returncode, peak, rss_at, log.read_text()[-3000:])


def _vm_hwm_mb(pid: int) -> float | None:
    """The kernel's own peak RSS of a process (catches peaks between two samples)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cli_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OUTREACH_CONFIG", "DATABASE_URL")}
    for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"),
                     ("XDG_STATE_HOME", "state"), ("XDG_CACHE_HOME", "cache")):  # fmt: skip
        env[var] = str(home / sub)
    env["HOME"] = str(home)
    return env


def validate_cmd(config: Path, db: Path, source: Path, target: Path, *extra: str) -> list[str]:
    return [str(CLI), "--config", str(config), "--db", f"sqlite:///{db}", "validate",
            str(source), "-o", str(target), "--format", "csv", *extra]  # fmt: skip


def run_ours(scenario: Scenario, world, source: Path, tmp: Path, args, round_no: int) -> Run:
    here = tmp / f"ours{round_no}"
    here.mkdir()
    config = here / "config.toml"
    write_config(config, args)
    output = here / "out.csv"
    world.reset_counters()
    cmd = validate_cmd(config, here / "verify.db", source, output)
    sampled = run_sampled(cmd, output, (), cli_env(here / "home"), here / "log.txt")
    if sampled.returncode != 0:
        raise RuntimeError(f"validate failed ({sampled.returncode}):\n{sampled.stderr}")
    world.wait_idle(10)
    run = Run(len(scenario.addresses), sampled.elapsed, peak_rss_mb=sampled.peak_rss_mb)
    seen: set[str] = set()
    with output.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            email, status = row["email"], row["status"]
            seen.add(email)
            run.statuses[status] += 1
            want = scenario.truth.get(email)
            if want == status:
                run.correct += 1
            else:
                run.wrong[(str(want), status)] += 1
    missing = len(set(scenario.addresses) - seen)
    if missing:
        run.wrong[("(any)", "missing from the output")] += missing
    _world_figures(run, world)
    return run


def _world_figures(run: Run, world) -> None:
    total = world.total()
    run.sessions = total.sessions_opened
    run.quit_share = world.quit_share(exempt_ungreeted=False)
    run.max_per_host = world.max_concurrent_sessions()


# ---------------------------------------------------------------------------- the peer


def run_peer(scenario: Scenario, world, source: Path, tmp: Path, round_no: int) -> Run:
    output = tmp / f"peer{round_no}.jsonl"
    world.reset_counters()
    env = dict(os.environ, PY3VE_IGNORE_UPDATER="1")
    subprocess.run([sys.executable, "-m", "bench.verify_peer", str(source), str(output)],
                   check=True, cwd=ROOT, env=env)  # fmt: skip
    world.wait_idle(10)
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    elapsed = rows.pop()["elapsed"]
    run = Run(len(rows), elapsed)
    for row in rows:
        answer = row["answer"]
        run.statuses[str(answer)] += 1
        want = scenario.truth[row["email"]]
        if peer_answer_is_right(want, answer):
            run.correct += 1
        else:
            run.wrong[(want, str(answer))] += 1
    _world_figures(run, world)
    return run


# ---------------------------------------------------------------------------- --no-smtp, 1M


def run_no_smtp(scenario: Scenario, tmp: Path, args) -> Sampled:
    here = tmp / "nosmtp"
    here.mkdir()
    source = here / "addresses.txt"
    domains = sorted(scenario.domains)
    with source.open("w", encoding="utf-8") as fh:
        for address in generated_addresses(args.nosmtp_count, domains):
            fh.write(address + "\n")
    config = here / "config.toml"
    write_config(config, args)
    output = here / "out.csv"
    cmd = validate_cmd(config, here / "verify.db", source, output, "--no-smtp")
    first = min(100_000, args.nosmtp_count // 10)
    sampled = run_sampled(
        cmd, output, (first, args.nosmtp_count), cli_env(here / "home"), here / "log.txt"
    )
    if sampled.returncode != 0:
        raise RuntimeError(f"validate --no-smtp failed ({sampled.returncode}):\n{sampled.stderr}")
    return sampled


# ---------------------------------------------------------------------------- main


def inside(args: argparse.Namespace) -> int:
    from tests.servers.dns import DnsServer

    # SIGTERM from the outer process: unwind, so the world, DNS and children are stopped.
    signal.signal(signal.SIGTERM, _interrupt)

    scenario = build_scenario(
        args.addresses,
        args.domains,
        reply_delay=args.reply_delay_ms / 1000,
        layout=args.layout,
    )
    for line in scenario.describe():
        print(line)
    why_not = verifier_available()
    if why_not:
        print(f"our verifier: NOT RUN ({why_not})")
    peer_list = subset(scenario.addresses, args.peer_subset)
    world = scenario.world(PROBE_PORT)
    dns = DnsServer(scenario.zone(), host="127.0.0.1", port=DNS_PORT)
    ours: list[Run] = []
    peer: list[Run] = []
    nosmtp: Sampled | None = None
    with workdir() as tmp_name, world, dns:
        tmp = Path(tmp_name)
        source = tmp / "addresses.txt"
        source.write_text("\n".join(scenario.addresses) + "\n", encoding="utf-8")
        peer_source = tmp / "peer_addresses.txt"
        peer_source.write_text("\n".join(peer_list) + "\n", encoding="utf-8")
        print(f"world: {len(scenario.hosts)} MX hosts on 127.0.x.y:{world.port}, "
              f"{args.reply_delay_ms:g} ms before every reply, DNS on 127.0.0.1:{DNS_PORT}, "
              f"inside network namespace")  # fmt: skip
        for round_no in range(args.rounds):
            if not why_not:
                ours.append(run_ours(scenario, world, source, tmp, args, round_no))
                r = ours[-1]
                print(f"round {round_no + 1}: ours {r.rate:.1f} addr/s ({r.elapsed:.1f} s), "
                      f"accuracy {r.accuracy:.2f} %, {r.sessions} sessions, "
                      f"QUIT {100 * r.quit_share:.1f} %, max/host {r.max_per_host}",
                      flush=True)  # fmt: skip
            if args.peer_subset > 0:
                peer.append(run_peer(scenario, world, peer_source, tmp, round_no))
                p = peer[-1]
                print(f"round {round_no + 1}: peer {p.rate:.2f} addr/s ({p.elapsed:.1f} s for "
                      f"{p.addresses}), accuracy {p.accuracy:.2f} %, {p.sessions} sessions, "
                      f"QUIT {100 * p.quit_share:.1f} %, max/host {p.max_per_host}",
                      flush=True)  # fmt: skip
        if not why_not and args.nosmtp_count:
            nosmtp = run_no_smtp(scenario, tmp, args)
    report(args, scenario, ours, peer, nosmtp)
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def report(args, scenario: Scenario, ours: list[Run], peer: list[Run], nosmtp) -> None:
    print()
    print(f"rounds={args.rounds} addresses={args.addresses} domains={args.domains} "
          f"layout={args.layout} reply_delay={args.reply_delay_ms:g}ms "
          f"concurrency={args.concurrency} rate_limit={args.rate_limit}s "
          f"greylist_retry={args.greylist_retry}s")  # fmt: skip
    peer_rate = median([p.rate for p in peer]) if peer else 0.0
    if peer:
        print(f"peer (py3-validate-email): {peer_rate:.2f} addr/s (median), measured on a "
              f"SUBSET of {peer[0].addresses} of the {args.addresses} addresses (every "
              f"{args.addresses / peer[0].addresses:.0f}th, same mix); whole list would take "
              f"~{args.addresses / peer_rate / 60:.0f} min")  # fmt: skip
        print(f"peer accuracy: {median([p.accuracy for p in peer]):.2f} % (catch-all counted "
              f"right when it says True: it cannot tell)")  # fmt: skip
        print(f"peer wrong (truth -> answer): {dict(peer[-1].wrong.most_common(6))}")
    if not ours:
        print("our verifier was not run: no RESULT lines for it")
        return
    rate = median([r.rate for r in ours])
    ratio = rate / peer_rate if peer_rate else float("nan")
    accuracy = median([r.accuracy for r in ours])
    quit_pct = 100 * min(r.quit_share for r in ours)
    max_host = max(r.max_per_host for r in ours)
    peer_quit = 100 * min((p.quit_share for p in peer), default=1.0)
    peer_max = max((p.max_per_host for p in peer), default=0)
    print(f"ours (outreach-tui validate): {rate:.1f} addr/s (median, wall clock of the whole "
          f"command incl. start-up), whole list")  # fmt: skip
    print(f"ratio:           {ratio:.1f}x")
    print(f"our accuracy:    {accuracy:.2f} % (median)")
    print(f"our statuses:    {dict(ours[-1].statuses.most_common())}")
    print(f"our wrong (truth -> status): {dict(ours[-1].wrong.most_common(8))}")
    last_peer = peer[-1] if peer else Run(0, 1.0)
    print(f"sessions:        ours {ours[-1].sessions} for {ours[-1].addresses} addresses, "
          f"peer {last_peer.sessions} for {last_peer.addresses}")  # fmt: skip
    print(f"QUIT share:      ours {quit_pct:.2f} % (worst round), peer {peer_quit:.2f} %")
    print(f"max sessions at once to one MX host: ours {max_host}, peer {peer_max}")
    print(f"validate peak RSS (10k list): {median([r.peak_rss_mb for r in ours]):.0f} MB")
    print(f"bench process peak RSS: {peak_rss_mb():.0f} MB")
    print(result_line("verify_addresses_per_s", rate, peer_rate, SPEEDUP_TARGET * peer_rate))
    print(result_line("verify_speedup_vs_peer", ratio, 1.0, SPEEDUP_TARGET))
    print(result_line("verify_accuracy_pct", accuracy, median([p.accuracy for p in peer])
                      if peer else 0, ACCURACY_TARGET))  # fmt: skip
    print(result_line("verify_quit_share_pct", quit_pct, peer_quit, 100.0))
    print(result_line("verify_max_sessions_per_mx_host", max_host, peer_max, 1))
    if nosmtp is not None:
        first = min(100_000, args.nosmtp_count // 10)
        n_first, at_first = nosmtp.rss_at.get(first, (0, float("nan")))
        n_end, at_end = nosmtp.rss_at.get(args.nosmtp_count, (0, float("nan")))
        growth = at_end - at_first
        print(f"--no-smtp over {args.nosmtp_count} addresses: {nosmtp.elapsed:.1f} s "
              f"({args.nosmtp_count / nosmtp.elapsed:.0f} addr/s); RSS at {n_first} results: "
              f"{at_first:.1f} MB, at {n_end}: {at_end:.1f} MB, peak (VmHWM) "
              f"{nosmtp.peak_rss_mb:.1f} MB")  # fmt: skip
        print(result_line("verify_nosmtp_peak_rss_mb", nosmtp.peak_rss_mb, 0, RSS_PEAK_TARGET_MB))
        print(result_line("verify_nosmtp_rss_growth_mb", growth, 0, RSS_GROWTH_TARGET_MB))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addresses", type=int, default=10_000)
    parser.add_argument("--domains", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--peer-subset", type=int, default=400,
                        help="addresses the peer checks per round (0: skip the peer)")  # fmt: skip
    parser.add_argument("--reply-delay-ms", type=float, default=40.0)
    parser.add_argument("--layout", choices=("mixed", "own"), default="mixed",
                        help="mixed: ~40%% of ordinary domains share hosts three to a host; "
                        "own: one MX host per domain")  # fmt: skip
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rate-limit", type=float, default=2.0)
    parser.add_argument("--greylist-retry", type=float, default=3.0)
    parser.add_argument("--nosmtp-count", type=int, default=1_000_000,
                        help="addresses of the --no-smtp memory run (0: skip it)")  # fmt: skip
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main() -> int:
    args = parse_args()
    if args.inside:
        try:
            return inside(args)
        except KeyboardInterrupt:
            return 130
    try:
        with network_namespace() as name:
            cmd = [*exec_prefix(name), sys.executable, "-m", "bench.verify", "--inside",
                   *sys.argv[1:]]  # fmt: skip
            inner = subprocess.Popen(cmd, cwd=ROOT)
            try:
                return inner.wait()
            finally:
                if inner.poll() is None:  # interrupted: let it stop its world and children
                    inner.terminate()
                    try:
                        inner.wait(15)
                    except subprocess.TimeoutExpired:
                        inner.kill()
                        inner.wait()
    except NamespaceUnavailable as error:
        print(f"bench/verify.py cannot run here: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench/verify.py interrupted; the network namespace was removed", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
