"""The deliverability guard in the console: M (or the palette) switches the monitor's mode
for every process, the status line follows it; in SUGGEST the monitor's decisions wait on
the Dashboard for a (accept) or x (dismiss); in ENFORCE it acts and its alert shows in red;
the Mailboxes pane shows each mailbox's recovery state."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from textual.command import CommandPalette

from outreach_tui.core.days import local_day
from outreach_tui.core.states import CounterScope
from outreach_tui.db import tables as t
from outreach_tui.db.repos.counters import increment_counter
from outreach_tui.db.session import write_tx
from outreach_tui.demo.seed import BAD_MAILBOX
from outreach_tui.tui.widgets.choice import ChoiceScreen
from tests.tui.conftest import FROZEN
from tests.tui.helpers import notified, screen_text, settle, show_pane, table_of
from tests.tui.test_bindings import answer, audit_rows

pytestmark = pytest.mark.asyncio

SIZE = (80, 24)


def phase(world, email: str) -> str:
    with world.engine.db.connect() as conn:
        return conn.execute(select(t.mailbox.c.phase).where(t.mailbox.c.email == email)).scalar()


def bounce_badly(world, email: str = BAD_MAILBOX) -> None:
    """Today: 30 sent, 6 hard bounces (17 %, above the 5 % pause line after 20 sends)."""
    day = local_day(world.engine.clock.now(), world.engine.settings.tz)
    with write_tx(world.engine.db) as conn:
        increment_counter(conn, CounterScope.MAILBOX, email, day, 30)
        increment_counter(conn, CounterScope.MAILBOX_BOUNCE, email, day, 6)


async def run_monitor(world) -> None:
    """One monitor pass, as the engine's monitor job runs it (alerts recorded)."""
    await world.engine.monitor.run()
    await world.engine.alerts.drain()


async def switch_mode(pilot, number: str, mode: str) -> None:
    await pilot.press("M")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ChoiceScreen)
    await pilot.press(number)
    await settle(pilot)
    await answer(pilot, f"Switch the monitor to {mode.upper()}?", "y")


async def test_M_switches_the_mode_for_the_monitor_and_the_status_line(world, make_app):
    assert world.engine.monitor_mode() == "enforce"
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await show_pane(pilot, "1")
        assert "monitor ENFORCE" in screen_text(app)
        await switch_mode(pilot, "2", "suggest")

        assert world.engine.monitor_mode() == "suggest"
        assert audit_rows(world, "monitor_mode")[0].reason == "monitor mode enforce → suggest"
        assert "monitor SUGGEST" in screen_text(app)
        assert "monitor mode: SUGGEST" in notified(app)

        # What the monitor does follows: the bad mailbox is only suggested for a pause.
        bounce_badly(world)
        await run_monitor(world)
        assert phase(world, BAD_MAILBOX) == "HEALTHY"
        [suggestion] = world.engine.open_suggestions()
        assert suggestion.action.label == BAD_MAILBOX

        # Another process (a worker, the CLI) switching is seen at the next refresh.
        world.engine.guard.set_mode("observe", "night-shift")
        app.refresh_status()
        await settle(pilot)
        assert "monitor OBSERVE" in screen_text(app)


async def test_M_then_n_keeps_the_mode(world, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await show_pane(pilot, "4")  # M works from any pane
        await pilot.press("M")
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)
        await answer(pilot, "Switch the monitor to OBSERVE?", "n")
    assert world.engine.monitor_mode() == "enforce"
    assert audit_rows(world, "monitor_mode") == []


async def test_palette_entry_monitor_observe_switches_after_a_confirm(world, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"monitor: observe")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await answer(pilot, "Switch the monitor to OBSERVE?", "y")
        assert world.engine.monitor_mode() == "observe"
        assert "monitor OBSERVE" in screen_text(app)

        bounce_badly(world)
        await run_monitor(world)
        assert phase(world, BAD_MAILBOX) == "HEALTHY"
        assert world.engine.open_suggestions() == []  # observe only logs


