"""Start-up recovery on a database another live process is sending from (a console and an
`outreach-tui worker` on one SQLite file): the sends in flight of the live process are its
own, not a crash's leftovers, and must not become `unknown`; those of a process that is gone
still must.

The worker is a real subprocess sending to a real loopback SMTP server (STARTTLS + AUTH) that
holds every DATA reply for a while, so a send is surely in flight when the second engine
starts in this test process on the same file.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter

import pytest
from sqlalchemy import select

from outreach_tui.config import load_settings
from outreach_tui.db import tables as t
from outreach_tui.db.session import make_engine
from outreach_tui.engine import build_engine
from tests.functional.campaign_helpers import server_users
from tests.functional.helpers import PASSWORD, PASSWORD_ENV
from tests.functional.test_two_workers import BOXES, cli, run, write_world
from tests.servers.smtp import Rule

#: How long the server holds each DATA reply: the worker's send stays `sending` meanwhile.
STALL_SECONDS = 3.0


@pytest.fixture
def world(tmp_path, smtp_server, pki, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    server = smtp_server(security="starttls", users=server_users(BOXES))
    server.default_rule = Rule(stall_after_data_seconds=STALL_SECONDS)
    config, campaign, leads = write_world(tmp_path, server, pki)
    run(config, "campaign", "create", "--from", str(campaign))
    run(config, "leads", "import", str(leads), "--campaign", "Shared")
    return server, config


def attempt_states(config) -> dict[int, str]:
    db = make_engine(str(load_settings(config).database_url))
    try:
        with db.connect() as conn:
            return dict(conn.execute(select(t.attempt.c.id, t.attempt.c.state)).all())
    finally:
        db.dispose()


def sending(config) -> set[int]:
    return {i for i, state in attempt_states(config).items() if state == "sending"}


def wait_for_sends_in_flight(config, worker) -> set[int]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert worker.poll() is None, worker.communicate()
        if in_flight := sending(config):
            return in_flight
        time.sleep(0.05)
    raise AssertionError("the worker never started a send")


def start_second_engine(config) -> list[int]:
    """A console's engine on the same file: build it (start-up recovery runs), close it."""
    engine = build_engine(load_settings(config), headless=False)
    try:
        return engine.recovered_unknown
    finally:
        asyncio.run(engine.aclose())


def test_a_second_engine_leaves_a_live_workers_send_in_flight_alone(world):
    server, config = world
    worker = cli(config, "worker")
    try:
        in_flight = wait_for_sends_in_flight(config, worker)

        assert start_second_engine(config) == []
        # Still in flight (the server holds each reply for seconds), or sent meanwhile.
        assert {attempt_states(config)[i] for i in in_flight} <= {"sending", "sent"}
    finally:
        worker.send_signal(signal.SIGTERM)  # finishes the sends in flight, then exits
        _out, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err
    states = attempt_states(config)
    assert {states[i] for i in in_flight} == {"sent"}
    assert "unknown" not in states.values()
    recipients = Counter(m.rcpt_tos[0] for m in server.received)
    assert recipients and max(recipients.values()) == 1
    assert sum(state == "sent" for state in states.values()) == len(server.received)


def test_a_killed_workers_send_in_flight_still_becomes_unknown(world):
    _server, config = world
    worker = cli(config, "worker")
    try:
        wait_for_sends_in_flight(config, worker)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.communicate(timeout=60)
    left = sending(config)
    assert left

    assert sorted(start_second_engine(config)) == sorted(left)
    assert {attempt_states(config)[i] for i in left} == {"unknown"}
