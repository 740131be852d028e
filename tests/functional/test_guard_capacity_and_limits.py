"""The capacity planner against the weekly warmup worked out by hand, and the recovery phases'
daily limits holding in the dispatcher (real loopback SMTP, simulated clock)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from outreach_tui.db import tables as t
from outreach_tui.db.session import read_tx, write_tx
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


def table(output: str) -> dict[int, tuple[int, int]]:
    rows = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0].isdigit():
            rows[int(parts[0])] = (int(parts[2]), int(parts[3]))
    return rows


def test_capacity_of_thirty_new_mailboxes_follows_the_weekly_schedule_by_hand(
    db_url, tmp_path, monkeypatch
):
    config = tmp_path / "config.toml"
    config.write_text("[policy]\ndaily_user_cap = 5000\n", encoding="utf-8")
    result = run_cli(
        db_url, "--config", str(config), "capacity", "--mailboxes", "30", "--domains", "10",
        "--target", "1200", "--days", "35", "--start", "2026-03-02",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = table(result.output)
    # By hand: 30 mailboxes x 5, 10, 20, 35, 50 a day in weeks 1..5.
    by_hand = {week: 30 * per_day for week, per_day in enumerate([5, 10, 20, 35, 50], start=1)}
    assert len(rows) == 35
    for day, (mailboxes, capacity) in rows.items():
        week = (day - 1) // 7 + 1
        assert mailboxes == capacity == by_hand[week], day
    # 1,050/day in week 4; 1,500/day from day 29 (week 5, 2026-03-30).
    assert "target 1200/day reached on day 29 (2026-03-30)" in result.output
    assert "30 new mailboxes on 10 sending domains" in result.output


def test_capacity_says_when_the_daily_user_cap_keeps_the_target_out_of_reach(db_url):
    result = run_cli(db_url, "capacity", "--mailboxes", "30", "--target", "1200", "--days", "35")
    assert result.exit_code == 0
    assert table(result.output)[35] == (1500, 100)
    assert "not reached in 35 days" in result.output and "daily_user_cap = 100" in result.output


def test_capacity_refuses_domains_without_mailboxes_with_a_clear_message(db_url):
    result = run_cli(db_url, "capacity", "--domains", "3")
    assert result.exit_code != 0 and "--domains needs --mailboxes" in result.output


@pytest.fixture
def smtp(pki):
    from tests.servers.smtp import ScriptedSmtpServer

    box = "rec1@sender1.com"
    server = ScriptedSmtpServer(pki, security="starttls", users=server_users([box]))
    server.start()
    yield server, box
    server.stop()


CAMPAIGN = f"""
name = "Limits"
approval = "auto"
timezone = "UTC"
postal_address = "Example Ltd, 1 Main St, Springfield"
{ALWAYS_OPEN}
[[steps]]
subject = "Hello {{{{company}}}}"
body = "Hi"
"""


def test_a_restricted_mailbox_sends_ten_a_day_even_with_a_queue_planned_while_healthy(
    tmp_path, pki, smtp, monkeypatch
):
    server, box = smtp
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    clock = SimulatedClock(START)
    engine = pool_engine(
        tmp_path, server, pki, clock, [box],
        sending={"min_gap_seconds": 60, "max_gap_seconds": 60, "default_daily_limit": 40},
        policy={"daily_user_cap": 10_000},
    )  # fmt: skip
    try:
        create_campaign(engine, write_campaign(tmp_path, CAMPAIGN))
        rows = [{"email": f"p{i}@r{i}.com", "company": f"C{i}"} for i in range(40)]
        import_leads(engine, tmp_path, rows, "Limits")
        engine.plan()  # HEALTHY: up to 40 queued for today
        with read_tx(engine.db) as conn:
            queued = conn.execute(
                select(func.count()).select_from(t.attempt).where(t.attempt.c.state == "approved")
            ).scalar()
        assert queued > 10
        with write_tx(engine.db) as conn:
            conn.execute(
                update(t.mailbox).values(phase="RESTRICTED_SEND", phase_changed_at=clock.now())
            )

        async def dispatch_for(hours: float) -> None:
            for _ in range(int(hours * 60)):
                await engine.dispatch()
                clock.advance(minutes=1)

        async def run() -> None:
            try:
                await dispatch_for(12)  # the rest of day 1 (10:00 → 22:00 UTC)
            finally:
                await engine.transport.close()

        asyncio.run(run())
        assert len(server.received) == 10
        assert engine.queries.mailboxes()[0].limit_today == 10
        with write_tx(engine.db) as conn:
            conn.execute(update(t.mailbox).values(phase="WARM_RECOVERY"))
        clock.set(START + timedelta(days=1))
        assert engine.queries.mailboxes()[0].limit_today == 40  # 55 on day 2, under HEALTHY's 40
    finally:
        engine.close_sync()
