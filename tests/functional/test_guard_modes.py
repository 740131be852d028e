"""The guard's modes and its compare-and-set.

These drive the daily counters directly (the counters the dispatcher and the reply inbox
increment): no message is sent, so the mailboxes point at a closed loopback port.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from outreach_tui.config import load_settings
from outreach_tui.core.days import local_day
from outreach_tui.core.errors import InputError
from outreach_tui.core.states import CounterScope
from outreach_tui.db import tables as t
from outreach_tui.db.repos.counters import increment_counter
from outreach_tui.db.session import read_tx, write_tx
from outreach_tui.engine import build_engine
from outreach_tui.engine.clock import SimulatedClock
from tests.functional.helpers import START

BOXES = ["a1@dom-a.com", "a2@dom-a.com", "a3@dom-a.com", "b1@dom-b.com"]


def settings(tmp_path, **extra):
    return load_settings(
        None,
        database_url=f"sqlite:///{tmp_path / 'guard.db'}",
        mailboxes=[
            {"email": e, "smtp_host": "127.0.0.1", "smtp_port": 9, "smtp_password": "env:NOPE"}
            for e in BOXES
        ],
        logging={"file": str(tmp_path / "log.txt")},
        **extra,
    )


@pytest.fixture
def engine(tmp_path):
    engine = build_engine(settings(tmp_path), headless=True, clock=SimulatedClock(START))
    yield engine
    engine.close_sync()


def counts(engine, email, sent=0, bounced=0, complaints=0):
    day = local_day(engine.clock.now(), engine.settings.tz)
    with write_tx(engine.db) as conn:
        for scope, n in ((CounterScope.MAILBOX, sent), (CounterScope.MAILBOX_BOUNCE, bounced),
                         (CounterScope.MAILBOX_COMPLAINT, complaints)):  # fmt: skip
            if n:
                increment_counter(conn, scope, email, day, n)


def mailbox(engine, email):
    with read_tx(engine.db) as conn:
        return conn.execute(select(t.mailbox).where(t.mailbox.c.email == email)).one()


def events(engine, kind):
    with read_tx(engine.db) as conn:
        return conn.execute(select(t.event).where(t.event.c.kind == kind)).all()


def test_observe_changes_nothing_and_says_once_what_would_happen(engine):
    engine.set_monitor_mode("observe")
    counts(engine, "a1@dom-a.com", sent=18, bounced=2)  # 10 % over 20 sends
    counts(engine, "b1@dom-b.com", sent=3, complaints=1)
    before = {e: mailbox(engine, e) for e in BOXES}
    first = engine.monitor.tick()
    second = engine.monitor.tick()
    assert first.mode == "observe" and sorted(first.observed) == ["a1@dom-a.com", "b1@dom-b.com"]
    assert second.observed == [] and first.paused == second.paused == []
    for email in BOXES:
        after = mailbox(engine, email)
        assert (after.phase, after.version, after.resilience_score) == (
            before[email].phase, before[email].version, before[email].resilience_score,
        )  # fmt: skip
    observed = events(engine, "guard_observed")
    assert len(observed) == 2 and all(e.message.startswith("would: ") for e in observed)
    assert events(engine, "phase_change") == []


def test_suggest_only_notifies_and_accepting_applies_it_with_audit(engine):
    engine.set_monitor_mode("suggest", operator="maria")
    assert engine.monitor_mode() == "suggest"
    counts(engine, "a1@dom-a.com", sent=18, bounced=2)
    report = engine.monitor.tick()
    assert report.suggested == ["a1@dom-a.com"] and report.paused == []
    assert report.alerts and "waiting for the operator" in report.alerts[0].action_taken
    # Not worded as done: the chat message of a suggestion says it is one.
    assert report.alerts[0].title.startswith("suggested: ")
    assert mailbox(engine, "a1@dom-a.com").phase == "HEALTHY"
    engine.monitor.tick()  # no second suggestion for the same decision
    (suggestion,) = events(engine, "suggestion")
    (listed,) = engine.open_suggestions()
    assert listed.event_id == suggestion.id and listed.action.label == "a1@dom-a.com"
    assert suggestion.data["type"] == "mailbox" and suggestion.data["transition"]["to"] == "PAUSED"
    engine.clock.advance(hours=2)
    assert engine.accept_suggestion(suggestion.id, operator="maria") is True
    row = mailbox(engine, "a1@dom-a.com")
    assert row.phase == "PAUSED" and row.resilience_score == 85 and row.offence_count == 1
    # The cooldown runs from the acceptance.
    assert row.cooldown_until == engine.clock.now() + timedelta(hours=24)
    assert engine.open_suggestions() == []
    with pytest.raises(InputError, match="already"):
        engine.accept_suggestion(suggestion.id, operator="maria")
    with read_tx(engine.db) as conn:
        audit = conn.execute(
            select(t.audit_log.c.user_id, t.audit_log.c.policy_result).where(
                t.audit_log.c.user_id == "maria"
            )
        ).all()
    assert ("maria", "suggestion_accepted") in audit and ("maria", "mailbox_paused") in audit


def test_a_dismissed_suggestion_changes_nothing_and_a_stale_one_is_refused(engine):
    engine.set_monitor_mode("suggest")
    counts(engine, "a1@dom-a.com", sent=18, bounced=2)
    counts(engine, "a2@dom-a.com", sent=19, bounced=2)
    engine.monitor.tick()
    by_box = {e.data["label"]: e for e in events(engine, "suggestion")}
    assert engine.dismiss_suggestion(by_box["a1@dom-a.com"].id, operator="maria")
    assert mailbox(engine, "a1@dom-a.com").phase == "HEALTHY"
    assert len(events(engine, "suggestion_dismissed")) == 1
    # The operator paused a2 by hand meanwhile: the suggestion went stale.
    engine.actions.pause_mailbox(mailbox(engine, "a2@dom-a.com").id, "by hand")
    assert engine.accept_suggestion(by_box["a2@dom-a.com"].id, operator="maria") is False
    assert mailbox(engine, "a2@dom-a.com").offence_count == 0
    assert len(events(engine, "suggestion_stale")) == 1


def test_enforce_pauses_a_complaint_and_three_failing_mailboxes_pause_their_domain(engine):
    counts(engine, "b1@dom-b.com", sent=2, complaints=1)
    for email in BOXES[:3]:
        counts(engine, email, sent=18, bounced=2)
    report = engine.monitor.tick()
    assert sorted(report.paused) == sorted(BOXES)
    assert report.domains_paused == ["dom-a.com"]
    with read_tx(engine.db) as conn:
        paused = dict(
            conn.execute(select(t.sending_domain.c.name, t.sending_domain.c.paused)).all()
        )
    assert paused == {"dom-a.com": True, "dom-b.com": False}


def test_the_mode_switch_reaches_another_process_on_the_same_database(tmp_path, engine):
    other = build_engine(settings(tmp_path), headless=True, clock=engine.clock)
    try:
        engine.set_monitor_mode("observe")
        assert other.monitor_mode() == "observe"
        with pytest.raises(InputError, match="not one of"):
            engine.set_monitor_mode("panic")
    finally:
        other.close_sync()


def test_the_mode_is_database_state_and_the_settings_keep_the_configured_default(engine):
    engine.set_monitor_mode("suggest")

    assert engine.settings.monitor.mode == "enforce"
    assert engine.monitor_mode() == engine.guard.mode() == "suggest"
    assert engine.monitor.tick().mode == engine.healer.tick().mode == "suggest"


def test_a_never_checked_domain_holds_quarantine_and_the_healer_asks_for_a_dns_check(engine):
    box = mailbox(engine, "b1@dom-b.com")
    with write_tx(engine.db) as conn:
        conn.execute(
            update(t.mailbox)
            .where(t.mailbox.c.id == box.id)
            .values(
                phase="QUARANTINE", phase_changed_at=engine.clock.now(), version=box.version + 1
            )
        )
    report = engine.healer.tick()
    assert report.moved == [] and report.dns_requested == ["dom-b.com"]
    assert len(events(engine, "dns_check_requested")) == 1
    with write_tx(engine.db) as conn:
        conn.execute(
            update(t.sending_domain)
            .where(t.sending_domain.c.name == "dom-b.com")
            .values(spf_ok=True, dkim_ok=True, dmarc_ok=True, blocklisted=False,
                    dns_checked_at=engine.clock.now())
        )  # fmt: skip
    assert engine.healer.tick().moved == [("b1@dom-b.com", "RESTRICTED_SEND")]


def test_two_monitors_racing_on_one_mailbox_make_exactly_one_transition(tmp_path, engine):
    """Two engines (two connection pools) on one SQLite file, in two threads: both decide
    from the same facts, then both apply at once; the compare-and-set lets one through."""
    other = build_engine(settings(tmp_path), headless=True, clock=engine.clock)
    try:
        counts(engine, "a1@dom-a.com", sent=18, bounced=2)
        barrier = threading.Barrier(2)
        results = {}

        def run(name, eng):
            assessment = eng.monitor.assess()
            barrier.wait()  # both have read version N before either writes
            results[name] = eng.guard.carry_out(assessment.actions, "enforce")

        threads = [threading.Thread(target=run, args=(n, e)) for n, e in
                   (("one", engine), ("two", other))]  # fmt: skip
        for th in threads:
            th.start()
        for th in threads:
            th.join(30)
        applied = sum(len(r.applied) for r in results.values())
        lost = sum(len(r.lost) for r in results.values())
        assert (applied, lost) == (1, 1)
        with read_tx(engine.db) as conn:
            n = conn.execute(
                select(func.count()).select_from(t.event).where(t.event.c.kind == "phase_change")
            ).scalar()
        assert n == 1
        row = mailbox(engine, "a1@dom-a.com")
        assert row.offence_count == 1 and row.resilience_score == 85
    finally:
        other.close_sync()
