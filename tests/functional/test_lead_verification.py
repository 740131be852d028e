"""Leads are verified before they reach a send queue: the planner holds unverified leads
("waiting for verification"), the verify-leads job and `outreach-tui leads verify` write
status, score and health to each lead, and only GREEN/YELLOW leads are then queued."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from outreach_tui.db import tables as t
from outreach_tui.engine.clock import SimulatedClock
from outreach_tui.engine.runtime.scheduler import EngineJobs
from tests.functional.campaign_helpers import (
    ALWAYS_OPEN,
    create_campaign,
    import_leads,
    pool_engine,
    write_campaign,
)
from tests.functional.conftest import run_cli
from tests.functional.helpers import PASSWORD, PASSWORD_ENV, START
from tests.functional.verify_world import build

LEADS = {
    "ann@valid.vworld.net": ("VALID", "GREEN"),
    "nobody@valid.vworld.net": ("MAILBOX_NOT_FOUND", "RED"),
    "ann@catchall.vworld.net": ("CATCH_ALL", "YELLOW"),
}

CAMPAIGN = f"""
name = "Verified"
approval = "manual"
timezone = "UTC"
{ALWAYS_OPEN}
[[steps]]
subject = "Hello"
body = "Hi"
"""


@pytest.fixture(autouse=True)
def smtp_password(monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


@pytest.fixture
def world(probe_world, probe_dns):
    return build(probe_world, probe_dns)


@pytest.fixture
def engine(world, tmp_path, pki):
    # The sending server is never reached: these tests plan, they do not dispatch.
    server = SimpleNamespace(host="127.0.0.1", port=1)
    verify = world.settings(required=True).model_dump()
    eng = pool_engine(
        tmp_path,
        server,
        pki,
        SimulatedClock(START),
        mailboxes=["rep1@sender1.com"],
        verify=verify,
        dns={"nameservers": [world.dns.nameserver]},
    )
    create_campaign(eng, write_campaign(tmp_path, CAMPAIGN))
    import_leads(eng, tmp_path, [{"email": e} for e in LEADS], "Verified")
    yield eng
    eng.close_sync()


def leads(engine):
    with engine.db.connect() as conn:
        rows = conn.execute(select(t.lead)).all()
    return {row.email: row for row in rows}


def test_the_planner_holds_unverified_leads_until_they_are_verified(engine):
    report = engine.plan()

    assert (report.planned, report.waiting_for_verification) == (0, 3)
    why = [str(line) for line in engine.explainer.why("ann@valid.vworld.net")]
    assert any("waiting for verification" in line for line in why)

    asyncio.run(EngineJobs(engine).verify_leads())

    rows = leads(engine)
    assert {e: (r.verification_status, r.health) for e, r in rows.items()} == LEADS
    assert rows["ann@valid.vworld.net"].verification_score >= 80
    assert rows["ann@valid.vworld.net"].verified_at is not None
    # Verified leads are due again at once: GREEN and YELLOW are queued, RED never.
    report = engine.plan()
    assert report.planned == 2
    assert report.reasons["verification health RED: never queued"] == 1
    with engine.db.connect() as conn:
        queued = set(conn.execute(select(t.attempt.c.recipient_email)).scalars())
    assert queued == {"ann@valid.vworld.net", "ann@catchall.vworld.net"}
    assert any("RED" in str(w) for w in engine.explainer.why("nobody@valid.vworld.net"))


def test_leads_verify_command_writes_each_leads_health(engine, world, tmp_path):
    config = tmp_path / "verify.toml"
    config.write_text(world.config_toml() + f'[logging]\nfile = "{tmp_path / "v.log"}"\n')

    result = run_cli(
        engine.settings.database_url, "--config", str(config), "leads", "verify",
        "--campaign", "Verified", "--no-smtp",
    )  # fmt: skip

    assert result.exit_code == 0, result.stderr
    assert "3 leads verified" in result.stdout
    rows = leads(engine)
    # Without SMTP the mailboxes are not asked: the domain takes mail, nothing more is known.
    assert {e: r.verification_status for e, r in rows.items()} == dict.fromkeys(LEADS, "UNKNOWN")
    assert {r.health for r in rows.values()} == {"YELLOW"}
    assert world.world.total().sessions_opened == 0


def test_verification_not_required_lets_unverified_leads_through(engine):
    engine.settings.verify.required = False  # the planner reads the same settings object

    assert engine.plan().planned == 3
