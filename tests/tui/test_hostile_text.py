"""Hostile text on every pane and dialog: markup is shown as written, never read (a `[/]`
typed in the `/` filter used to crash the console and the engine in it), and no terminal
sequence from data reaches the terminal (an OSC 52 in a lead's name would write the
operator's clipboard, an `ESC[2J` in a campaign name would clear the screen).

The console draws through a driver that keeps what it writes (tests/tui/terminal.py): every
control sequence in it must be one Textual writes itself."""

from __future__ import annotations

import pytest
from textual.widgets import Input, OptionList

from outreach_tui.tui.app import OutreachApp
from outreach_tui.tui.panes.registry import pane_classes
from outreach_tui.tui.widgets.choice import ChoiceScreen
from outreach_tui.tui.widgets.compose_reply import ReplyScreen
from outreach_tui.tui.widgets.confirm import ConfirmScreen
from outreach_tui.tui.widgets.edit import EditScreen
from outreach_tui.tui.widgets.help import HelpScreen
from outreach_tui.tui.widgets.text_prompt import TextPrompt
from tests.tui.helpers import notified, screen_text, settle, show_pane, table_of
from tests.tui.hostile import EVERYTHING, poison
from tests.tui.terminal import captured, foreign_controls, with_capture

pytestmark = pytest.mark.asyncio

MARK = "\ufffd"
#: Characters that must never be on the screen as text (they would reach the terminal).
CONTROLS = {chr(c) for c in (*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0))}
PANE_KEYS = {cls.PANE_ID: str(n) for n, cls in enumerate(pane_classes(), start=1)}


class Screenshots:
    """Checks what the terminal received and what the screen shows, step by step."""

    def __init__(self, app: OutreachApp) -> None:
        self.app = app
        self.problems: list[str] = []
        self.seen = 0

    async def check(self, pilot, step: str) -> str:
        await settle(pilot)
        output = captured(self.app)
        fresh, self.seen = output[self.seen :], len(output)
        if foreign := foreign_controls(fresh):
            self.problems.append(f"{step}: data controls written to the terminal: {foreign[:3]}")
        text = screen_text(self.app)
        if found := sorted(repr(c) for c in CONTROLS & set(text)):
            self.problems.append(f"{step}: controls on the screen: {found}")
        if self.app.return_code is not None:
            self.problems.append(f"{step}: the console ended (status {self.app.return_code})")
        return text


async def open_dialog(pilot, key: str, screen_type: type) -> bool:
    await pilot.press(key)
    await settle(pilot)
    return isinstance(pilot.app.screen, screen_type)


