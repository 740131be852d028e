"""Leads, paged from the database; w why is this lead not being sent, s suppress it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from outreach_tui.core.screen_text import printable
from outreach_tui.engine import ConsoleEngine, InProcessRuntime, LeadRow, Page
from outreach_tui.tui.panes.paged import PAGE_SIZE, PagedPane
from outreach_tui.tui.widgets.format import markup
from outreach_tui.tui.widgets.keyed_table import KeyedTable


class LeadsPane(PagedPane):
    PANE_ID = "leads"
    TITLE = "Leads"
    SHORT = "Leads"

    BINDINGS = [
        *PagedPane.BINDINGS,
        Binding("w", "why", "Why not sent", id="leads.why"),
        Binding("s", "suppress", "Suppress", id="leads.suppress"),
    ]

    def __init__(self, engine: ConsoleEngine, runtime: InProcessRuntime) -> None:
        super().__init__(engine, runtime)
        self.rows: dict[str, LeadRow] = {}

    def compose(self) -> ComposeResult:
        yield self.title_widget()
        yield KeyedTable(["Email", "Name", "Company", "Status", "Health"], id="leads-table")
        yield Static(
            "[dim]w: why is this lead not being sent?[/dim]", id="leads-why", classes="detail"
        )

    def load(self) -> Page[LeadRow]:
        after = self.cursors[-1] or 0
        return self.engine.queries.leads(after_id=after, limit=PAGE_SIZE, search=self.filter_text)

    def show(self, data: Page[LeadRow]) -> None:
        self.more = data.more
        self.last_key = data.rows[-1].id if data.rows else None
        self.rows = {str(r.id): r for r in data.rows}
        self.query_one(".pane-title", Static).update(self.page_title())
        self.query_one(KeyedTable).sync(
            [
                (str(r.id), (r.email, r.name, r.company or "", r.status, r.health or "-"))
                for r in data.rows
            ]
        )

    def _current(self) -> LeadRow | None:
        key = self.query_one(KeyedTable).current_key()
        return self.rows.get(key) if key else None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.query_one("#leads-why", Static).update(
            "[dim]w: why is this lead not being sent?[/dim]"
        )

    def action_why(self) -> None:
        lead = self._current()
        if lead is not None:
            self._why(lead.email)

    def _why(self, email: str) -> None:
        from textual import work

        @work(exit_on_error=False, group="why")
        async def run(pane: LeadsPane) -> None:
            import asyncio

            lines = await asyncio.to_thread(pane.engine.explainer.why, email)
            text = "\n".join(printable(str(line)) for line in lines)
            pane.query_one("#leads-why", Static).update(
                markup("[b]$email[/b]\n$text", email=printable(email), text=text)
            )

        run(self)

    def action_suppress(self) -> None:
        lead = self._current()
        if lead is not None:
            self.confirm(
                f"Suppress {lead.email}?",
                "It is never written to again; its sequences stop.",
                lambda: self.engine_action(
                    self.engine.suppression.add,
                    lead.email,
                    reason="suppressed from the console",
                    success="suppressed",
                ),
            )
