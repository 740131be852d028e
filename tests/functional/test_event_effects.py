"""What comes back acts once, in the right place, and only when it is about our mail: sends
through a real SMTP server (aiosmtpd, STARTTLS + AUTH), reports read over IMAP from a real
Dovecot, the monitor's pass, the Mailboxes pane (core/event_effects.py decides,
engine/sending/event_effects.py applies)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from outreach_tui.db import tables as t
from outreach_tui.db.repos.counters import window_candidates
from outreach_tui.db.session import read_tx
from outreach_tui.engine.clock import SimulatedClock
from outreach_tui.engine.guard.rates import window_rates
from outreach_tui.engine.sending.pipeline import SendRequest
from tests.functional.helpers import START
from tests.functional.inbox_world import MAILBOX, inbox_engine, rows, seed_thread
from tests.functional.report_mail import arf, dsn
from tests.servers.smtp import Rule

POLICY_TEXT = (
    "554 5.7.1 Service unavailable; client host [192.0.2.1] blocked using zen.spamhaus.org"
)


def counters(engine) -> dict[str, int]:
    with read_tx(engine.db) as conn:
        found = conn.execute(
            select(t.daily_counter.c.scope, func.sum(t.daily_counter.c.count))
            .where(t.daily_counter.c.key == MAILBOX)
            .group_by(t.daily_counter.c.scope)
        ).all()
    engine.db.dispose()
    return {str(scope): int(n) for scope, n in found if n}


def suppressed(engine) -> list[str]:
    return sorted(s.value for s in rows(engine, t.suppression))


def lead_status(engine, email: str) -> str:
    return rows(engine, t.lead, t.lead.c.email == email)[0].status


def mailbox_phase(engine) -> str:
    return rows(engine, t.mailbox, t.mailbox.c.email == MAILBOX)[0].phase


def message_id_of(engine, attempt_id: int) -> str:
    return rows(engine, t.attempt, t.attempt.c.id == attempt_id)[0].message_id


@pytest.fixture
def sending(smtp_server):
    """The mailbox's submission server: STARTTLS, AUTH, per-recipient refusals."""
    return smtp_server(security="starttls", users={MAILBOX: "smtp-secret"})


def engine_for(tmp_path, monkeypatch, dovecot, user, pki, server=None, **extra):
    return inbox_engine(
        tmp_path, monkeypatch, dovecot, user, pki, smtp=server,
        mailbox={"daily_limit": 500}, warmup={"new_mailboxes": False},
        dns={"health_checks": False}, **extra,
    )  # fmt: skip


def send_all(engine, requests):
    async def run():
        try:
            return [await engine.send(r) for r in requests]
        finally:
            await engine.transport.close()

    return asyncio.run(run())


# -- (b) authentic or ignored --------------------------------------------------------------------


