"""Warmup of new mailboxes: a mailbox added without a daily limit or a warmup start ramps by
the weekly schedule from the day it is added, in rotation (real loopback SMTP, simulated
clock), and `outreach-tui capacity` plans the same numbers; every way in (config, CSV
import, the SMTP_* variables) records that day once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from outreach_tui.config import load_settings
from outreach_tui.db import tables as t
from outreach_tui.db.session import read_tx
from outreach_tui.engine import build_engine
from outreach_tui.engine.clock import SimulatedClock
from tests.functional.campaign_helpers import (
    ALWAYS_OPEN,
    create_campaign,
    import_leads,
    pool_engine,
    server_users,
    write_campaign,
)
from tests.functional.conftest import run_cli
from tests.functional.helpers import PASSWORD, PASSWORD_ENV, START
from tests.functional.test_guard_capacity_and_limits import table

NEW = ["fresh1@sender1.com", "fresh2@sender2.com"]
#: Days of the run (1 = the day the mailboxes are added) and the weekly step each falls in:
#: the first and last day of week 1, then the first day of weeks 2..5 and one after the ramp.
DAYS = {1: 5, 7: 5, 8: 10, 15: 20, 22: 35, 29: 50, 36: 50}

CAMPAIGN = f"""
name = "Warmup"
approval = "auto"
timezone = "UTC"
postal_address = "Example Ltd, 1 Main St, Springfield"
{ALWAYS_OPEN}
[[steps]]
subject = "Hello {{{{company}}}}"
body = "Hi"
"""


@pytest.fixture
def smtp(pki):
    from tests.servers.smtp import ScriptedSmtpServer

    server = ScriptedSmtpServer(pki, security="starttls", users=server_users(NEW))
    server.start()
    yield server
    server.stop()


def started(engine) -> dict[str, date | None]:
    with read_tx(engine.db) as conn:
        return dict(conn.execute(select(t.mailbox.c.email, t.mailbox.c.warmup_started)).all())


def test_a_new_mailbox_ramps_by_the_weekly_schedule_in_rotation_and_capacity_agrees(
    db_url, tmp_path, pki, smtp, monkeypatch
):
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    clock = SimulatedClock(START)  # Monday 10:00 UTC: the mailboxes are added now
    engine = pool_engine(
        tmp_path, smtp, pki, clock, NEW,
        warmup={"new_mailboxes": True},  # the default; the campaign helpers turn it off
        sending={"min_gap_seconds": 0, "max_gap_seconds": 0, "default_daily_limit": 80},
        policy={"daily_user_cap": 10_000},
    )  # fmt: skip
    sent: dict[int, Counter[str]] = {}
    try:
        assert started(engine) == dict.fromkeys(NEW, START.date())
        create_campaign(engine, write_campaign(tmp_path, CAMPAIGN))
        rows = [{"email": f"p{i}@r{i}.com", "company": f"C{i}"} for i in range(400)]
        import_leads(engine, tmp_path, rows, "Warmup")

        async def run() -> None:
            try:
                for day in DAYS:
                    clock.set(START + timedelta(days=day - 1))
                    first = before = len(smtp.received)
                    idle = 0
                    while idle < 3:  # until rotation has nothing left to send today
                        engine.plan()
                        await engine.dispatch()
                        clock.advance(minutes=2)
                        idle = idle + 1 if len(smtp.received) == before else 0
                        before = len(smtp.received)
                    sent[day] = Counter(m.mail_from for m in smtp.received[first:])
            finally:
                await engine.transport.close()

        asyncio.run(run())
    finally:
        engine.close_sync()
    for day, step in DAYS.items():
        # Each new mailbox sends exactly its week's step that day, no more, no less.
        assert sent[day] == dict.fromkeys(NEW, step), day

    result = run_cli(db_url, "capacity", "--start", START.date().isoformat(), "--days", "36")
    assert result.exit_code == 0, result.output
    planned = table(result.output)
    assert "2 configured mailboxes on 2 sending domains" in result.output
    for day in DAYS:
        assert planned[day][0] == sum(sent[day].values()), day
    by_week = [planned[d][0] for d in (1, 7, 8, 14, 15, 21, 22, 28, 29, 36)]
    assert by_week == [10, 10, 20, 20, 40, 40, 70, 70, 100, 100]


def settings(tmp_path, mailboxes, **extra):
    return load_settings(
        None,
        database_url=f"sqlite:///{tmp_path / 'warmup.db'}",
        mailboxes=[
            {"smtp_host": "127.0.0.1", "smtp_port": 9, "smtp_password": "env:NOPE", **box}
            for box in mailboxes
        ],
        logging={"file": str(tmp_path / "log.txt")},
        dns={"health_checks": False},
        **extra,
    )


def test_each_way_in_records_the_first_day_once_and_explicit_limits_win(tmp_path, monkeypatch):
    boxes = [
        {"email": "new@a.example"},
        {"email": "fixed@b.example", "daily_limit": 30},
        {"email": "aged@c.example", "warmup_started": "2025-01-06"},
    ]
    engine = build_engine(settings(tmp_path, boxes), headless=True, clock=SimulatedClock(START))
    engine.close_sync()
    assert started(engine) == {
        "new@a.example": START.date(),
        "fixed@b.example": None,
        "aged@c.example": date(2025, 1, 6),
    }
    limits = {}
    # A restart ten days later (config still silent on it) keeps the recorded start, and the
    # SMTP_* single mailbox, new then, starts its own ramp that day.
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_USER", "solo@d.example")
    monkeypatch.setenv("SMTP_PASS", "not-used")
    later = SimulatedClock(START + timedelta(days=10))
    engine = build_engine(settings(tmp_path, boxes), headless=True, clock=later)
    try:
        limits = {row.email: row.limit_today for row in engine.queries.mailboxes()}
    finally:
        engine.close_sync()
    assert started(engine) == {
        "new@a.example": START.date(),
        "fixed@b.example": None,
        "aged@c.example": date(2025, 1, 6),
        "solo@d.example": later.now().date(),
    }
    # Day 11 of new@ is in week 2; aged@ finished its ramp long ago (min with the default 50).
    assert limits == {
        "new@a.example": 10, "fixed@b.example": 30, "aged@c.example": 50, "solo@d.example": 5,
    }  # fmt: skip


def test_a_mailbox_imported_from_csv_starts_its_ramp_on_the_day_of_the_import(db_url, tmp_path):
    csv_file = tmp_path / "boxes.csv"
    csv_file.write_text(
        "email,smtp_host,smtp_password,daily_limit\n"
        "csv-new@e.example,127.0.0.1,env:NOPE,\n"
        "csv-fixed@f.example,127.0.0.1,env:NOPE,40\n",
        encoding="utf-8",
    )
    before = datetime.now(UTC).date()
    result = run_cli(db_url, "mailboxes", "import", str(csv_file))
    after = datetime.now(UTC).date()
    assert result.exit_code == 0 and "imported 2" in result.output, result.output
    from outreach_tui.db.session import make_engine

    db = make_engine(db_url)
    try:
        with read_tx(db) as conn:
            recorded = dict(
                conn.execute(select(t.mailbox.c.email, t.mailbox.c.warmup_started)).all()
            )
    finally:
        db.dispose()
    assert recorded["csv-new@e.example"] in (before, after)
    assert recorded["csv-fixed@f.example"] is None


def test_new_mailboxes_false_sends_the_full_limit_from_day_one(tmp_path):
    engine = build_engine(
        settings(tmp_path, [{"email": "est@a.example"}], warmup={"new_mailboxes": False}),
        headless=True,
        clock=SimulatedClock(START),
    )
    try:
        assert started(engine) == {"est@a.example": None}
        assert [row.limit_today for row in engine.queries.mailboxes()] == [50]
    finally:
        engine.close_sync()


def test_capacity_of_new_mailboxes_follows_new_mailboxes_false_too(db_url, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("[warmup]\nnew_mailboxes = false\n", encoding="utf-8")
    result = run_cli(db_url, "--config", str(config), "capacity", "--mailboxes", "2", "--days", "8")
    assert result.exit_code == 0, result.output
    assert "no warmup" in result.output
    assert {day: row[0] for day, row in table(result.output).items()} == dict.fromkeys(
        range(1, 9), 100
    )
