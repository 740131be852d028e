"""Keyset paging for the big tables (leads, suppression, audit): `n` next page, `b` back.

Pages are read by primary key from where the last one ended, never with OFFSET, so the
millionth lead is as quick to reach as the first."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.binding import Binding
from textual.content import Content

from outreach_tui.engine import ConsoleEngine, InProcessRuntime
from outreach_tui.tui.panes.base import Pane

PAGE_SIZE = 200


class PagedPane(Pane):
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("slash", "filter", "Filter", id="paged.filter"),
        Binding("n", "next_page", "Next page", id="paged.next"),
        Binding("b", "previous_page", "Prev page", id="paged.previous"),
    ]

    def __init__(self, engine: ConsoleEngine, runtime: InProcessRuntime) -> None:
        super().__init__(engine, runtime)
        self.cursors: list[Any] = [None]
        """Where each page visited so far begins (None: the first page)."""
        self.more = False
        self.last_key: Any = None

    @property
    def page_number(self) -> int:
        return len(self.cursors)

    def on_filter_changed(self) -> None:
        self.cursors = [None]

    def action_next_page(self) -> None:
        if self.more and self.last_key is not None:
            self.cursors.append(self.last_key)
            self.refresh_data()

    def action_previous_page(self) -> None:
        if len(self.cursors) > 1:
            self.cursors.pop()
            self.refresh_data()

    def page_title(self, extra: str = "") -> Content:
        """The title with the page (and `extra`, our own markup)."""
        more = "  n: next page" if self.more else ""
        back = "  b: back" if len(self.cursors) > 1 else ""
        return self.title_text(f"  [dim]page {self.page_number}{more}{back}[/dim]{extra}")
