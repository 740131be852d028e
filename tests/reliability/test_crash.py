"""Crash test: a worker sending a 5,000-attempt campaign is killed with SIGKILL at 50 random
moments (seeded, printed) and restarted each time, against a loopback SMTP sink that lives in
this test process (so a kill never takes the sink with it).

At the end: no (lead, step) reached the sink twice; every message the sink received has a
ledger row, and that row is `sent` or `unknown` (an attempt whose outcome is unclear is never
re-sent); every row is final or `unknown`; the daily counters equal the `sent` rows; no
sequence is left stuck; SQLite's integrity check passes.

`CRASH_SEED=<n>` replays one run; `CRASH_LEADS` / `CRASH_KILLS` make it bigger or smaller
(bench-sized runs: `CRASH_LEADS=10000 CRASH_KILLS=200`).
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from outreach_tui.db import tables as t
from tests.functional.campaign_helpers import ALWAYS_OPEN, server_users
from tests.functional.helpers import PASSWORD, PASSWORD_ENV

SEED = int(os.environ.get("CRASH_SEED", str(random.SystemRandom().randrange(1 << 30))))
LEADS = int(os.environ.get("CRASH_LEADS", "2500"))
STEPS = 2  # 2,500 leads x 2 steps = 5,000 attempts
KILLS = int(os.environ.get("CRASH_KILLS", "50"))
BOXES = [f"rep{i}@sender{i}.com" for i in range(1, 9)]
#: A kill that has to wait longer than this for the worker to make progress fails the test.
PROGRESS_TIMEOUT = 30.0
FINAL_STATES = {"sent", "failed", "rejected", "unknown"}
_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)


def write_world(tmp_path: Path, server, pki) -> Path:
    mailboxes = "".join(
        f"""
[[mailboxes]]
email = "{email}"
smtp_host = "{server.host}"
smtp_port = {server.port}
smtp_password = "env:{PASSWORD_ENV}"
daily_limit = 100000
"""
        for email in BOXES
    )
    config = tmp_path / "config.toml"
    config.write_text(f"""
database_url = "sqlite:///{tmp_path / "crash.db"}"
smtp_send_timeout = 30
[operator]
id = "crash-worker"
[policy]
daily_user_cap = 1000000
daily_domain_cap = 1000000
[sending]
min_gap_seconds = 0
max_gap_seconds = 0
yellow_per_mailbox_per_day = 1000000
[scheduler]
plan_seconds = 0.2
dispatch_seconds = 0.1
lease_seconds = 10
plan_batch = 500
dispatch_batch = 400
[verify]
required = false
[dns]
health_checks = false
[tls]
ca_file = "{pki.ca_file}"
[logging]
level = "INFO"
file = "{tmp_path / "worker.log"}"
{mailboxes}
""")
    campaign = tmp_path / "campaign.toml"
    campaign.write_text(
        'name = "Crash"\napproval = "auto"\ntimezone = "UTC"\n'
        + ALWAYS_OPEN
        + """
[[steps]]
subject = "Hello {{company}}"
body = "Hi {{first_name|there}}, a question."
[[steps]]
delay_days = 0
body = "Just bumping this up."
"""
    )
    leads = tmp_path / "leads.csv"
    with leads.open("w", encoding="utf-8") as fh:
        fh.write("email,company\n")
        fh.writelines(f"lead{i}@company{i % 97}.com,Company {i}\n" for i in range(LEADS))
    return config


def spawn(config: Path, log: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, PASSWORD_ENV: PASSWORD}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "outreach_tui", "--config", str(config), *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def run(config: Path, log: Path, *args: str, timeout: float = 120) -> None:
    proc = spawn(config, log, *args)
    assert proc.wait(timeout=timeout) == 0, log.read_text(errors="replace")[-3000:]


def tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:]


#: A "zygote": imports the program once, then for every line on stdin forks a child that runs
#: `outreach-tui --config CONFIG worker` through the real entry point, and prints the child's
#: pid. Each worker is still a process of its own (SIGKILL takes it alone, never the sink);
#: only the interpreter start-up and imports (seconds each on a loaded 2-core machine) are
#: paid once instead of 50 times. Nothing but imports happens before the fork: no thread,
#: no event loop, no database connection. Children are reaped at once (SIGCHLD ignored), so
#: a killed worker's pid is gone, not a zombie, when the next one looks at its leases.
_ZYGOTE = """
import os, signal, sys
from outreach_tui.cli import main
from outreach_tui.engine.wiring import build_engine
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
for line in sys.stdin:
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        sys.argv = ["outreach-tui", "--config", sys.argv[1], "worker"]
        try:
            main()
        finally:
            os._exit(1)
    print(pid, flush=True)
