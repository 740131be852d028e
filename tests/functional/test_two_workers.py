"""Two `outreach-tui worker` processes on one database (a SQLite file by default) at once,
sending to a real loopback SMTP server: no attempt goes out twice, none is lost, and SIGTERM
stops a worker cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from outreach_tui.db import tables as t
from outreach_tui.db.session import make_engine
from tests.functional.backend import database_url
from tests.functional.campaign_helpers import ALWAYS_OPEN, server_users
from tests.functional.helpers import PASSWORD, PASSWORD_ENV

BOXES = [f"rep{i}@sender{i}.com" for i in range(1, 4)]
LEADS = 90


def write_world(tmp_path, server, pki, gap=0):
    mailboxes = "".join(
        f"""
[[mailboxes]]
email = "{email}"
smtp_host = "{server.host}"
smtp_port = {server.port}
smtp_password = "env:{PASSWORD_ENV}"
"""
        for email in BOXES
    )
    config = tmp_path / "config.toml"
    config.write_text(f"""
database_url = "{database_url(tmp_path)}"
smtp_send_timeout = 60
[operator]
id = "night-worker"
[policy]
daily_user_cap = 10000
daily_domain_cap = 10000
[sending]
min_gap_seconds = {gap}
max_gap_seconds = {gap}
[scheduler]
plan_seconds = 0.5
dispatch_seconds = 0.2
lease_seconds = 10
dispatch_batch = 20
plan_batch = 30
[tls]
ca_file = "{pki.ca_file}"
[verify]
required = false
[dns]
health_checks = false
[warmup]
new_mailboxes = false
[logging]
file = "{tmp_path / "worker.log"}"
{mailboxes}
""")
    campaign = tmp_path / "campaign.toml"
    campaign.write_text(
        """
name = "Shared"
timezone = "UTC"
"""
        + ALWAYS_OPEN
        + """
[[steps]]
subject = "Hello {{company}}"
body = "Hi {{first_name|there}}"
"""
    )
    leads = tmp_path / "leads.csv"
    leads.write_text(
        "email,company\n"
        + "".join(f"lead{i}@company{i % 7}.com,Company {i}\n" for i in range(LEADS))
    )
    return config, campaign, leads


def cli(config, *args, **kwargs):
    env = {**os.environ, PASSWORD_ENV: PASSWORD}
    return subprocess.Popen(
        [sys.executable, "-m", "outreach_tui", "--config", str(config), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def run(config, *args):
    proc = cli(config, *args)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, (args, out, err)
    return out


@pytest.fixture
def world(tmp_path, smtp_server, pki):
    server = smtp_server(security="starttls", users=server_users(BOXES))
    config, campaign, leads = write_world(tmp_path, server, pki)
    run(config, "campaign", "create", "--from", str(campaign))
    run(config, "leads", "import", str(leads), "--campaign", "Shared")
    return server, config, database_url(tmp_path)


def test_two_workers_on_one_sqlite_file_never_send_an_attempt_twice(world):
    server, config, db = world
    workers = [cli(config, "worker", "--until-idle") for _ in range(2)]
    for proc in workers:
        _out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
    # A second round mops up whatever one worker left while the other held a lease.
    run(config, "worker", "--until-idle")

    recipients = Counter(m.rcpt_tos[0] for m in server.received)
    assert len(recipients) == LEADS
    assert max(recipients.values()) == 1
    engine = make_engine(db)
    with engine.connect() as conn:
        states = dict(
            conn.execute(select(t.attempt.c.state, func.count()).group_by(t.attempt.c.state)).all()
        )
        per_step = (
            conn.execute(
                select(func.count())
                .select_from(t.attempt)
                .group_by(t.attempt.c.campaign_lead_id, t.attempt.c.step_position)
            )
            .scalars()
            .all()
        )
    engine.dispose()
    assert states == {"sent": LEADS}
    assert set(per_step) == {1}


def test_sigterm_finishes_the_send_in_flight_and_exits_zero(world):
    server, config, db = world
    from tests.servers.smtp import Rule

    # Every DATA reply takes a while, so SIGTERM lands while a send is in flight.
    server.default_rule = Rule(reply_delay_seconds=0.3)
    proc = cli(config, "worker")
    deadline = time.monotonic() + 30
    while not server.received and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.received, "the worker sent nothing"
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    engine = make_engine(db)
    with engine.connect() as conn:
        in_flight = conn.execute(
            select(func.count())
            .select_from(t.attempt)
            .where(t.attempt.c.state.in_(["sending", "unknown"]))
        ).scalar()
        sent = conn.execute(
            select(func.count()).select_from(t.attempt).where(t.attempt.c.state == "sent")
        ).scalar()
        leases = conn.execute(select(func.count()).select_from(t.lease)).scalar()
    engine.dispose()
    assert in_flight == 0
    assert 0 < sent < LEADS
    assert sent == len(server.received)
    assert leases == 0
