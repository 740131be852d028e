"""Several `outreach-tui worker` processes on one real PostgreSQL, sharing 30 mailboxes, all
sending to one loopback SMTP sink: no attempt goes out twice, every mailbox's daily limit and
every recipient-domain cap holds exactly, and a worker killed mid-run (SIGKILL: no clean-up
at all) loses its mailboxes to the others when its leases expire, nothing lost or doubled.

The campaign is planned first with room for every step (100 a mailbox), then the workers
run with the mailboxes' limit lowered to 80 (an operator lowering it, a warmup stage): so
the limits bind at send time, across workers, where only the database can hold them. Leads
sit at 100 domains of 25 (the domain cap, 20, binds) and 500 domains of one.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import String, cast, func, literal, select

from outreach_tui.config import load_settings
from outreach_tui.db import tables as t
from outreach_tui.db.session import make_engine
from outreach_tui.engine import build_engine
from outreach_tui.engine.clock import SystemClock
from outreach_tui.engine.leads.ingest import import_leads_csv
from outreach_tui.engine.sending.campaigns import load_campaign_file
from tests.functional.campaign_helpers import ALWAYS_OPEN, server_users
from tests.functional.helpers import PASSWORD, PASSWORD_ENV

BOXES = [f"rep{i}@sender{i}.com" for i in range(30)]
BIG_DOMAINS, PER_BIG, SOLO = 100, 25, 500
LEADS = BIG_DOMAINS * PER_BIG + SOLO  # 3,000
PLANNED_LIMIT, LIMIT, DOMAIN_CAP = 100, 80, 20
LEASE_SECONDS = 3
MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


def _config(
    tmp_path: Path, url: str, server, pki, daily_limit: int, user_cap: int = 100_000
) -> Path:
    boxes = "".join(
        f"""
[[mailboxes]]
email = "{email}"
smtp_host = "{server.host}"
smtp_port = {server.port}
smtp_password = "env:{PASSWORD_ENV}"
daily_limit = {daily_limit}
"""
        for email in BOXES
    )
    path = tmp_path / f"config-{daily_limit}-{user_cap}.toml"
    path.write_text(f"""
database_url = "{url}"
smtp_send_timeout = 60
[operator]
id = "fleet"
[policy]
daily_user_cap = {user_cap}
daily_domain_cap = {DOMAIN_CAP}
[sending]
min_gap_seconds = 0
max_gap_seconds = 0
[scheduler]
plan_seconds = 0.5
dispatch_seconds = 0.2
lease_seconds = {LEASE_SECONDS}
dispatch_batch = 300
plan_batch = 3000
[verify]
required = false
[tls]
ca_file = "{pki.ca_file}"
[logging]
file = "{tmp_path / "worker.log"}"
{boxes}
""")
    return path


def _leads_csv(tmp_path: Path) -> Path:
    rows = [f"lead{d}-{i}@big{d}.com" for d in range(BIG_DOMAINS) for i in range(PER_BIG)]
    rows += [f"solo{i}@solo{i}.net" for i in range(SOLO)]
    path = tmp_path / "leads.csv"
    path.write_text("email\n" + "\n".join(rows) + "\n")
    return path


@pytest.fixture
def fleet(tmp_path, smtp_server, pki, pg_database, monkeypatch):
    """The sink, a migrated PostgreSQL database with the whole campaign planned, and the
    workers' config (limits lowered to 80)."""
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    server = smtp_server(security="starttls", users=server_users(BOXES))
    planning = load_settings(_config(tmp_path, pg_database, server, pki, PLANNED_LIMIT))
    engine = build_engine(planning, headless=True, clock=SystemClock())
    try:
        campaign = tmp_path / "campaign.toml"
        campaign.write_text(
            'name = "Scale"\ntimezone = "UTC"\n'
            + ALWAYS_OPEN
            + '[[steps]]\nsubject = "Hello from {{sender_name|us}}"\nbody = "Hi there"\n'
        )
        engine.campaigns.create(load_campaign_file(campaign))
        import_leads_csv(
            engine.ctx.db,
            _leads_csv(tmp_path),
            clock=engine.clock,
            operator_id=engine.operator_id,
            campaign="Scale",
        )
        while engine.plan().planned:
            pass
    finally:
        engine.close_sync()
    return server, _config(tmp_path, pg_database, server, pki, LIMIT), pg_database, pki


def _worker(config: Path, n: int) -> subprocess.Popen[bytes]:
    # stderr to a file: a pipe nobody reads while the test waits would block the worker.
    with (config.parent / f"worker{n}.err").open("wb") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "outreach_tui", "--config", str(config), "worker",
             "--until-idle"],
            env={**os.environ, PASSWORD_ENV: PASSWORD},
            stdout=subprocess.DEVNULL,
            stderr=err,
        )  # fmt: skip


