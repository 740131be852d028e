"""What the console's pilot tests share: waiting for the panes' workers, reading the screen."""

from __future__ import annotations

import io

from rich.console import Console
from textual.pilot import Pilot

from outreach_tui.tui.app import OutreachApp
from outreach_tui.tui.panes.base import Pane
from outreach_tui.tui.widgets.keyed_table import KeyedTable


async def settle(pilot: Pilot[None]) -> None:
    """Wait until no worker runs: an action's worker starts a reload worker when it ends."""
    app = pilot.app
    for _ in range(20):
        await pilot.pause()
        if not len(app.workers):
            break
        await app.workers.wait_for_complete()
    await pilot.pause()


async def show_pane(pilot: Pilot[None], key: str) -> Pane:
    """Press a number key and wait for that pane's data."""
    app = pilot.app
    assert isinstance(app, OutreachApp)
    await pilot.press(key)
    await settle(pilot)
    pane = app.pane(app.current_pane)
    assert pane.loaded.is_set()
    return pane


def screen_text(app: OutreachApp) -> str:
    """The screen (with any modal on top) as plain text, as a person reads it."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text()


def table_of(pane: Pane) -> KeyedTable:
    return pane.query_one(KeyedTable)


def notified(app: OutreachApp) -> list[str]:
    """The notifications raised so far (the toasts an operator reads at the bottom right;
    the compositor snapshot of `screen_text` does not include their layer)."""
    return [n.message for n in app._notifications]