"""


class Zygote:
    def __init__(self, config: Path, log: Path) -> None:
        env = {**os.environ, PASSWORD_ENV: PASSWORD}
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _ZYGOTE, str(config)],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=out,
            )

    def start_worker(self) -> int:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(b"fork\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line.strip().isdigit(), f"the zygote failed: {line!r}"
        return int(line)

    def close(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.proc.stdout.close()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def kill_repeatedly(rng, server, config: Path, out: Path, per_kill: int) -> int:
    """Start the worker, SIGKILL it at a random moment, KILLS times; returns the kills."""
    kills = 0
    zygote = Zygote(config, out)
    try:
        while kills < KILLS:
            before = server.received_count
            pid = zygote.start_worker()
            try:
                kill_at_random(rng, server, pid, out, before, per_kill)
            finally:
                os.kill(pid, signal.SIGKILL)
                deadline = time.monotonic() + 30
                while alive(pid):
                    assert time.monotonic() < deadline, "a killed worker did not go away"
                    time.sleep(0.005)
            kills += 1
    finally:
        zygote.close()
    return kills


def kill_at_random(rng, server, pid: int, out: Path, before: int, per_kill: int) -> None:
    """Most kills wait for the sink to take a random number of messages (so they land while
    sending: before, during and after DATA, between the 250 and the commit); the others land
    at a random time after the start (migrations, recovery, leases, planning)."""
    if rng.random() < 0.2:
        time.sleep(rng.uniform(0.02, 0.6))
    else:
        target = before + rng.randint(1, 2 * per_kill)
        deadline = time.monotonic() + PROGRESS_TIMEOUT
        while server.received_count < target and alive(pid):
            assert time.monotonic() < deadline, f"no progress after a restart\n{tail(out)}"
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.02))
    assert alive(pid), f"the worker exited by itself\n{tail(out)}"


@pytest.mark.timeout(400)
def test_sigkill_at_random_moments_never_sends_twice_or_loses_a_row(tmp_path, smtp_server, pki):
    print(f"\ncrash test: CRASH_SEED={SEED} leads={LEADS} steps={STEPS} kills={KILLS}")
    rng = random.Random(SEED)
    server = smtp_server(security="starttls", users=server_users(BOXES))
    config = write_world(tmp_path, server, pki)
    out = tmp_path / "worker.out"
    run(config, out, "campaign", "create", "--from", str(tmp_path / "campaign.toml"))
    run(config, out, "leads", "import", str(tmp_path / "leads.csv"), "--campaign", "Crash")

    total = LEADS * STEPS
    per_kill = max(2, int(total * 0.6 / max(KILLS, 1)))
    started = time.monotonic()
    kills = kill_repeatedly(rng, server, config, out, per_kill)
    killing = time.monotonic() - started

    # An uninterrupted run finishes the campaign.
    run(config, out, "worker", "--until-idle", timeout=240)

    received = server.received
    engine = create_engine(f"sqlite:///{tmp_path / 'crash.db'}")
    try:
        with engine.connect() as conn:
            attempts = {
                row.message_id: row
                for row in conn.execute(
                    select(
                        t.attempt.c.id,
                        t.attempt.c.message_id,
                        t.attempt.c.lead_id,
                        t.attempt.c.step_position,
                        t.attempt.c.state,
                    )
                )
            }
            counters = dict(
                conn.execute(
                    select(t.daily_counter.c.scope, func.sum(t.daily_counter.c.count)).group_by(
                        t.daily_counter.c.scope
                    )
                ).all()
            )
            enrollments = Counter(conn.execute(select(t.campaign_lead.c.state)).scalars().all())
            integrity = conn.execute(text("PRAGMA integrity_check")).scalar()
    finally:
        engine.dispose()

    states = Counter(row.state for row in attempts.values())
    per_lead_step = Counter((row.lead_id, row.step_position) for row in attempts.values())
    delivered: Counter[tuple[int, int]] = Counter()
    orphans = []
    for message in received:
        match = _MESSAGE_ID.search(message.data)
        row = attempts.get(match.group(1).decode()) if match else None
        if row is None:
            orphans.append(message.rcpt_tos)
            continue
        assert row.state in ("sent", "unknown"), (row, "received by the sink but not final")
        delivered[(row.lead_id, row.step_position)] += 1
    print(
        f"crash test: kills={kills} in {killing:.0f} s, received by sink={len(received)}, "
        f"attempts={len(attempts)} sent={states['sent']} unknown={states['unknown']} "
        f"failed={states['failed']} rejected={states['rejected']} other="
        f"{sum(n for s, n in states.items() if s not in FINAL_STATES)}, "
        f"enrollments={dict(enrollments)}"
    )

    assert kills == KILLS
    assert orphans == [], "messages at the sink without a ledger row"
    assert [key for key, n in delivered.items() if n > 1] == [], "a (lead, step) sent twice"
    assert [key for key, n in per_lead_step.items() if n > 1] == [], "a step queued twice"
    assert set(states) <= FINAL_STATES, states
    sent = states["sent"]
    assert counters == {"user": sent, "domain": sent, "mailbox": sent}
    assert sent <= len(received) <= sent + states["unknown"]
    # Every lead's sequence ran to its end, or is held on an unknown outcome.
    assert set(enrollments) <= {"finished", "held"}, enrollments
    assert sent + states["unknown"] == len(attempts)
    assert integrity == "ok"


def test_a_restarted_worker_takes_over_the_leases_of_a_dead_process_on_this_host(tmp_path):
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert

    from outreach_tui.config import load_settings
    from outreach_tui.engine import build_engine
    from outreach_tui.engine.sending.leases import new_holder_id

    settings = load_settings(None, database_url=f"sqlite:///{tmp_path / 'l.db'}")
    build_engine(settings, headless=True).close_sync()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = new_holder_id("worker").split("@", 1)[1].split(":", 1)[0]
    holders = {
        "mailbox:1": f"worker@{host}:{dead.pid}:0badc0de",  # gone: freed
        "mailbox:2": f"worker@{host}:{os.getppid()}:0badc0de",  # alive: kept
        "mailbox:3": f"worker@other-host:{dead.pid}:0badc0de",  # another host: kept
    }
    later = datetime.now(UTC) + timedelta(minutes=5)
    engine = create_engine(settings.database_url)
    with engine.begin() as conn:
        for name, holder in holders.items():
            conn.execute(
                insert(t.lease).values(name=name, holder=holder, expires_at=later,
                                       acquired_at=later)
            )  # fmt: skip
    build_engine(settings, headless=True).close_sync()
    with engine.connect() as conn:
        left = set(conn.execute(select(t.lease.c.name)).scalars())
    engine.dispose()
    assert left == {"mailbox:2", "mailbox:3"}
