"""A 3-step sequence over 200 leads and 5 mailboxes, against a real loopback SMTP server,
on a simulated clock (two weeks in seconds). The server's own record of what it received is
the ground truth."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from outreach_tui.core.states import LeadStatus
from outreach_tui.db import tables as t
from outreach_tui.engine.clock import SimulatedClock
from tests.functional.campaign_helpers import (
    MAILBOXES,
    create_campaign,
    import_leads,
    pool_engine,
    run_ticks,
    server_users,
    write_campaign,
)
from tests.functional.helpers import PASSWORD, PASSWORD_ENV, START

CAMPAIGN = """
name = "Guest posts Q1"
approval = "auto"
timezone = "recipient"
default_timezone = "Europe/Berlin"
postal_address = "Example Ltd, 1 Main St, Springfield"
[window]
days = ["mon", "tue", "wed", "thu", "fri"]
start = "09:00"
end = "17:00"
[[steps]]
subject = "{Quick|Short} question about {{company}}"
body = "Hi {{first_name|there}},\\nwould {{company}} take a guest post?"
[[steps]]
delay_days = 2
body = "Just bumping this up, {{first_name|there}}."
[[steps]]
delay_days = 3
body = "Last note from me, {{first_name|there}}."
"""

ZONES = {"berlin": "Europe/Berlin", "ny": "America/New_York"}
REPLIERS = ("lead47@firm7.com", "lead48@firm8.com")


def lead_rows():
    for i in range(200):
        # 40 leads at one big company test the per-domain cap; the rest spread out.
        domain = "bigcorp.com" if i < 40 else f"firm{i % 40}.com"
        yield {
            "email": f"lead{i}@{domain}",
            "first_name": f"Name{i}" if i % 5 else "",
            "company": f"Company {i}",
            "timezone": ZONES["berlin"] if i % 2 else ZONES["ny"],
        }


@pytest.fixture(autouse=True)
def smtp_password(monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


@pytest.fixture(scope="module")
def world(tmp_path_factory, pki):
    """Run the whole two weeks once; the tests below read what happened."""
    from tests.servers.smtp import ScriptedSmtpServer

    tmp_path = tmp_path_factory.mktemp("sequence")
    server = ScriptedSmtpServer(pki, security="starttls", users=server_users())
    server.start()
    clock = SimulatedClock(START)  # Monday 2026-03-02 10:00 UTC
    mp = pytest.MonkeyPatch()
    mp.setenv(PASSWORD_ENV, PASSWORD)
    engine = pool_engine(
        tmp_path,
        server,
        pki,
        clock,
        sending={"min_gap_seconds": 60, "max_gap_seconds": 240, "default_daily_limit": 80},
        policy={"daily_user_cap": 10_000},
        scheduler={"dispatch_batch": 1000, "plan_batch": 500},
    )
    create_campaign(engine, write_campaign(tmp_path, CAMPAIGN))
    report = import_leads(engine, tmp_path, lead_rows(), "Guest posts Q1")
    assert report.imported == 200 and report.enrolled == 200

    replied_at = {}

    def replies(index):
        # On Wednesday noon two leads answer: one between steps, one whose step 2 may be queued.
        if clock.now() >= START + timedelta(days=2, hours=2) and not replied_at:
            for email in REPLIERS:
                engine.stop_sequences(email, reason="lead replied", status=LeadStatus.REPLIED)
                replied_at[email] = clock.now()

    run_ticks(engine, clock, minutes=15, total_hours=24 * 13, on_tick=replies)
    yield engine, server, replied_at
    asyncio.run(engine.aclose())
    server.stop()
    mp.undo()


def sent_attempts(engine):
    with engine.db.connect() as conn:
        return conn.execute(
            select(t.attempt, t.lead.c.timezone.label("tz"))
            .join(t.lead, t.lead.c.id == t.attempt.c.lead_id)
            .where(t.attempt.c.state == "sent")
        ).all()


def test_every_lead_and_step_is_sent_exactly_once(world):
    engine, server, _ = world
    rows = sent_attempts(engine)
    pairs = Counter((r.recipient_email, r.step_position) for r in rows)
    assert max(pairs.values()) == 1
    expected = {
        (f"lead{i}@{'bigcorp.com' if i < 40 else f'firm{i % 40}.com'}", step)
        for i in range(200)
        for step in (1, 2, 3)
    }
    missing = expected - set(pairs)
    # Only the two leads that replied miss steps, and only steps after their reply.
    assert {email for email, _ in missing} <= set(REPLIERS)
    received_ids = [m.parsed()["Message-ID"] for m in server.received]
    assert len(received_ids) == len(set(received_ids)) == len(rows)
    assert sorted(received_ids) == sorted(r.message_id for r in rows)


def test_steps_are_spaced_by_their_delays_and_come_from_the_same_mailbox(world):
    engine, _, _ = world
    by_lead = defaultdict(dict)
    for r in sent_attempts(engine):
        by_lead[r.recipient_email][r.step_position] = r
    for steps in by_lead.values():
        if 2 in steps:
            assert steps[2].sent_at - steps[1].sent_at >= timedelta(days=2)
            assert steps[2].sender_email == steps[1].sender_email
        if 3 in steps:
            assert steps[3].sent_at - steps[2].sent_at >= timedelta(days=3)
            assert steps[3].sender_email == steps[1].sender_email
    assert {r.sender_email for r in sent_attempts(engine)} == set(MAILBOXES)


def test_follow_ups_are_threaded_replies_to_the_previous_step(world):
    _, server, _ = world
    by_id = {}
    by_recipient = defaultdict(list)
    for message in server.received:
        parsed = message.parsed()
        by_id[parsed["Message-ID"]] = parsed
        by_recipient[message.rcpt_tos[0]].append(parsed)
    checked = 0
    for parsed in by_id.values():
        parent_id = parsed["In-Reply-To"]
        if parent_id is None:
            assert not parsed["Subject"].startswith("Re:")
            continue
        parent = by_id[parent_id]
        assert parent_id in parsed["References"]
        root_subject = parent["Subject"].removeprefix("Re: ")
        assert parsed["Subject"] == f"Re: {root_subject}"
        assert parsed["From"] == parent["From"]
        checked += 1
    assert checked >= 390  # (200 - 2) leads x 2 follow-ups, less the replied ones


def test_templates_are_rendered_with_defaults_and_deterministic_spintax(world):
    _, server, _ = world
    subjects = set()
    for message in server.received:
        parsed = message.parsed()
        body = parsed.get_body().get_content()
        assert "{{" not in body and "{" not in parsed["Subject"]
        if parsed["In-Reply-To"] is None:
            subjects.add(parsed["Subject"].split(" ")[0])
            assert "Example Ltd, 1 Main St, Springfield" in body
        if message.rcpt_tos[0] == "lead0@bigcorp.com":  # no first name: the default
            assert "Hi there," in body or "bumping this up, there." in body or "there." in body
    assert subjects == {"Quick", "Short"}


def test_sends_fall_inside_the_window_in_the_recipients_timezone(world):
    engine, _, _ = world
    zones_seen = set()
    for r in sent_attempts(engine):
        local = r.sent_at.astimezone(ZoneInfo(r.tz))
        assert local.weekday() < 5, (r.recipient_email, local)
        assert 9 <= local.hour < 17, (r.recipient_email, local)
        zones_seen.add(r.tz)
    assert zones_seen == set(ZONES.values())


def test_recipient_domain_cap_holds_every_day(world):
    engine, _, _ = world
    per_day = Counter((r.recipient_domain, r.sent_at.date()) for r in sent_attempts(engine))
    assert per_day[max(per_day, key=per_day.get)] <= 20
    assert max(n for (domain, _), n in per_day.items() if domain == "bigcorp.com") == 20


def test_a_lead_that_replied_gets_no_further_step(world):
    engine, _, replied_at = world
    assert set(replied_at) == set(REPLIERS)
    for r in sent_attempts(engine):
        if r.recipient_email in replied_at:
            assert r.sent_at <= replied_at[r.recipient_email]
    with engine.db.connect() as conn:
        states = conn.execute(
            select(t.campaign_lead.c.state, t.campaign_lead.c.stop_reason)
            .join(t.lead, t.lead.c.id == t.campaign_lead.c.lead_id)
            .where(t.lead.c.email.in_(REPLIERS))
        ).all()
    assert states == [("stopped", "lead replied")] * 2


def test_campaign_is_finished_once_every_lead_is_final(world):
    engine, _, _ = world
    assert engine.campaigns.refresh_finished() == ["Guest posts Q1"]
    (summary,) = engine.campaigns.summaries()
    assert summary.status == "finished"
    assert (summary.leads, summary.finished, summary.stopped) == (200, 198, 2)
    assert summary.sent == len(sent_attempts(engine))
