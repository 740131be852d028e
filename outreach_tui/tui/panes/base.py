"""What every pane shares: a title, a background load through the engine's read models,
a filter (`/`), and a refresh that never blocks the event loop.

A pane implements `load()` (runs in a thread: engine calls only, no widgets) and
`show(data)` (runs on the event loop: widgets only, no engine calls).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from outreach_tui.tui.messages import StatusChanged
from outreach_tui.tui.widgets.format import markup

if TYPE_CHECKING:
    from outreach_tui.engine import ConsoleEngine, InProcessRuntime

log = logging.getLogger(__name__)


class Pane(Vertical):
    PANE_ID: ClassVar[str] = ""
    TITLE: ClassVar[str] = ""
    SHORT: ClassVar[str] = ""
    """The label in the pane bar (fits 80 columns with the others)."""
    FILTERABLE: ClassVar[bool] = True

    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("slash", "filter", "Filter", id="pane.filter"),
    ]

    def __init__(self, engine: ConsoleEngine, runtime: InProcessRuntime) -> None:
        """`engine`: the reads and actions behind the pane; `runtime`: where engine calls
        that do network I/O (a send) are awaited."""
        super().__init__(id=f"pane-{self.PANE_ID}", classes="pane")
        self.engine = engine
        self.runtime = runtime
        self.filter_text = ""
        self.loaded = asyncio.Event()
        self.show_count = 0
        """How many times fresh data has been shown (tests and bench/console.py wait on it)."""

    def title_widget(self) -> Static:
        return Static(self.title_text(), classes="pane-title", id=f"title-{self.PANE_ID}")

    def title_text(self, extra: str = "") -> Content:
        """The title, the filter (as typed: never markup) and `extra`, our own markup."""
        suffix = "  [dim]filter: $filter[/dim]" if self.filter_text else ""
        return markup(f"[b]{self.TITLE}[/b]{suffix}{extra}", filter=self.filter_text)

    # -- loading --------------------------------------------------------------------------

    def load(self) -> Any:
        """Read what the pane shows (in a thread): engine calls only."""
        raise NotImplementedError

    def show(self, data: Any) -> None:
        """Render `data` (on the event loop): widgets only."""
        raise NotImplementedError

    def refresh_data(self) -> None:
        self._load_worker()

    @work(exclusive=True, exit_on_error=False, group="pane-load")
    async def _load_worker(self) -> None:
        try:
            data = await asyncio.to_thread(self.load)
        except Exception:
            log.exception("loading pane %s failed", self.PANE_ID)
            self.notify("could not load this pane; details in the log", severity="error")
            return
        self.show(data)
        self.show_count += 1
        self.loaded.set()

    # -- filter ---------------------------------------------------------------------------

    def action_filter(self) -> None:
        if not self.FILTERABLE:
            return
        from outreach_tui.tui.widgets.text_prompt import TextPrompt

        def done(value: str | None) -> None:
            if value is None:
                return
            self.filter_text = value.strip()
            self.query_one(".pane-title", Static).update(self.title_text())
            self.on_filter_changed()
            self.refresh_data()

        self.app.push_screen(TextPrompt("Filter (empty clears):", self.filter_text), done)

    def on_filter_changed(self) -> None:
        """Hook: reset paging and the like."""

    # -- shared helpers ---------------------------------------------------------------------

    def confirm(self, question: str, detail: str, then: Any) -> None:
        from outreach_tui.tui.widgets.confirm import ConfirmScreen

        def done(answer: bool | None) -> None:
            if answer:
                then()

        self.app.push_screen(ConfirmScreen(question, detail), done)

    def engine_action(self, fn: Any, *args: Any, success: str = "", **kwargs: Any) -> None:
        """Run an engine action in a thread; report the outcome, refresh the pane."""
        self._engine_action_worker(fn, args, kwargs, success)

    @work(exit_on_error=False, group="pane-action")
    async def _engine_action_worker(self, fn: Any, args: Any, kwargs: Any, success: str) -> None:
        from outreach_tui.core.errors import OutreachError

        try:
            result = await asyncio.to_thread(fn, *args, **kwargs)
        except OutreachError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        except Exception:
            log.exception("action %s failed", getattr(fn, "__name__", fn))
            self.notify("the action failed; details in the log", severity="error")
            return
        if success:
            self.notify(success.format(result=result), markup=False)
        self.refresh_data()
        self.post_message(StatusChanged())

    def engine_call(
        self, make: Callable[[], Coroutine[Any, Any, Any]], then: Callable[[Any], None]
    ) -> None:
        """Run an async engine call that does network I/O (a send) on the engine's own
        loop, never on the UI's; `then(result)` reports it, then the pane refreshes."""
        self._engine_call_worker(make, then)

    @work(exit_on_error=False, group="pane-action")
    async def _engine_call_worker(
        self, make: Callable[[], Coroutine[Any, Any, Any]], then: Callable[[Any], None]
    ) -> None:
        from outreach_tui.core.errors import OutreachError

        try:
            result = await self.runtime.run(make)
        except OutreachError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        except Exception:
            log.exception("engine call %s failed", getattr(make, "__name__", make))
            self.notify("the action failed; details in the log", severity="error")
            return
        then(result)
        self.refresh_data()
        self.post_message(StatusChanged())

    def choose(
        self, question: str, choices: list[tuple[str, str]], current: str | None, then: Any
    ) -> None:
        """Ask for one of `choices` (value, label); `then(value)` unless cancelled."""
        from outreach_tui.tui.widgets.choice import ChoiceScreen

        def done(value: str | None) -> None:
            if value is not None:
                then(value)

        self.app.push_screen(ChoiceScreen(question, choices, current), done)
