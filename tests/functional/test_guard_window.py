"""The monitor's window read: the database hands back only the mailboxes near a line, and the
decisions at every boundary are the rules' own (core.recovery.assess).

Like test_guard_modes, these drive the daily counters directly (what the dispatcher and the
reply inbox increment): nothing is sent, the mailboxes point at a closed loopback port.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import update

from outreach_tui.config import load_settings
from outreach_tui.core.days import local_day
from outreach_tui.core.states import CounterScope
from outreach_tui.db import tables as t
from outreach_tui.db.repos.counters import increment_counter
from outreach_tui.db.session import write_tx
from outreach_tui.engine import build_engine
from outreach_tui.engine.clock import SimulatedClock
from outreach_tui.engine.guard.actor import GuardActor
from outreach_tui.engine.guard.alerts import ListAlertSink
from outreach_tui.engine.guard.monitor import Monitor
from tests.functional.helpers import START
from tests.functional.test_guard_modes import events, mailbox

BOXES = [
    "exact3@w1.example", "warn4@w2.example", "pause6@w3.example", "under-min@w4.example",
    "complaint@w5.example", "clean@w6.example",
]  # fmt: skip


@pytest.fixture
def engine(tmp_path):
    settings = load_settings(
        None,
        database_url=f"sqlite:///{tmp_path / 'guard.db'}",
        mailboxes=[
            {"email": e, "smtp_host": "127.0.0.1", "smtp_port": 9, "smtp_password": "env:NOPE"}
            for e in BOXES
        ],
        logging={"file": str(tmp_path / "log.txt")},
    )
    engine = build_engine(settings, headless=True, clock=SimulatedClock(START))
    yield engine
    engine.close_sync()


def count_on(engine, email, days_ago=0, sent=0, bounced=0, complaints=0):
    day = local_day(engine.clock.now(), engine.settings.tz) - timedelta(days=days_ago)
    with write_tx(engine.db) as conn:
        for scope, n in ((CounterScope.MAILBOX, sent), (CounterScope.MAILBOX_BOUNCE, bounced),
                         (CounterScope.MAILBOX_COMPLAINT, complaints)):  # fmt: skip
            if n:
                increment_counter(conn, scope, email, day, n)


def test_each_boundary_is_decided_by_the_rules_and_only_the_near_ones_are_read(engine):
    count_on(engine, "exact3@w1.example", sent=97, bounced=3)  # 3.0 %: not above the line
    count_on(engine, "warn4@w2.example", days_ago=3, sent=96, bounced=4)  # 4 %: warns
    count_on(engine, "pause6@w3.example", days_ago=6, sent=47, bounced=3)  # 6 % on the window's
    count_on(engine, "under-min@w4.example", sent=1, bounced=18)  # first day: 19 < min_sends
    count_on(engine, "complaint@w5.example", complaints=1)  # no sends at all
    count_on(engine, "clean@w6.example", sent=400, bounced=1)
    count_on(engine, "clean@w6.example", days_ago=7, bounced=50)  # the day before the window

    candidates = engine.monitor.assess()

    labels = sorted(a.label for a in candidates.actions)
    assert labels == ["complaint@w5.example", "pause6@w3.example"]
    assert [box.email for box, _, _ in candidates.warnings] == ["warn4@w2.example"]
    report = engine.monitor.tick()
    assert sorted(report.paused) == labels and report.warned == ["warn4@w2.example"]
    assert mailbox(engine, "exact3@w1.example").phase == "HEALTHY"
    assert mailbox(engine, "clean@w6.example").phase == "HEALTHY"


def test_a_mailbox_healthy_again_is_judged_from_the_day_it_recovered(engine):
    # Recovered two days ago: the bad days before do not count, the bad days since do, even
    # though clean sends earlier in the window would dilute them.
    now = engine.clock.now()
    with write_tx(engine.db) as conn:
        conn.execute(
            update(t.mailbox)
            .where(t.mailbox.c.email.in_(["exact3@w1.example", "warn4@w2.example"]))
            .values(phase_changed_at=now - timedelta(days=2))
        )
    count_on(engine, "exact3@w1.example", days_ago=4, sent=10, bounced=10)  # before: ignored
    count_on(engine, "exact3@w1.example", days_ago=1, sent=40)
    count_on(engine, "warn4@w2.example", days_ago=5, sent=500)  # before: would dilute
    count_on(engine, "warn4@w2.example", days_ago=2, sent=28, bounced=2)  # 6.7 % since

    report = engine.monitor.tick()

    assert report.paused == ["warn4@w2.example"]
    assert mailbox(engine, "exact3@w1.example").phase == "HEALTHY"


def test_a_warning_is_told_once_a_day_by_any_process_and_again_the_next_day(engine):
    count_on(engine, "warn4@w2.example", sent=96, bounced=4)
    other_ctx = replace(engine.ctx, operator_id="other-process")
    other = Monitor(other_ctx, actor=GuardActor(other_ctx), sink=ListAlertSink())

    assert engine.monitor.tick().warned == ["warn4@w2.example"]
    assert engine.monitor.tick().warned == [] and other.tick().warned == []
    assert len(events(engine, "bounce_warning")) == 1
    engine.clock.advance(days=1)
    count_on(engine, "warn4@w2.example", sent=96, bounced=4)
    assert other.tick().warned == ["warn4@w2.example"]
    assert engine.monitor.tick().warned == []
    assert len(events(engine, "bounce_warning")) == 2


def test_a_pass_over_quiet_mailboxes_neither_reads_the_ledger_nor_every_row(engine):
    for email in BOXES:
        count_on(engine, email, sent=100)
    statements: list[str] = []

    def before(conn, cursor, statement, *args):
        statements.append(statement)

    sa_event.listen(engine.db, "before_cursor_execute", before)
    try:
        report = engine.monitor.tick()
    finally:
        sa_event.remove(engine.db, "before_cursor_execute", before)

    assert report.paused == report.warned == []
    assert not any("outreach_attempt" in s for s in statements)
    assert not any("INSERT" in s or "UPDATE" in s for s in statements)
