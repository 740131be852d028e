"""Inbox: replies with their class; h marks one handled (or open again)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from outreach_tui.engine.queries import ReplyRow
from outreach_tui.tui.panes.base import Pane
from outreach_tui.tui.widgets.format import day_time, safe
from outreach_tui.tui.widgets.keyed_table import KeyedTable

_CLASS_STYLE = {
    "interested": "b green",
    "unsubscribe": "red",
    "not_interested": "yellow",
    "bounce": "red",
    "out_of_office": "dim",
}


class InboxPane(Pane):
    PANE_ID = "inbox"
    TITLE = "Inbox"
    SHORT = "Inbox"

    BINDINGS = [Binding("h", "handled", "Handled", id="inbox.handled")]

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, ReplyRow] = {}

    def compose(self) -> ComposeResult:
        yield self.title_widget()
        # Done before Subject: the long subject is cut at the right edge, not the check mark.
        yield KeyedTable(["When", "From", "Class", "Done", "Subject"], id="inbox-table")
        yield Static(id="inbox-preview", classes="detail")

    def load(self) -> list[ReplyRow]:
        return self.engine.queries.replies(limit=500, search=self.filter_text)

    def show(self, data: list[ReplyRow]) -> None:
        tz = self.engine.settings.tz
        self.rows = {str(r.id): r for r in data}
        self.query_one(KeyedTable).sync(
            [
                (
                    str(r.id),
                    (
                        day_time(r.received_at, tz),
                        r.from_email or "",
                        Text(
                            r.classification or "?",
                            style=_CLASS_STYLE.get(r.classification or "", ""),
                        ),
                        "✓" if r.handled else "",
                        Text(r.subject or ""),
                    ),
                )
                for r in data
            ]
        )
        self._preview()

    def _current(self) -> ReplyRow | None:
        key = self.query_one(KeyedTable).current_key()
        return self.rows.get(key) if key else None

    def _preview(self) -> None:
        row = self._current()
        text = (
            "[dim]no replies yet[/dim]"
            if row is None
            else (
                f"[b]{safe(row.from_email)}[/b] → {safe(row.mailbox)}\n[b]{safe(row.subject)}[/b]\n"
                f"{safe(row.snippet)}"
            )
        )
        self.query_one("#inbox-preview", Static).update(text)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._preview()

    def action_handled(self) -> None:
        row = self._current()
        if row is not None:
            self.engine_action(
                self.engine.actions.mark_reply_handled, row.id, not row.handled, success="updated"
            )