@pytest.mark.parametrize("replies_mode", ["enforce", "suggest"])
@pytest.mark.parametrize("monitor_mode", ["observe", "suggest", "enforce"])
def test_forged_reports_from_outside_change_nothing_and_the_same_reports_about_our_send_act(
    tmp_path, monkeypatch, dovecot, dovecot_user, pki, monitor_mode, replies_mode
):
    eng = engine_for(
        tmp_path, monkeypatch, dovecot, dovecot_user, pki,
        replies={"mode": replies_mode, "reconcile_min_age_minutes": 0},
    )  # fmt: skip
    try:
        eng.guard.set_mode(monitor_mode)
        now = eng.clock.now()
        ours = seed_thread(eng, recipient="ann@firm.test", message_id="<ours-1@outreach.test>")
        # A lead in the database, enrolled, never written to by this mailbox.
        seed_thread(
            eng, recipient="bob@other.test", message_id="<never-sent@outreach.test>",
            state="approved", campaign="not sent yet",
        )  # fmt: skip
        forged = [
            # Strangers' reports: a Message-ID we never sent (or one we never sent yet)
            # and recipients this mailbox did not write to.
            dsn(to=MAILBOX, recipient="bob@other.test", original_id="<forged-1@evil.test>",
                at=now, sender="MAILER-DAEMON@evil.test"),
            dsn(to=MAILBOX, recipient="bob@other.test", original_id="<never-sent@outreach.test>",
                at=now, sender="MAILER-DAEMON@evil.test"),
            dsn(to=MAILBOX, recipient="ceo@big.test", original_id="<forged-2@evil.test>", at=now,
                status="5.7.1", diagnostic=POLICY_TEXT, sender="MAILER-DAEMON@evil.test"),
            arf(to=MAILBOX, complainant="bob@other.test", original_id="<forged-3@evil.test>",
                at=now, sender="abuse@evil.test"),
            *(dsn(to=MAILBOX, recipient=f"x{n}@nowhere.test", at=now,
                  original_id=f"<forged-x{n}@evil.test>", sender="MAILER-DAEMON@evil.test")
              for n in range(5)),
        ]  # fmt: skip
        dovecot.append(dovecot_user, forged)
        asyncio.run(eng.poll_replies())
        report = eng.monitor.tick()

        stored = rows(eng, t.reply)
        assert len(stored) == len(forged)
        assert {r.report_match for r in stored} == {"unmatched"}
        assert {r.effect for r in stored} == {"nothing: unmatched report"}
        assert {r.attempt_id for r in stored} == {None} and {r.lead_id for r in stored} == {None}
        assert suppressed(eng) == []
        assert counters(eng) == {}
        assert rows(eng, t.soft_bounce) == []
        assert lead_status(eng, "bob@other.test") == "new"
        assert report.paused == report.suggested == report.observed == []
        assert report.alerts == [] and mailbox_phase(eng) == "HEALTHY"
        assert not rows(eng, t.event, t.event.c.kind == "suppression_suggestion")
        assert [r.id for r in eng.queries.replies(search="unmatched")] == [
            r.id for r in sorted(stored, key=lambda r: -r.id)
        ]

        # The same reports, about the message this mailbox did send to Ann, do act.
        real = [
            dsn(to=MAILBOX, recipient="ann@firm.test", original_id="<ours-1@outreach.test>",
                at=now, message_id="<real-dsn@mx.firm.test>"),
            arf(to=MAILBOX, complainant="ann@firm.test", original_id="<ours-1@outreach.test>",
                at=now, message_id="<real-arf@fbl.firm.test>"),
        ]  # fmt: skip
        dovecot.append(dovecot_user, real)
        asyncio.run(eng.poll_replies())
        report = eng.monitor.tick()

        acted = rows(
            eng,
            t.reply,
            t.reply.c.message_id.in_(["<real-dsn@mx.firm.test>", "<real-arf@fbl.firm.test>"]),
        )
        assert {r.report_match for r in acted} == {"message_id"}
        assert {r.attempt_id for r in acted} == {ours["attempt"]}
        assert counters(eng) == {"mailbox_bounce_report": 1, "mailbox_complaint": 1}
        if replies_mode == "enforce":
            assert suppressed(eng) == ["ann@firm.test"]
            assert lead_status(eng, "ann@firm.test") == "bounced"
        else:
            assert suppressed(eng) == []  # waits for the operator
            assert {r.review for r in acted} == {"pending"}
        # The complaint pauses the mailbox as the mode says.
        expected = {"enforce": "paused", "suggest": "suggested", "observe": "observed"}
        assert getattr(report, expected[monitor_mode]) == [MAILBOX]
        assert mailbox_phase(eng) == ("PAUSED" if monitor_mode == "enforce" else "HEALTHY")
    finally:
        asyncio.run(eng.aclose())


# -- (c) counted once --------------------------------------------------------------------------


