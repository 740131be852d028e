"""The suppression list, paged; a add an address, D add a whole domain, x remove."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from outreach_tui.engine import ConsoleEngine, InProcessRuntime, Page, SuppressionRow
from outreach_tui.tui.panes.paged import PAGE_SIZE, PagedPane
from outreach_tui.tui.widgets.format import day_time
from outreach_tui.tui.widgets.keyed_table import KeyedTable
from outreach_tui.tui.widgets.text_prompt import TextPrompt


class SuppressionPane(PagedPane):
    PANE_ID = "suppression"
    TITLE = "Suppression"
    SHORT = "Supp"

    BINDINGS = [
        *PagedPane.BINDINGS,
        # Short words in the footer (at 80 columns it must still show "? Help"); the help
        # screen gives the tooltip.
        Binding("a", "add_address", "Address", tooltip="Add address", id="suppression.add_address"),
        Binding("D", "add_domain", "Domain", tooltip="Add domain", id="suppression.add_domain"),
        Binding("x", "remove", "Remove", id="suppression.remove"),
    ]

    def __init__(self, engine: ConsoleEngine, runtime: InProcessRuntime) -> None:
        super().__init__(engine, runtime)
        self.rows: dict[str, SuppressionRow] = {}

    def compose(self) -> ComposeResult:
        yield self.title_widget()
        yield KeyedTable(["Kind", "Value", "Reason", "Source", "Added"], id="suppression-table")

    def load(self) -> Page[SuppressionRow]:
        after = self.cursors[-1] or 0
        return self.engine.queries.suppression(
            after_id=after, limit=PAGE_SIZE, search=self.filter_text
        )

    def show(self, data: Page[SuppressionRow]) -> None:
        tz = self.engine.settings.tz
        self.more = data.more
        self.last_key = data.rows[-1].id if data.rows else None
        self.rows = {str(r.id): r for r in data.rows}
        self.query_one(".pane-title", Static).update(self.page_title())
        self.query_one(KeyedTable).sync(
            [
                (str(r.id), (r.kind, r.value, r.reason, r.source, day_time(r.created_at, tz)))
                for r in data.rows
            ]
        )

    def _add(self, kind: str) -> None:
        question = "Suppress which address?" if kind == "address" else "Suppress which domain?"

        def entered(value: str | None) -> None:
            if not value or not value.strip():
                return
            scope = "this address" if kind == "address" else "every address at this domain"
            self.confirm(
                f"Suppress {value.strip()}?",
                f"Nothing is ever sent to {scope} again.",
                lambda: self.engine_action(
                    self.engine.suppression.add,
                    value,
                    kind=kind,
                    reason="added in the console",
                    success="suppressed",
                ),
            )

        self.app.push_screen(TextPrompt(question), entered)

    def action_add_address(self) -> None:
        self._add("address")

    def action_add_domain(self) -> None:
        self._add("domain")

    def action_remove(self) -> None:
        key = self.query_one(KeyedTable).current_key()
        row = self.rows.get(key) if key else None
        if row is not None:
            self.confirm(
                f"Remove {row.value} from the suppression list?",
                "Campaigns may write to it again.",
                lambda: self.engine_action(
                    self.engine.suppression.remove, row.value, kind=row.kind, success="removed"
                ),
            )