def _wait(proc: subprocess.Popen[bytes], config: Path, n: int) -> None:
    proc.wait(timeout=110)
    err = (config.parent / f"worker{n}.err").read_text(errors="replace")
    assert proc.returncode == 0, err[-3000:]


def _attempts(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                select(
                    t.attempt.c.id, t.attempt.c.state, t.attempt.c.message_id,
                    t.attempt.c.sender_email, t.attempt.c.recipient_domain,
                    t.attempt.c.recipient_email, t.attempt.c.sent_at, t.attempt.c.next_attempt_at,
                )
            ).all()  # fmt: skip
    finally:
        engine.dispose()


def _assert_caps_held_exactly(server, attempts) -> None:
    """Nothing doubled, nothing over a cap (counting `unknown` sends, which may have gone
    out), and every step not sent was held back by a cap that was full (so no cap was held
    by sending less than it allows)."""
    assert len(attempts) == LEADS
    received = server.received
    ids = Counter(MESSAGE_ID.search(m.data).group(1).decode() for m in received)
    assert max(ids.values()) == 1, "a Message-ID reached the sink twice"
    assert max(Counter(m.rcpt_tos[0] for m in received).values()) == 1, "a lead got two"
    by_id = {a.message_id.strip("<>"): a for a in attempts}
    for message_id in ids:
        assert by_id[message_id.strip("<>")].state in ("sent", "unknown")
    sent = [a for a in attempts if a.state == "sent"]
    assert {a.message_id.strip("<>") for a in sent} <= {i.strip("<>") for i in ids}
    # A cap counts the sends that may have gone out: `sent`, and `unknown` (a killed
    # worker's sends in flight), so "never over" holds even if every unknown one went out.
    counted = [a for a in attempts if a.state in ("sent", "unknown")]
    per_box = Counter(a.sender_email for a in counted)
    per_domain = Counter(a.recipient_domain for a in counted)
    assert max(per_box.values()) <= LIMIT
    assert max(per_domain.values()) <= DOMAIN_CAP
    assert any(n == LIMIT for n in per_box.values()), "no mailbox reached its limit"
    assert any(n == DOMAIN_CAP for n in per_domain.values()), "no domain reached its cap"
    for a in attempts:
        if a.state in ("sent", "unknown"):
            continue
        assert a.state == "approved", a
        assert per_box[a.sender_email] == LIMIT or per_domain[a.recipient_domain] == DOMAIN_CAP, (
            f"{a.recipient_email} via {a.sender_email} held back below both caps"
        )


def test_three_workers_share_thirty_mailboxes_without_doubling_or_passing_a_cap(fleet):
    server, config, url, _ = fleet
    workers = [_worker(config, n) for n in range(3)]
    for n, proc in enumerate(workers):
        _wait(proc, config, n)

    attempts = _attempts(url)
    _assert_caps_held_exactly(server, attempts)
    assert not [a for a in attempts if a.state == "unknown"]
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            senders = set(conn.execute(select(t.audit_log.c.user_id)).scalars())
            leases_left = conn.execute(select(func.count()).select_from(t.lease)).scalar()
            workers_left = conn.execute(select(func.count()).select_from(t.worker_process)).scalar()
    finally:
        engine.dispose()
    assert senders == {"fleet"}
    assert leases_left == 0 and workers_left == 0  # clean exits give everything back


def test_a_killed_workers_mailboxes_resume_under_another_after_its_leases_expire(fleet):
    server, config, url, _ = fleet
    workers = [_worker(config, n) for n in range(3)]
    deadline = time.monotonic() + 60
    while len(server.received) < 600 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(server.received) >= 600, "the workers did not get going"
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(t.worker_process.c.id, t.worker_process.c.pid)).all()
            pids = {row.pid: row.id for row in rows}
            held = Counter(
                conn.execute(
                    select(t.lease.c.holder).where(t.lease.c.name.startswith("mailbox:"))
                ).scalars()
            )
            victim = max((p for p in workers if p.pid in pids), key=lambda p: held[pids[p.pid]])
            holder = pids[victim.pid]
            victim_boxes = set(
                conn.execute(
                    select(t.mailbox.c.email)
                    .join(
                        t.lease,
                        t.lease.c.name == literal("mailbox:") + cast(t.mailbox.c.id, String),
                    )
                    .where(t.lease.c.holder == holder)
                ).scalars()
            )
            victim.send_signal(signal.SIGKILL)
            killed_at = conn.execute(select(func.now())).scalar()
    finally:
        engine.dispose()
    victim.wait(timeout=30)
    assert victim_boxes, "the killed worker held no mailbox"
    for n, proc in enumerate(workers):
        if proc is not victim:
            _wait(proc, config, n)

    attempts = _attempts(url)
    _assert_caps_held_exactly(server, attempts)
    # Its sends in flight became `unknown` (never resent blindly); nothing stayed `sending`.
    unknown = [a for a in attempts if a.state == "unknown"]
    assert all(a.sender_email in victim_boxes for a in unknown)
    assert len(unknown) <= len(victim_boxes)
    resumed = {
        a.sender_email
        for a in attempts
        if a.state == "sent" and a.sender_email in victim_boxes and a.sent_at > killed_at
    }
    assert resumed, "no mailbox of the killed worker sent again"