def test_window_figures_after_refusals_reports_and_complaints_equal_a_count_by_hand(
    tmp_path, monkeypatch, dovecot, dovecot_user, pki, sending
):
    hard = [f"gone{n}@firm{n}.de" for n in range(3)]
    policy = [f"filtered{n}@firm{n}.de" for n in range(2)]
    full = "full@firm9.de"
    for address in hard:
        sending.rules[address] = Rule(rcpt_reply="550 5.1.1 User unknown")
    for address in policy:
        sending.rules[address] = Rule(data_reply=POLICY_TEXT)
    sending.rules[full] = Rule(rcpt_reply="552 5.2.2 Mailbox full")
    accepted = [f"lead{n}@firm{n % 10}.de" for n in range(30)]
    eng = engine_for(tmp_path, monkeypatch, dovecot, dovecot_user, pki, sending)
    try:
        # One-off sends, every one of them: a one-off send's refusals count like a step's.
        outcomes = send_all(
            eng,
            [SendRequest(MAILBOX, to, "Quick question", "Hello") for to in
             (*accepted, *hard, *policy, full)],
        )  # fmt: skip
        statuses = [o.status for o in outcomes]
        assert statuses == ["sent"] * 30 + ["failed"] * 6
        ids = {
            to: message_id_of(eng, o.attempt_id)
            for o, to in zip(outcomes[:30], accepted, strict=True)
        }
        now = eng.clock.now()
        dovecot.append(
            dovecot_user,
            [
                # Two hard DSNs and a policy DSN about accepted sends: failures, no attempts.
                dsn(to=MAILBOX, recipient=accepted[0], original_id=ids[accepted[0]], at=now),
                dsn(to=MAILBOX, recipient=accepted[1], original_id=ids[accepted[1]], at=now),
                dsn(to=MAILBOX, recipient=accepted[2], original_id=ids[accepted[2]], at=now,
                    status="5.7.1", diagnostic=POLICY_TEXT),
                # A delay notice: nothing. A complaint: counted. A forged DSN: nothing.
                dsn(to=MAILBOX, recipient=accepted[3], original_id=ids[accepted[3]], at=now,
                    status="4.2.2", diagnostic="452 4.2.2 Mailbox full", action="delayed"),
                arf(to=MAILBOX, complainant=accepted[4], original_id=ids[accepted[4]], at=now),
                dsn(to=MAILBOX, recipient="stranger@evil.test", at=now,
                    original_id="<forged@evil.test>", sender="MAILER-DAEMON@evil.test"),
            ],
        )  # fmt: skip
        asyncio.run(eng.poll_replies())

        # By hand: 30 accepted; refused at SMTP time 3 hard + 2 policy (+1 soft, no
        # failure); reported later 2 hard + 1 policy; 1 complaint.
        assert counters(eng) == {
            "mailbox": 30, "mailbox_bounce": 3, "mailbox_policy": 2,
            "mailbox_soft_bounce": 1, "mailbox_bounce_report": 2,
            "mailbox_policy_report": 1, "mailbox_complaint": 1,
        }  # fmt: skip
        attempts, failures = 30 + 3 + 2, 3 + 2 + 2 + 1
        with read_tx(eng.db) as conn:
            (figures,) = window_candidates(
                conn, since=START.date() - timedelta(days=6), cutoff=now, complaints=1,
                min_sends=20, rate_floor=0.0,
            )  # fmt: skip
        eng.db.dispose()
        assert (figures.sent, figures.refused, figures.reported, figures.complaints) == (
            30, 5, 3, 1,
        )  # fmt: skip
        rates = window_rates(figures)
        assert (rates.attempted, rates.failures) == (attempts, failures)
        (pane,) = eng.queries.mailboxes()
        assert pane.bounce_rate == pytest.approx(failures / attempts)
        assert pane.complaint_rate == pytest.approx(1 / 30)
        report = eng.monitor.tick()
        assert report.paused == [MAILBOX]
        (alert,) = [a for a in report.alerts if a.mailbox == MAILBOX]
        assert alert.rate == pytest.approx(failures / attempts)
        assert suppressed(eng) == sorted([*hard, accepted[0], accepted[1], accepted[4]])
    finally:
        asyncio.run(eng.aclose())


def test_a_rate_just_above_five_percent_pauses_now_that_a_dsn_adds_no_attempt(
    tmp_path, monkeypatch, dovecot, dovecot_user, pki, sending
):
    accepted = [f"lead{n}@firm{n % 10}.de" for n in range(39)]
    eng = engine_for(tmp_path, monkeypatch, dovecot, dovecot_user, pki, sending)
    try:
        outcomes = send_all(
            eng, [SendRequest(MAILBOX, to, "Quick question", "Hello") for to in accepted]
        )
        now = eng.clock.now()
        dovecot.append(
            dovecot_user,
            [
                dsn(to=MAILBOX, recipient=accepted[n], at=now,
                    original_id=message_id_of(eng, outcomes[n].attempt_id))
                for n in (0, 1)
            ],
        )  # fmt: skip
        asyncio.run(eng.poll_replies())
        report = eng.monitor.tick()
        # 2 DSNs on 39 accepted sends are 5.1 %, not 2/41 = 4.9 % as when counted twice.
        assert report.paused == [MAILBOX]
        assert "bounce rate 5.1% (2/39)" in rows(eng, t.mailbox)[0].paused_reason
    finally:
        asyncio.run(eng.aclose())


# -- (d) soft bounces and policy bursts --------------------------------------------------------