async def test_a_accepts_a_suggestion_on_the_dashboard_and_the_mailbox_pauses(world, make_app):
    world.engine.set_monitor_mode("suggest")
    bounce_badly(world)
    await run_monitor(world)
    [suggestion] = world.engine.open_suggestions()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_pane(pilot, "1")
        screen = screen_text(app)
        assert "1 waiting" in screen and "SUGGEST" in screen
        assert f"{BAD_MAILBOX}: HEALTHY → PAUSED" in screen
        assert table_of(pane).current_key() == f"s{suggestion.event_id}"  # listed first

        await pilot.press("a")
        await settle(pilot)
        await answer(pilot, f"Accept the guard's suggestion for {BAD_MAILBOX}?", "y")

        assert phase(world, BAD_MAILBOX) == "PAUSED"
        assert world.engine.open_suggestions() == []
        assert audit_rows(world, "suggestion_accepted")[0].user_id == "operator"
        assert f"done: {suggestion.action.describe()}" in notified(app)
        assert "waiting" not in screen_text(app)
        assert "PAUSED              2" in screen_text(app)  # the phases card: it and lee


async def test_x_dismisses_a_suggestion_and_the_mailbox_keeps_sending(world, make_app):
    world.engine.set_monitor_mode("suggest")
    bounce_badly(world)
    await run_monitor(world)
    assert len(world.engine.open_suggestions()) == 1
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await show_pane(pilot, "1")
        await pilot.press("x")
        await settle(pilot)
        await answer(pilot, f"Dismiss the guard's suggestion for {BAD_MAILBOX}?", "y")

        assert phase(world, BAD_MAILBOX) == "HEALTHY"
        assert world.engine.open_suggestions() == []
        assert audit_rows(world, "suggestion_dismissed")[0].user_id == "operator"
        assert "SUGGEST" not in screen_text(app).split("Dashboard", 1)[1]  # the status says it


async def test_a_on_an_alert_row_is_not_a_suggestion(world, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await show_pane(pilot, "1")
        await pilot.press("a")
        await settle(pilot)
        assert "no suggestion here: the guard's suggestions say SUGGEST" in notified(app)
    assert audit_rows(world, "suggestion_accepted") == []


async def test_in_enforce_the_monitor_pauses_and_its_critical_alert_is_listed_first(
    world, make_app
):
    bounce_badly(world)
    await run_monitor(world)
    assert phase(world, BAD_MAILBOX) == "PAUSED"
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_pane(pilot, "1")
        first = table_of(pane).get_row(table_of(pane).keys[0])
        assert str(first[1]) == "CRIT"
        assert first[2].style == "b red"
        assert BAD_MAILBOX in str(first[2])
        assert "CRIT" in screen_text(app)


async def test_mailboxes_pane_shows_cooldown_and_the_manual_review_flag(world, make_app):
    until = FROZEN + timedelta(hours=72)
    with write_tx(world.engine.db) as conn:
        conn.execute(
            update(t.mailbox)
            .where(t.mailbox.c.email == BAD_MAILBOX)
            .values(
                phase="PAUSED",
                cooldown_until=until,
                needs_review=True,
                offence_count=3,
                relapse_count=2,
                paused_reason="relapse during recovery",
                phase_changed_at=FROZEN,
            )
        )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_pane(pilot, "4")
        while pane._current().email != BAD_MAILBOX:
            await pilot.press("down")
        await settle(pilot)
        assert str(table_of(pane).get_row(str(pane._current().id))[1]) == "PAUSED ⚑"
        detail = screen_text(app).split("─" * 80, 1)[1]
        assert f"{BAD_MAILBOX} PAUSED since 04 Mar 10:00 (relapse during recovery)" in detail
        assert "cooldown until 07 Mar 10:00" in detail
        assert "offences 3 · relapses 2" in detail
        assert "⚑ needs manual review" in detail
