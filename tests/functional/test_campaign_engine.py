"""Campaign engine behaviours against a real loopback SMTP server: templates that cannot be
rendered, the approval queue, pause/resume, the "why not sent" explainer and the forecast."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from outreach_tui.core.errors import InputError
from outreach_tui.core.states import LeadStatus
from outreach_tui.db import tables as t
from outreach_tui.db.repos.counters import increment_counter
from outreach_tui.engine.clock import SimulatedClock
from outreach_tui.engine.sending.campaigns import load_campaign_file
from tests.functional.campaign_helpers import (
    ALWAYS_OPEN,
    create_campaign,
    import_leads,
    pool_engine,
    run_ticks,
    server_users,
    write_campaign,
)
from tests.functional.helpers import PASSWORD, PASSWORD_ENV, START

BOXES = ["rep1@sender1.com", "rep2@sender2.com"]


def campaign_text(name="Test", approval="auto", subject="Hello {{company}}", extra=""):
    return f"""
name = "{name}"
approval = "{approval}"
timezone = "UTC"
{extra}
{ALWAYS_OPEN}
[[steps]]
subject = "{subject}"
body = "Hi {{{{first_name|there}}}}"
[[steps]]
delay_days = 1
body = "Following up."
"""


@pytest.fixture(autouse=True)
def smtp_password(monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


@pytest.fixture
def server(smtp_server):
    return smtp_server(security="starttls", users=server_users(BOXES))


@pytest.fixture
def clock():
    return SimulatedClock(START)


@pytest.fixture
def engine(tmp_path, server, pki, clock):
    eng = pool_engine(
        tmp_path,
        server,
        pki,
        clock,
        mailboxes=BOXES,
        sending={"min_gap_seconds": 0, "max_gap_seconds": 0},
    )
    yield eng
    asyncio.run(eng.aclose())


def leads(n, **extra):
    return [
        {"email": f"p{i}@co{i}.com", "first_name": f"P{i}", "company": f"Co {i}", **extra}
        for i in range(n)
    ]


def attempts(engine, *where):
    with engine.db.connect() as conn:
        return conn.execute(select(t.attempt).where(*where).order_by(t.attempt.c.id)).all()


def test_a_template_with_a_missing_variable_blocks_only_that_send(tmp_path, engine, server, clock):
    create_campaign(engine, write_campaign(tmp_path, campaign_text()))
    rows = leads(3)
    rows[1]["company"] = ""  # {{company}} has no default
    import_leads(engine, tmp_path, rows, "Test")
    run_ticks(engine, clock, minutes=10, total_hours=1)
    recipients = sorted(m.rcpt_tos[0] for m in server.received)
    assert recipients == ["p0@co0.com", "p2@co2.com"]
    assert engine.explainer.why("p1@co1.com")[0].message.startswith(
        "sequence stopped: template of step 1: missing variable {{company}}"
    )
    with engine.db.connect() as conn:
        audit = conn.execute(
            select(t.audit_log.c.policy_result, t.audit_log.c.reason).where(
                t.audit_log.c.lead_email == "p1@co1.com"
            )
        ).all()
    assert (
        "blocked",
        "template of step 1: missing variable {{company}} (no value and no default)",
    ) in audit


def test_manual_campaign_waits_for_approval_and_audits_every_decision(
    tmp_path, engine, server, clock
):
    create_campaign(engine, write_campaign(tmp_path, campaign_text(approval="manual")))
    import_leads(engine, tmp_path, leads(4), "Test")
    run_ticks(engine, clock, minutes=10, total_hours=1)
    assert server.received == []
    queue = engine.approvals.page()
    assert [q.recipient for q in queue] == [f"p{i}@co{i}.com" for i in range(4)]
    assert queue[0].subject == "Hello Co 0" and queue[0].body == "Hi P0"
    assert "waiting for approval" in str(engine.explainer.why("p0@co0.com")[0])

    engine.approvals.edit(queue[0].attempt_id, subject="Hello again", body="Edited body")
    assert engine.approvals.approve([queue[0].attempt_id, queue[1].attempt_id]) == 2
    assert engine.approvals.reject([queue[2].attempt_id], reason="wrong person") == 1
    run_ticks(engine, clock, minutes=10, total_hours=1)

    received = {m.rcpt_tos[0]: m.parsed() for m in server.received}
    assert set(received) == {"p0@co0.com", "p1@co1.com"}
    assert received["p0@co0.com"]["Subject"] == "Hello again"
    assert received["p0@co0.com"].get_body().get_content().startswith("Edited body")
    with engine.db.connect() as conn:
        results = [
            r.policy_result
            for r in conn.execute(
                select(t.audit_log).where(t.audit_log.c.lead_email == "p0@co0.com")
            )
        ]
    assert results[:4] == ["planned", "edited", "approved", "allowed"]
    assert "rejected by operator: wrong person" in str(engine.explainer.why("p2@co2.com")[0])
    with pytest.raises(InputError, match="not waiting for approval"):
        engine.approvals.edit(queue[0].attempt_id, subject="x", body="y")
    with pytest.raises(InputError, match="Subject"):
        engine.approvals.edit(queue[3].attempt_id, subject="Hi\r\nBcc: x@y.z", body="y")


def test_pause_and_resume_never_restart_the_list_or_resend_a_step(tmp_path, engine, server, clock):
    create_campaign(engine, write_campaign(tmp_path, campaign_text()))
    import_leads(engine, tmp_path, leads(6), "Test")
    run_ticks(engine, clock, minutes=10, total_hours=1)
    assert len(server.received) == 6
    assert engine.campaigns.set_status("Test", engine_status("paused"), reason="checking copy")
    run_ticks(engine, clock, minutes=60, total_hours=30)  # step 2 falls due while paused
    assert len(server.received) == 6
    assert "campaign is paused (checking copy)" in str(engine.explainer.why("p0@co0.com")[0])
    assert engine.campaigns.set_status("Test", engine_status("active"))
    run_ticks(engine, clock, minutes=60, total_hours=30)
    per_step = sorted(
        (a.recipient_email, a.step_position) for a in attempts(engine, t.attempt.c.state == "sent")
    )
    assert per_step == sorted((f"p{i}@co{i}.com", s) for i in range(6) for s in (1, 2))
    assert len(server.received) == 12
    assert engine.campaigns.refresh_finished() == ["Test"]


def engine_status(value):
    from outreach_tui.core.states import CampaignStatus

    return CampaignStatus(value)


def test_why_names_the_gate_for_caps_windows_suppression_and_delay(tmp_path, engine, server, clock):
    create_campaign(engine, write_campaign(tmp_path, campaign_text()))
    import_leads(engine, tmp_path, leads(2), "Test")
    engine.suppression.add("p1@co1.com", reason="asked")
    run_ticks(engine, clock, minutes=10, total_hours=1)
    why0 = [str(w) for w in engine.explainer.why("p0@co0.com")]
    assert any("step 2 of 2 due" in w for w in why0)
    why1 = [str(w) for w in engine.explainer.why("p1@co1.com")]
    assert any("suppression: p1@co1.com is on the suppression list" in w for w in why1)
    assert any("lead is suppressed" in w for w in why1)
    assert [str(w) for w in engine.explainer.why("nobody@nowhere.com")] == [
        "lead: no lead with the address nobody@nowhere.com"
    ]


def test_why_explains_a_window_that_is_closed(tmp_path, engine, clock):
    text = campaign_text(extra="").replace(
        'days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]', 'days = ["sat"]'
    )
    create_campaign(engine, write_campaign(tmp_path, text))
    import_leads(engine, tmp_path, leads(1), "Test")
    engine.plan()
    (why,) = engine.explainer.why("p0@co0.com")
    assert why.gate == "window" and "scheduled for 2026-03-07 00:00 UTC" in why.message


def test_forecast_lists_the_next_sends_without_sending(tmp_path, engine, server, clock):
    create_campaign(engine, write_campaign(tmp_path, campaign_text()))
    import_leads(engine, tmp_path, leads(5), "Test")
    before = [list(engine.explainer.forecast(24)) for _ in range(2)]
    assert before[0] == before[1]  # deterministic
    rows = before[0]
    assert {r.recipient for r in rows} == {f"p{i}@co{i}.com" for i in range(5)}
    assert all(r.planned and r.step == 1 for r in rows)
    assert {r.sender for r in rows} <= set(BOXES)
    engine.plan()
    queued = engine.explainer.forecast(24)
    assert {r.recipient for r in queued} == {r.recipient for r in rows}
    assert not any(r.planned for r in queued)
    assert server.received == []
    assert all(a.state == "approved" for a in attempts(engine))


def test_campaign_file_errors_name_the_file_and_key(tmp_path):
    path = write_campaign(
        tmp_path,
        """