def test_soft_bounces_on_three_separate_days_suppress_and_on_one_day_do_not(
    tmp_path, monkeypatch, dovecot, dovecot_user, pki, sending
):
    clock = SimulatedClock(START)
    eng = engine_for(tmp_path, monkeypatch, dovecot, dovecot_user, pki, sending, clock=clock)
    lead = "sue@firm.de"
    try:
        for day in range(3):
            outcomes = send_all(
                eng,
                [SendRequest(MAILBOX, lead, f"Quick question, day {day} ({n})", "Hi")
                 for n in range(2)],
            )  # fmt: skip
            now = clock.now()
            # Two mailbox-full DSNs the same day: one soft-bounce day.
            dovecot.append(
                dovecot_user,
                [
                    dsn(to=MAILBOX, recipient=lead, at=now, status="5.2.2",
                        diagnostic="552 5.2.2 Mailbox full",
                        original_id=message_id_of(eng, o.attempt_id))
                    for o in outcomes
                ],
            )  # fmt: skip
            asyncio.run(eng.poll_replies())
            if day < 2:
                assert suppressed(eng) == [], f"suppressed after {day + 1} day(s)"
                assert lead_status(eng, lead) == "contacted"
            clock.advance(timedelta(days=1).total_seconds())

        (entry,) = rows(eng, t.suppression)
        assert entry.value == lead and "soft bounces on 3 separate days" in entry.reason
        assert lead_status(eng, lead) == "bounced"
        assert len(rows(eng, t.soft_bounce)) == 6
        assert counters(eng)["mailbox_soft_bounce"] == 6
        assert "mailbox_bounce_report" not in counters(eng)
        history = [str(line) for line in eng.explainer.why(lead)]
        assert any("soft bounces on 3 separate day(s)" in line for line in history), history
    finally:
        asyncio.run(eng.aclose())


def test_a_burst_of_policy_refusals_alerts_once_and_never_suppresses(
    tmp_path, monkeypatch, dovecot, dovecot_user, pki, sending
):
    refused = [f"user{n}@gmail{n}.de" for n in range(5)]
    for address in refused:
        sending.rules[address] = Rule(data_reply=POLICY_TEXT)
    eng = engine_for(tmp_path, monkeypatch, dovecot, dovecot_user, pki, sending)
    try:
        send_all(eng, [SendRequest(MAILBOX, to, "Quick question", "Hi") for to in refused[:4]])
        assert eng.monitor.tick().alerts == []  # four in the hour: no burst yet
        send_all(eng, [SendRequest(MAILBOX, refused[4], "Quick question", "Hi")])
        first = eng.monitor.tick()
        second = eng.monitor.tick()

        (alert,) = [a for a in first.alerts if a.key.startswith("policy_burst")]
        assert alert.severity == "critical"
        assert alert.title == f"{MAILBOX} is probably blocklisted at {sending.host}"
        assert "zen.spamhaus.org" in alert.data["receiver said"]
        assert not [a for a in second.alerts if a.key.startswith("policy_burst")]
        assert suppressed(eng) == []
        assert {lead_status(eng, to) for to in refused} == {"new"}
        assert counters(eng) == {"mailbox_policy": 5}
        history = [str(line) for line in eng.explainer.why(refused[0])]
        assert any("refused at SMTP time" in line for line in history), history
    finally:
        asyncio.run(eng.aclose())


# -- relabel: taken back and applied again through the same module ------------------------------


def test_relabelling_a_hard_bounce_as_soft_takes_back_its_suppression_and_its_counter(
    tmp_path, monkeypatch, dovecot, dovecot_user, pki
):
    eng = engine_for(tmp_path, monkeypatch, dovecot, dovecot_user, pki)
    try:
        seed_thread(eng, recipient="ann@firm.test", message_id="<ours-r@outreach.test>")
        now = eng.clock.now()
        dovecot.append(
            dovecot_user,
            [dsn(to=MAILBOX, recipient="ann@firm.test", original_id="<ours-r@outreach.test>",
                 at=now)],
        )  # fmt: skip
        asyncio.run(eng.poll_replies())
        (reply,) = rows(eng, t.reply)
        assert (reply.counted, suppressed(eng)) == ("mailbox_bounce_report", ["ann@firm.test"])

        assert eng.relabel_reply(reply.id, "bounce_soft")
        assert suppressed(eng) == [] and lead_status(eng, "ann@firm.test") == "contacted"
        assert counters(eng) == {"mailbox_soft_bounce": 1}
        assert len(rows(eng, t.soft_bounce)) == 1
        (reply,) = rows(eng, t.reply)
        assert (reply.counted, reply.bounce_class) == ("mailbox_soft_bounce", "soft")

        assert eng.relabel_reply(reply.id, "bounce_hard")
        assert counters(eng) == {"mailbox_bounce_report": 1}
        assert rows(eng, t.soft_bounce) == []
        assert suppressed(eng) == ["ann@firm.test"]
        assert lead_status(eng, "ann@firm.test") == "bounced"
    finally:
        asyncio.run(eng.aclose())
