"""Fuzzing what reaches the screen: generated text in lead, campaign, queued email, reply,
suppression, mailbox, domain, audit and event fields, every pane rendered through a driver
that keeps the bytes a terminal would receive; and generated `/` filters.

Properties: the console never ends (a string read as markup used to crash it), and every
control sequence written to the terminal is one Textual writes itself (a data ESC, BEL or C1
character never is). The filter is shown as typed (cleaned of controls) and a campaign whose
name holds it is listed.

Each example is one console session that draws several rounds of text (`st.data()`): starting
a console costs a second, a round a fraction of one. Bounded to run in well under a minute.
"""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from textual.widgets import Input

from outreach_tui.db import tables as t
from outreach_tui.tui.panes.registry import pane_classes
from outreach_tui.tui.widgets.text_prompt import TextPrompt
from tests.tui.conftest import deterministic_console, make_app, world  # noqa: F401 (fixtures)
from tests.tui.helpers import screen_text, settle, show_pane, table_of
from tests.tui.hostile import HOSTILE, poison
from tests.tui.terminal import captured, foreign_controls, with_capture

PANE_KEYS = [str(n) for n in range(1, len(pane_classes()) + 1)]
CAMPAIGNS_KEY = str(next(n for n, c in enumerate(pane_classes(), 1) if c.PANE_ID == "campaigns"))

#: The pieces hostile text is made of: terminal controls, markup's own characters and words,
#: Textual's template sign, and ordinary letters of several scripts.
PIECES = st.sampled_from(
    ["\x1b", "\x1b[", "\x1b]", "\x1b\\", "\x07", "\x9b", "\x9d", "\x85", "\r", "\n", "\t",
     "\x00", "\x7f", "\u202e", "\u2066", "\u2028", "[", "]", "[/]", "[/", "[b]", "[@click=",
     "app.quit]", "[link=", "https://x]", "\\", "$", "${x}", "=", ";", "2J", "52;c;", "8;;",
     "a", "Z", "é", "ß", "Σ", "株", "🙂", " "]
)  # fmt: skip
HOSTILE_TEXT = st.one_of(
    st.lists(PIECES, max_size=12).map("".join),
    st.text(max_size=24),
    st.sampled_from(HOSTILE),
)
#: What an operator can type or paste into the filter (controls too: a paste).
FILTERS = st.one_of(
    st.lists(PIECES, min_size=1, max_size=8).map("".join),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=16),
)
ROUNDS = 3
FUZZ = settings(
    max_examples=2,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.timeout(240)
@FUZZ
@given(data=st.data())
def test_generated_text_on_every_pane_never_reaches_the_terminal_raw(world, make_app, data):  # noqa: F811
    async def session() -> None:
        app = with_capture(make_app())
        async with app.run_test(size=(100, 30), headless=False) as pilot:
            seen = 0
            for round_ in range(ROUNDS):
                values = data.draw(
                    st.lists(HOSTILE_TEXT, min_size=3, max_size=8), f"round {round_}"
                )
                poison(world.engine, values)
                for key in PANE_KEYS:
                    await show_pane(pilot, key)
                    await settle(pilot)
                    output = captured(app)
                    fresh, seen = output[seen:], len(output)
                    assert foreign_controls(fresh) == [], (key, values)
                    assert app.return_code is None, (key, values)
            assert app.crashed is None

    asyncio.run(session())


@pytest.mark.timeout(240)
@settings(FUZZ, max_examples=3)
@given(data=st.data())
def test_a_generated_filter_never_crashes_and_the_match_is_shown(world, make_app, data):  # noqa: F811
    engine = world.engine
    with engine.db.connect() as conn:
        first = conn.execute(select(t.campaign.c.id).order_by(t.campaign.c.id)).scalar()

    async def session() -> None:
        app = make_app()
        async with app.run_test(size=(100, 30)) as pilot:
            pane = await show_pane(pilot, CAMPAIGNS_KEY)
            for round_ in range(ROUNDS * 2):
                typed = data.draw(FILTERS, f"filter {round_}")
                prompt = await _filter_prompt(pilot)
                field = prompt.query_one(Input)
                field.value = typed  # as a paste would put it
                shown = field.value  # the field cleans what it is given
                # A campaign whose name holds the filter, as stored (no controls: an import
                # refuses them), so it should be listed.
                with engine.db.begin() as conn:
                    conn.execute(
                        update(t.campaign)
                        .where(t.campaign.c.id == first)
                        .values(name=f"fuzz <{shown}> {round_}")
                    )
                await pilot.press("enter")
                await settle(pilot)
                assert app.return_code is None, typed
                assert pane.filter_text == shown.strip()
                if pane.filter_text:
                    # As the title draws it: a tab (a paste may hold one) is spaces there.
                    title = " ".join(f"filter: {pane.filter_text}".split())
                    assert title in " ".join(screen_text(app).split()), typed
                    assert str(first) in table_of(pane).keys, (typed, pane.filter_text)
            assert app.crashed is None

    asyncio.run(session())


async def _filter_prompt(pilot) -> TextPrompt:
    await pilot.press("slash")
    await settle(pilot)
    assert isinstance(pilot.app.screen, TextPrompt)
    return pilot.app.screen
