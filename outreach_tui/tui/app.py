"""The console: nine panes on the number keys, a status line, live refresh by diff.

The App receives its engine in the constructor (the CLI, the demo and the tests build it
with the same factory) and hands each pane what it needs in the pane's constructor. The
engine's jobs run where the engine's runtime puts them (engine/runtime/in_process.py: a
thread of their own, so keys and drawing never wait behind a send); `--no-scheduler` opens
the console to watch without sending.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any, ClassVar

from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer

from outreach_tui.core.screen_text import printable
from outreach_tui.core.unsubscribe_token import one_click_status
from outreach_tui.engine import ConsoleEngine
from outreach_tui.tui.messages import StatusChanged
from outreach_tui.tui.panes.base import Pane
from outreach_tui.tui.panes.registry import pane_classes
from outreach_tui.tui.widgets.format import day_time
from outreach_tui.tui.widgets.help import HelpScreen
from outreach_tui.tui.widgets.panebar import PaneBar
from outreach_tui.tui.widgets.status import EngineStatus, StatusLine

log = logging.getLogger(__name__)


#: The guard's modes, in the order the switch offers them, with what each means.
MONITOR_MODES: list[tuple[str, str]] = [
    ("observe", "OBSERVE — only log what the guard would do"),
    ("suggest", "SUGGEST — ask before acting (Dashboard: a / x)"),
    ("enforce", "ENFORCE — pause and recover mailboxes itself"),
]


def _pane_bindings() -> list[Binding]:
    return [
        Binding(
            str(n),
            f"show_pane('{cls.PANE_ID}')",
            cls.TITLE.split(" —")[0],
            show=False,
            id=f"pane.{cls.PANE_ID}",
        )
        for n, cls in enumerate(pane_classes(), start=1)
    ]


class OutreachApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "outreach-tui"
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        *_pane_bindings(),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("q", "quit", "Quit", id="app.quit"),
        # Shown in the Dashboard's footer (the guard lives there); works from every pane.
        Binding("M", "monitor_mode", "Monitor mode", show=False, id="app.monitor_mode"),
    ]

    def __init__(
        self,
        engine: ConsoleEngine,
        *,
        run_scheduler: bool = True,
        sandbox: Any = None,
        refresh_seconds: float = 2.0,
    ) -> None:
        """`sandbox`: the demo's world (`demo.world.Sandbox`), riding along with the engine's
        jobs."""
        super().__init__()
        self.engine = engine
        self.runtime = engine.runtime(scheduler=run_scheduler, hooks=sandbox)
        self.sandbox = sandbox
        self.refresh_seconds = refresh_seconds
        self.current_pane = pane_classes()[0].PANE_ID

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        yield PaneBar(id="panebar")
        with ContentSwitcher(initial=f"pane-{self.current_pane}", id="panes"):
            for cls in pane_classes():
                yield cls(self.engine, self.runtime)
        # Compact: at 80 columns the footer must still reach "? Help" on every pane.
        yield Footer(compact=True)

    async def on_mount(self) -> None:
        # The engine's jobs get an event loop of their own: keys and drawing never wait
        # behind a send.
        await asyncio.to_thread(self.runtime.start)
        self.action_show_pane(self.current_pane)
        self.refresh_status()
        # The other panes load once in the background, so a first visit shows data at once.
        self.set_timer(0.3, self.prefetch_panes)
        self.set_interval(self.refresh_seconds, self.live_refresh, name="live-refresh")

    async def on_unmount(self) -> None:
        await self.stop_engine()

    # -- what reaches the screen besides the panes --------------------------------------------

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Every notification is plain text cleaned of terminal controls, whatever `markup`
        says: they quote data (an error naming a campaign "[/]", a reply's address), and one
        read as markup would crash the console. Thread-safe, as Textual's."""
        super().notify(
            printable(message, multiline=True),
            title=printable(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    crashed: BaseException | None = None
    """The unexpected error that ended the console, if one did (the CLI exits non-zero)."""

    def _handle_exception(self, error: Exception) -> None:
        # Textual ends the app on an unhandled exception and prints a traceback with the local
        # values (data, a resolved password) over the terminal. The log keeps the traceback;
        # the CLI says one line and exits non-zero (cli/console.py).
        log.critical("the console stopped on an unexpected error", exc_info=error)
        self.crashed = error
        super()._handle_exception(error)
        self._exit_renderables.clear()

    async def stop_engine(self) -> None:
        await self.runtime.stop()

    def on_status_changed(self, message: StatusChanged) -> None:
        self.refresh_status()

    # -- panes ----------------------------------------------------------------------------

    def pane(self, pane_id: str) -> Pane:
        return self.query_one(f"#pane-{pane_id}", Pane)

    def action_show_pane(self, pane_id: str) -> None:
        self.current_pane = pane_id
        self.query_one("#panes", ContentSwitcher).current = f"pane-{pane_id}"
        self.show_pane_bar()
        pane = self.pane(pane_id)
        pane.refresh_data()
        focusable = pane.query("DataTable")
        if focusable:
            focusable.first().focus()
        else:
            self.set_focus(None)

    def prefetch_panes(self) -> None:
        # A query, not `pane()`: a timer may fire while the app is closing and its panes are
        # already gone (seen in CI when a test ended within the timer's 0.3 s).
        for pane in self.query(Pane):
            if pane.show_count == 0:
                pane.refresh_data()

    def show_pane_bar(self) -> None:
        labels = [(cls.PANE_ID, cls.SHORT) for cls in pane_classes()]
        self.query_one(PaneBar).show(labels, self.current_pane)

    def live_refresh(self) -> None:
        # A modal (confirm, edit) is open: leave the pane as the operator last saw it.
        if len(self.screen_stack) > 1:
            return
        for pane in self.query(f"#pane-{self.current_pane}").results(Pane):  # none: closing
            pane.refresh_data()
            self.refresh_status()

    # -- status line ----------------------------------------------------------------------

    def refresh_status(self) -> None:
        self._status_worker()

    @work(exclusive=True, exit_on_error=False, group="status")
    async def _status_worker(self) -> None:
        try:
            status = await asyncio.to_thread(self._read_status)
        except Exception:
            log.exception("status line failed")
            return
        for line in self.query(StatusLine):  # none when the app closed meanwhile
            line.show(status)

    def _read_status(self) -> EngineStatus:
        engine = self.engine
        runtime = self.runtime.status()
        return EngineStatus(
            sandbox=self.sandbox is not None,
            scheduler=runtime.state,
            leases_held=runtime.leases_held,
            mailboxes=engine.queries.mailbox_count(),
            # The switch is stored in the database: another console or the CLI may set it.
            monitor_mode=engine.monitor_mode(),
            clock=day_time(engine.clock.now(), engine.settings.tz) + f" {engine.settings.tz}",
            insecure=tuple(engine.queries.insecure_mailboxes()),
            waiting_approval=engine.approvals.count(),
            one_click_off=not one_click_status(engine.settings.sending.unsubscribe_url)[0],
        )

    # -- help and palette -------------------------------------------------------------------

    def action_help(self) -> None:
        sections: list[tuple[str, list[tuple[str, str]]]] = [
            ("Panes", [(str(n), cls.TITLE) for n, cls in enumerate(pane_classes(), start=1)]),
            (
                "Everywhere",
                [
                    ("?", "this help"),
                    ("q", "quit"),
                    ("ctrl+p", "command palette"),
                    ("/", "filter the table"),
                    ("M", "monitor mode: observe, suggest or enforce"),
                ],
            ),
        ]
        pane = self.pane(self.current_pane)
        own = [
            (b.key, b.tooltip or b.description)
            for b in pane.BINDINGS
            if isinstance(b, Binding) and b.key not in ("slash",)
        ]
        if own:
            # First: at 80x24 only the top of the help fits, and these are the keys wanted now.
            sections.insert(0, (pane.TITLE, own))
        self.push_screen(HelpScreen(sections))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for number, cls in enumerate(pane_classes(), start=1):
            yield SystemCommand(
                f"pane: {cls.TITLE}",
                f"show the {cls.TITLE} pane (key {number})",
                lambda pane_id=cls.PANE_ID: self.action_show_pane(pane_id),
            )
        for mode, meaning in MONITOR_MODES:
            yield SystemCommand(
                f"monitor: {mode}",
                meaning,
                lambda mode=mode: self.ask_monitor_mode(mode),
            )
        pane = self.pane(self.current_pane)
        for binding in pane.BINDINGS:
            if isinstance(binding, Binding) and binding.show:
                yield SystemCommand(
                    f"{pane.SHORT.lower()}: {binding.description.lower()}",
                    f"{binding.description} (key {binding.key})",
                    lambda action=binding.action, p=pane: p.run_action(action),
                )

    # -- the deliverability guard's mode --------------------------------------------------------

    def action_monitor_mode(self) -> None:
        from outreach_tui.tui.widgets.choice import ChoiceScreen

        current = self.query_one(StatusLine).monitor_mode

        def picked(mode: str | None) -> None:
            if mode is not None:
                self.ask_monitor_mode(mode)

        self.push_screen(ChoiceScreen("Monitor mode:", MONITOR_MODES, current), picked)

    def ask_monitor_mode(self, mode: str) -> None:
        """Confirm, then switch the guard for every process on this database."""
        from outreach_tui.tui.widgets.confirm import ConfirmScreen

        meaning = dict(MONITOR_MODES)[mode].split(" — ", 1)[1]

        def answered(yes: bool | None) -> None:
            if yes:
                self._set_monitor_mode(mode)

        self.push_screen(
            ConfirmScreen(f"Switch the monitor to {mode.upper()}?", f"It will {meaning}."),
            answered,
        )

    @work(exit_on_error=False, group="monitor-mode")
    async def _set_monitor_mode(self, mode: str) -> None:
        try:
            await asyncio.to_thread(self.engine.set_monitor_mode, mode)
        except Exception:
            log.exception("switching the monitor to %s failed", mode)
            self.notify("could not switch the monitor; details in the log", severity="error")
            return
        self.notify(f"monitor mode: {mode.upper()}")
        self.refresh_status()
        self.pane(self.current_pane).refresh_data()