def test_the_operators_cap_holds_exactly_when_the_workers_count_it_under_a_shared_lock(
    fleet, tmp_path
):
    """Far from the operator's cap the workers count it under a shared lock (no waiting for
    each other); near it, under the exclusive one (core/cap_locks.py). The test server runs
    300 connections at most, so with a cap of 700 the first ~400 sends share the lock, the
    last ~300 take turns, and the cap holds to the send."""
    server, _, url, pki = fleet
    user_cap = 700
    config = _config(tmp_path, url, server, pki, LIMIT, user_cap=user_cap)
    workers = [_worker(config, n) for n in range(3)]
    for n, proc in enumerate(workers):
        _wait(proc, config, n)

    attempts = _attempts(url)
    received = server.received
    assert max(Counter(m.rcpt_tos[0] for m in received).values()) == 1, "a lead got two"
    counted = [a for a in attempts if a.state in ("sent", "unknown")]
    assert len(counted) == user_cap
    assert len(received) == user_cap
    assert max(Counter(a.sender_email for a in counted).values()) <= LIMIT
    assert max(Counter(a.recipient_domain for a in counted).values()) <= DOMAIN_CAP
    # The rest wait for tomorrow (a full cap defers, it does not reject).
    assert {a.state for a in attempts} - {"sent"} == {"approved"}
    log = (tmp_path / "worker.log").read_text()
    assert "operator cap near full" in log, "the workers never switched to the exclusive lock"


def test_console_on_postgresql_lists_every_worker_with_its_leases_and_heartbeat(
    tmp_path, pg_database, monkeypatch
):
    """The Dashboard of a console attached to a PostgreSQL deployment, at 80x24."""
    import asyncio
    from datetime import timedelta

    from outreach_tui.engine.sending import leases
    from outreach_tui.tui.app import OutreachApp

    settings = load_settings(
        None,
        database_url=pg_database,
        mailboxes=[{"email": e, "smtp_host": "127.0.0.1", "smtp_password": "env:X"}
                   for e in BOXES[:3]],
        scheduler={"lease_seconds": 60},
        verify={"required": False},
        logging={"file": str(tmp_path / "o.log")},
    )  # fmt: skip
    engine = build_engine(settings, clock=SystemClock())
    now = engine.clock.now()
    with engine.db.begin() as conn:
        ids = list(conn.execute(select(t.mailbox.c.id).order_by(t.mailbox.c.id)).scalars())
        # Two machines' workers, as `leases.heartbeat` registers them there; beta is lost.
        for holder, host, pid, seen in (
            ("worker@alpha:101:aa", "alpha", 101, now),
            ("worker@beta:202:bb", "beta", 202, now - timedelta(minutes=5)),
        ):
            conn.execute(
                t.worker_process.insert().values(
                    id=holder, host=host, pid=pid, kind="worker", started_at=seen,
                    heartbeat_at=seen,
                )
            )  # fmt: skip
        for mid in ids[:2]:
            assert leases.acquire(conn, leases.mailbox_lease(mid), "worker@alpha:101:aa", now, 60)
    conn_rows = engine.queries.workers()
    assert conn_rows is not None
    assert [(w.id, w.leases, w.alive) for w in conn_rows] == [
        ("worker@alpha:101:aa", 2, True),
        ("worker@beta:202:bb", 0, False),
    ]

    async def scenario() -> str:
        app = OutreachApp(engine, run_scheduler=False)
        async with app.run_test(size=(80, 24)) as pilot:
            for _ in range(100):
                await pilot.pause(0.05)
                if "Workers" in app.export_screenshot():
                    break
            return app.export_screenshot()

    svg = asyncio.run(scenario()).replace("&#160;", " ")
    engine.close_sync()
    assert "Workers" in svg and "1 live" in svg
    assert "alpha:101" in svg and "beta:202" in svg
