"""Audit & events: every decision (newest first, paged) and the engine's events."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.widgets import DataTable, Static

from outreach_tui.engine import AuditRow, ConsoleEngine, EventRow, InProcessRuntime, Page
from outreach_tui.tui.panes.paged import PAGE_SIZE, PagedPane
from outreach_tui.tui.widgets.format import clip, day_time, plain, severity_style
from outreach_tui.tui.widgets.keyed_table import Cell, KeyedTable, Row


class AuditPane(PagedPane):
    PANE_ID = "audit"
    TITLE = "Audit & events"
    SHORT = "Audit"

    BINDINGS = [
        *PagedPane.BINDINGS,
        Binding("v", "toggle_view", "Audit/events", id="audit.toggle"),
    ]

    def __init__(self, engine: ConsoleEngine, runtime: InProcessRuntime) -> None:
        super().__init__(engine, runtime)
        self.events_view = False
        self.full: dict[str, Sequence[Cell]] = {}

    def compose(self) -> ComposeResult:
        yield self.title_widget()
        yield KeyedTable(["When", "Who", "Result", "Lead", "Reason"], id="audit-table")
        yield Static(id="audit-detail", classes="detail")

    def page_title(self, extra: str = "") -> Content:
        view = "events" if self.events_view else "audit log"
        return super().page_title(f"  [dim]{view} (v switches)[/dim]{extra}")

    def load(self) -> Page[AuditRow] | list[EventRow]:
        if self.events_view:
            return self.engine.queries.events(limit=PAGE_SIZE)
        return self.engine.queries.audit(
            before_id=self.cursors[-1], limit=PAGE_SIZE, search=self.filter_text
        )

    def show(self, data: Page[AuditRow] | list[EventRow]) -> None:
        tz = self.engine.settings.tz
        table = self.query_one(KeyedTable)
        rows: list[Row]
        if isinstance(data, list):
            self.more, self.last_key = False, None
            rows = [
                (
                    f"e{e.id}",
                    (
                        day_time(e.created_at, tz),
                        "engine",
                        Text(e.severity, style=severity_style(e.severity)),
                        e.kind,
                        Text(e.message),
                    ),
                )
                for e in data
            ]
        else:
            self.more = data.more
            self.last_key = data.rows[-1].id if data.rows else None
            rows = [
                (
                    f"a{a.id}",
                    (
                        day_time(a.timestamp, tz),
                        clip(a.user_id, 10),
                        clip(a.policy_result, 16),
                        clip(a.lead_email or "", 22),
                        Text(a.reason),
                    ),
                )
                for a in data.rows
            ]
        self.query_one(".pane-title", Static).update(self.page_title())
        self.full = {key: cells for key, cells in rows}
        table.sync(rows)
        self._detail()

    def _detail(self) -> None:
        """The whole of the highlighted row: at 80 columns the table clips the reason."""
        key = self.query_one(KeyedTable).current_key()
        cells = self.full.get(key) if key else None
        text = " · ".join(str(c) for c in cells[:4] if str(c)) + f"\n{cells[4]}" if cells else ""
        self.query_one("#audit-detail", Static).update(plain(text, multiline=True))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._detail()

    def action_toggle_view(self) -> None:
        self.events_view = not self.events_view
        self.cursors = [None]
        self.refresh_data()
