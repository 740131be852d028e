"""The console with its engine running: beside a worker process on the same SQLite file it
never sends an attempt twice; and the demo starts, sends, receives a reply and shows it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from outreach_tui.config import load_settings
from outreach_tui.db import tables as t
from outreach_tui.engine import build_engine
from outreach_tui.engine.clock import SystemClock
from outreach_tui.tui.app import OutreachApp
from tests.functional.backend import database_url
from tests.functional.campaign_helpers import server_users
from tests.functional.helpers import PASSWORD, PASSWORD_ENV
from tests.functional.test_two_workers import BOXES, LEADS, run, write_world


@pytest.fixture(autouse=True)
def smtp_password(monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


def test_console_and_worker_at_once_never_send_an_attempt_twice(tmp_path, smtp_server, pki):
    server = smtp_server(security="starttls", users=server_users(BOXES))
    config, campaign, leads = write_world(tmp_path, server, pki, gap=0.3)
    run(config, "campaign", "create", "--from", str(campaign))
    run(config, "leads", "import", str(leads), "--campaign", "Shared")
    # The worker starts first and holds the mailboxes' leases; the console runs beside it
    # and takes over when the worker is stopped half-way.
    worker = subprocess.Popen(
        [sys.executable, "-m", "outreach_tui", "--config", str(config), "worker"],
        env={**os.environ, PASSWORD_ENV: PASSWORD},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    settings = load_settings(
        config, scheduler={"plan_seconds": 0.3, "dispatch_seconds": 0.2, "lease_seconds": 10}
    )
    engine = build_engine(settings, clock=SystemClock())

    deadline = time.monotonic() + 60
    while len(server.received) < 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    worker_err = ""

    async def scenario() -> None:
        nonlocal worker_err
        app = OutreachApp(engine, refresh_seconds=0.5)
        async with app.run_test(size=(80, 24)) as pilot:
            deadline = time.monotonic() + 120
            while len(server.received) < LEADS and time.monotonic() < deadline:
                await pilot.press("4" if len(server.received) % 2 else "1")
                await asyncio.sleep(0.3)
                if worker.poll() is None and len(server.received) >= LEADS // 2:
                    worker.send_signal(signal.SIGTERM)
                    _, worker_err = await asyncio.to_thread(worker.communicate, timeout=60)
            await pilot.press("q")

    try:
        asyncio.run(scenario())
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate(timeout=60)
    assert worker.returncode == 0, worker_err
    recipients = Counter(m.rcpt_tos[0] for m in server.received)
    assert len(recipients) == LEADS and max(recipients.values()) == 1
    with engine.db.connect() as conn:
        states = dict(
            conn.execute(select(t.attempt.c.state, func.count()).group_by(t.attempt.c.state)).all()
        )
        holders = set(conn.execute(select(t.audit_log.c.user_id)).scalars())
    engine.close_sync()
    assert states == {"sent": LEADS}
    # Both sent: the worker under its configured id, the console under the OS login.
    assert "night-worker" in holders and len(holders) == 2


def test_demo_starts_sends_receives_a_reply_and_shows_it(tmp_path):
    from outreach_tui.demo.world import build_sandbox

    sandbox = build_sandbox(tmp_path, leads=60)

    async def scenario() -> str:
        app = OutreachApp(sandbox.engine, sandbox=sandbox, refresh_seconds=0.5)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("6")
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                await asyncio.sleep(0.5)
                replies = sandbox.engine.queries.replies(limit=5)
                if replies and sandbox.world.received:
                    break
            await pilot.press("6")
            await asyncio.sleep(1.0)
            await app.workers.wait_for_complete()
            screen = app.export_screenshot()
            await pilot.press("q")
            return screen

    screen = asyncio.run(scenario())
    sandbox.engine.close_sync()
    assert sandbox.world.received > 0
    reply = sandbox.engine.queries.replies(limit=1)
    assert reply, "no reply reached the inbox"
    assert "SANDBOX" in screen
    assert reply[0].from_email in screen


def test_status_line_names_a_mailbox_whose_tls_is_not_verified_first_and_in_red(tmp_path):
    settings = load_settings(
        None,
        database_url=database_url(tmp_path),
        mailboxes=[
            {"email": "ok@brand.com", "smtp_host": "127.0.0.1", "smtp_password": "env:X"},
            {
                "email": "risky@brand.com",
                "smtp_host": "127.0.0.1",
                "smtp_password": "env:X",
                "verify_tls": False,
            },
        ],
        logging={"file": str(tmp_path / "o.log")},
    )
    engine = build_engine(settings, clock=SystemClock())

    async def scenario() -> str:
        app = OutreachApp(engine, run_scheduler=False)
        async with app.run_test(size=(80, 24)) as pilot:
            for _ in range(100):
                await pilot.pause(0.05)
                if "TLS NOT VERIFIED" in app.export_screenshot():
                    break
            return app.export_screenshot()

    svg = asyncio.run(scenario())
    engine.close_sync()
    first_line = svg[svg.index("TLS") :][:200]
    assert "TLS&#160;NOT&#160;VERIFIED:&#160;risky@brand.com" in first_line or (
        "TLS NOT VERIFIED: risky@brand.com" in first_line
    )
    assert "ok@brand.com" not in first_line