name = "Bad"
approval = "sometimes"
colour = "red"
[window]
days = ["mon", "caturday"]
[[steps]]
body = "Hi {{first_name"
""",
    )
    with pytest.raises(InputError) as err:
        load_campaign_file(path)
    text = str(err.value)
    assert str(path) in text
    for needle in ("approval", "colour: unknown key", "caturday", "steps[1].body"):
        assert needle in text, needle


def test_unknown_mailbox_in_a_campaign_is_refused(tmp_path, engine):
    path = write_campaign(tmp_path, campaign_text(extra='mailboxes = ["ghost@nowhere.com"]'))
    with pytest.raises(InputError, match="unknown mailbox"):
        create_campaign(engine, path)


def test_yellow_leads_are_capped_per_mailbox_per_day(tmp_path, engine, clock):
    create_campaign(engine, write_campaign(tmp_path, campaign_text()))
    import_leads(engine, tmp_path, leads(10), "Test")
    with engine.db.begin() as conn:
        conn.execute(t.lead.update().values(health="YELLOW"))
    report = engine.plan()
    assert report.planned == 4  # 2 mailboxes x 2 YELLOW a day
    clock.advance(timedelta(days=1).total_seconds())
    assert engine.plan().planned == 4


def test_a_reply_from_the_company_stops_every_lead_there_when_the_campaign_asks(
    tmp_path, engine, server, clock
):
    create_campaign(
        engine, write_campaign(tmp_path, campaign_text(extra="stop_on_company_reply = true"))
    )
    rows = [
        {"email": f"{name}@acme.com", "first_name": name, "company": "Acme"}
        for name in ("ann", "bob", "cid")
    ] + leads(1)
    import_leads(engine, tmp_path, rows, "Test")
    run_ticks(engine, clock, minutes=10, total_hours=1)
    assert len(server.received) == 4
    stopped = engine.stop_sequences(
        "bob@acme.com", reason="lead replied", status=LeadStatus.REPLIED, company_wide=True
    )
    assert stopped == 3
    run_ticks(engine, clock, minutes=60, total_hours=30)
    follow_ups = [m.rcpt_tos[0] for m in server.received[4:]]
    assert follow_ups == ["p0@co0.com"]
    assert "sequence stopped: lead replied" in str(engine.explainer.why("ann@acme.com")[-1])


def enrollment_of(engine, email):
    with engine.db.connect() as conn:
        return conn.execute(
            select(t.campaign_lead)
            .join(t.lead, t.lead.c.id == t.campaign_lead.c.lead_id)
            .where(t.lead.c.email == email)
        ).one()


def test_a_step_whose_mailbox_is_at_its_limit_waits_with_a_reason_until_it_has_room(
    tmp_path, engine, server, clock
):
    create_campaign(engine, write_campaign(tmp_path, campaign_text()))
    with engine.db.begin() as conn:
        conn.execute(t.mailbox.update().values(daily_limit=1))
    import_leads(engine, tmp_path, leads(3), "Test")

    # Both mailboxes take one step each; the third waits for the day to turn (UTC here).
    report = engine.plan()
    assert (report.planned, report.waiting_for_mailbox) == (2, 1)
    waiting = enrollment_of(engine, "p2@co2.com")
    reason = "waiting: every mailbox of the campaign is at its limit or not sending"
    assert waiting.state == "active" and waiting.stop_reason == reason
    assert waiting.next_due_at == START.replace(day=3, hour=0)
    (why,) = engine.explainer.why("p2@co2.com")
    assert why.gate == "schedule"
    assert why.message == f"step 1 of 2 due 2026-03-03 00:00 UTC ({reason})"
    again = engine.plan()  # put back: the next tick does not read it again
    assert (again.planned, again.waiting_for_mailbox) == (0, 0)

    run_ticks(engine, clock, minutes=10, total_hours=1)  # step 1 to p0 and p1
    assert sorted(m.rcpt_tos[0] for m in server.received) == ["p0@co0.com", "p1@co1.com"]
    (first,) = attempts(engine, t.attempt.c.recipient_email == "p0@co0.com")
    sticky = first.sender_email

    # Next day, after step 2 fell due: p0's mailbox has already sent its one message today.
    clock.advance(timedelta(hours=23, minutes=30).total_seconds())
    with engine.db.begin() as conn:
        increment_counter(conn, "mailbox", sticky, clock.now().date())
    report = engine.plan()
    assert report.planned == 1  # p2 (due first) on the other mailbox
    held = enrollment_of(engine, "p0@co0.com")
    reason = f"waiting: mailbox {sticky} is at its daily limit (1/1)"
    assert (held.state, held.next_step, held.stop_reason) == ("active", 2, reason)
    assert held.next_due_at == START.replace(day=4, hour=0)
    assert [str(w) for w in engine.explainer.why("p0@co0.com")] == [
        f"[Test] schedule: step 2 of 2 due 2026-03-04 00:00 UTC ({reason})"
    ]

    # The day turns: the mailbox has room again and the step is planned, from it, threaded.
    clock.advance(timedelta(hours=14).total_seconds())
    assert engine.plan().planned >= 1
    queued = enrollment_of(engine, "p0@co0.com")
    assert (queued.state, queued.stop_reason) == ("queued", None)
    second = attempts(engine, t.attempt.c.recipient_email == "p0@co0.com")[-1]
    assert (second.step_position, second.sender_email) == (2, sticky)
    assert second.in_reply_to == first.message_id


@pytest.mark.parametrize("delay", [1e9, 1e308, float("inf")])
def test_a_stored_step_delay_beyond_any_date_still_finishes_every_send(
    tmp_path, engine, server, clock, delay
):
    # A campaign stored before delays had bounds (or edited in the database): the next due
    # date of step 2 cannot be computed, but step 1 has already been accepted by the server.
    create_campaign(engine, write_campaign(tmp_path, campaign_text()))
    with engine.db.begin() as conn:
        conn.execute(
            t.sequence_step.update().where(t.sequence_step.c.position == 2).values(delay_days=delay)
        )
    import_leads(engine, tmp_path, leads(3), "Test")
    run_ticks(engine, clock, minutes=10, total_hours=1)
    assert sorted(m.rcpt_tos[0] for m in server.received) == [f"p{i}@co{i}.com" for i in range(3)]
    sent = attempts(engine)
    assert [a.state for a in sent] == ["sent"] * 3
    for a in sent:
        enrollment = enrollment_of(engine, a.recipient_email)
        assert (enrollment.state, enrollment.next_step) == ("active", 2)
        wait = enrollment.next_due_at.replace(tzinfo=None) - a.sent_at.replace(tzinfo=None)
        assert timedelta(0) <= wait <= timedelta(days=365)