async def test_every_pane_and_dialog_shows_hostile_data_as_text_and_never_as_a_sequence(
    world, make_app
):
    poison(world.engine)
    app = with_capture(make_app())
    async with app.run_test(size=(100, 30), headless=False, notifications=True) as pilot:
        shots = Screenshots(app)
        await shots.check(pilot, "start")

        # Every pane, with its first row's preview or detail.
        for pane_id, key in PANE_KEYS.items():
            await show_pane(pilot, key)
            await shots.check(pilot, pane_id)

        # Dialogs that quote data.
        await show_pane(pilot, PANE_KEYS["queue"])
        assert await open_dialog(pilot, "e", EditScreen)
        edit = app.screen.query_one("#edit-subject", Input)
        assert "\x1b" not in edit.value and MARK in edit.value
        await shots.check(pilot, "queue: edit")
        await pilot.press("escape")
        text = await shots.check(pilot, "queue: preview")
        assert "[@click=app.quit]quit[/]" in text and "[link=https://evil.example]" in text

        for pane_id, key in (("campaigns", "p"), ("mailboxes", "p"), ("domains", "p"),
                             ("leads", "s"), ("suppression", "x")):  # fmt: skip
            await show_pane(pilot, PANE_KEYS[pane_id])
            assert await open_dialog(pilot, key, ConfirmScreen), pane_id
            await shots.check(pilot, f"{pane_id}: confirm")
            await pilot.press("n")

        await show_pane(pilot, PANE_KEYS["leads"])
        await pilot.press("w")
        await shots.check(pilot, "leads: why")

        inbox = await show_pane(pilot, PANE_KEYS["inbox"])
        assert await open_dialog(pilot, "l", ChoiceScreen)
        await shots.check(pilot, "inbox: relabel")
        await pilot.press("escape")
        table = table_of(inbox)
        answerable = next(
            i for i, k in enumerate(table.keys) if inbox.rows[k].classification == "interested"
        )
        table.move_cursor(row=answerable)
        assert await open_dialog(pilot, "R", ReplyScreen)
        await shots.check(pilot, "inbox: reply")
        await pilot.press("escape")

        await show_pane(pilot, PANE_KEYS["audit"])
        await pilot.press("v")
        await shots.check(pilot, "audit: events")

        assert await open_dialog(pilot, "question_mark", HelpScreen)
        await shots.check(pilot, "help")
        await pilot.press("escape")

        # A notification quoting data (an error naming a campaign, a reply's address).
        app.notify(EVERYTHING, severity="error", markup=True)
        await shots.check(pilot, "notification")
        assert EVERYTHING.replace("\x1b", MARK).split()[0] in notified(app)[-1]

        # The command palette, searched for markup.
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press("[", "/", "]")
        await shots.check(pilot, "command palette")
        await pilot.press("escape")

        assert shots.problems == []
        assert app.return_code is None and app.crashed is None


async def test_markup_typed_in_the_filter_is_shown_as_typed_on_every_pane(world, make_app):
    typed = ("[/]", "[link=https://x]", "[@click=app.quit]")
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        for pane_id, key in PANE_KEYS.items():
            pane = await show_pane(pilot, key)
            if not pane.FILTERABLE:
                continue
            for filter_text in typed:
                assert await open_dialog(pilot, "slash", TextPrompt), pane_id
                field = app.screen.query_one(Input)
                # "[/]" typed key by key; the longer ones put in as a paste would (quicker).
                field.value = "" if filter_text == "[/]" else filter_text
                await pilot.press(*("[/]" if filter_text == "[/]" else ()), "enter")
                await settle(pilot)
                assert pane.filter_text == filter_text
                assert f"filter: {filter_text}" in screen_text(app), (pane_id, filter_text)
                assert app.return_code is None, (pane_id, filter_text)
        assert app.crashed is None


async def test_a_pasted_terminal_sequence_in_the_filter_is_shown_as_a_mark(world, make_app):
    app = with_capture(make_app())
    async with app.run_test(size=(100, 30), headless=False) as pilot:
        shots = Screenshots(app)
        pane = await show_pane(pilot, PANE_KEYS["leads"])
        assert await open_dialog(pilot, "slash", TextPrompt)
        field = app.screen.query_one(Input)
        field.value = "\x1b]52;c;aGk=\x07\x1b[2J[/]"  # as a bracketed paste would put it
        await shots.check(pilot, "filter prompt")
        await pilot.press("enter")
        text = await shots.check(pilot, "leads filtered")

        assert pane.filter_text == f"{MARK}]52;c;aGk={MARK}{MARK}[2J[/]"
        assert f"filter: {MARK}]52;c;aGk={MARK}{MARK}[2J[/]" in text
        assert shots.problems == []


async def test_the_relabel_choice_lists_its_labels_and_names_the_sender_as_text(world, make_app):
    poison(world.engine)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await show_pane(pilot, PANE_KEYS["inbox"])
        assert await open_dialog(pilot, "l", ChoiceScreen)
        question = str(app.screen.query_one("#choice-question").render())
        assert question.startswith("What is the reply from ")
        assert "[/] [link=https://evil.example]link[/link] [@click=app.quit]quit[/]" in question
        assert "\x1b" not in question and MARK in question
        assert app.screen.query_one(OptionList).option_count == 10
