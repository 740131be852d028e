"""Queue: sends waiting for approval, with a preview of the rendered email.

a approve, r reject, e edit (then re-checked), A approve everything visible (after a
confirm), j/k or arrows to move."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from outreach_tui.core.screen_text import printable
from outreach_tui.engine import ConsoleEngine, InProcessRuntime, QueueItem
from outreach_tui.tui.panes.base import Pane
from outreach_tui.tui.widgets.edit import Edited, EditScreen
from outreach_tui.tui.widgets.format import day_time, markup
from outreach_tui.tui.widgets.keyed_table import KeyedTable

PAGE = 200


class QueuePane(Pane):
    PANE_ID = "queue"
    TITLE = "Queue — waiting for approval"
    SHORT = "Queue"

    BINDINGS = [
        Binding("a", "approve", "Approve", id="queue.approve"),
        Binding("r", "reject", "Reject", id="queue.reject"),
        Binding("e", "edit", "Edit", id="queue.edit"),
        Binding("A", "approve_all", "Approve all", id="queue.approve_all"),
        Binding("j", "cursor_down", "Down", show=False, id="queue.down"),
        Binding("k", "cursor_up", "Up", show=False, id="queue.up"),
    ]

    def __init__(self, engine: ConsoleEngine, runtime: InProcessRuntime) -> None:
        super().__init__(engine, runtime)
        self.items: dict[str, QueueItem] = {}

    def compose(self) -> ComposeResult:
        yield self.title_widget()
        yield KeyedTable(["When", "From", "To", "Subject"], id="queue-table")
        yield Static(id="queue-preview", classes="preview")

    @property
    def table(self) -> KeyedTable:
        return self.query_one("#queue-table", KeyedTable)

    def load(self) -> list[QueueItem]:
        return self.engine.approvals.page(limit=PAGE)

    def filtered(self, items: list[QueueItem]) -> list[QueueItem]:
        text = self.filter_text.lower()
        if not text:
            return items
        return [
            i
            for i in items
            if text in i.recipient
            or text in i.subject.lower()
            or text in (i.campaign or "").lower()
        ]

    def show(self, data: list[QueueItem]) -> None:
        tz = self.engine.settings.tz
        items = self.filtered(data)
        self.items = {str(i.attempt_id): i for i in items}
        self.table.sync(
            [
                (
                    str(i.attempt_id),
                    (
                        day_time(i.scheduled_at, tz),
                        i.sender.split("@")[0],
                        i.recipient,
                        Text(i.subject),
                    ),
                )
                for i in items
            ]
        )
        self.update_preview()

    def current(self) -> QueueItem | None:
        key = self.table.current_key()
        return self.items.get(key) if key else None

    def update_preview(self) -> None:
        item = self.current()
        preview = self.query_one("#queue-preview", Static)
        if item is None:
            preview.update("[dim]nothing is waiting for approval[/dim]")
            return
        edited = "  [yellow]edited by $editor[/]" if item.edited_by else ""
        preview.update(
            markup(
                "[b]From[/b] $sender  [b]To[/b] $recipient\n"
                "[b]Subject[/b] $subject\n"
                f"[dim]$campaign step {item.step} · health $health · legal basis "
                f"$basis · policy pre-checked{edited}[/dim]\n"
                "$body",
                sender=printable(item.sender),
                recipient=printable(item.recipient),
                subject=printable(item.subject),
                campaign=printable(item.campaign),
                health=item.lead_health or "unverified",
                basis=item.legal_basis or "decided at send",
                editor=item.edited_by,
                body=item.body,
            )
        )

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.update_preview()

    def action_cursor_down(self) -> None:
        self.table.action_cursor_down()

    def action_cursor_up(self) -> None:
        self.table.action_cursor_up()

    def action_approve(self) -> None:
        item = self.current()
        if item is not None:
            # Off the screen at once; the engine's answer (and the refresh) follow. Should
            # the approval fail, that refresh brings the email back with an error.
            self.drop_row(item)
            self.engine_action(self.engine.approvals.approve, [item.attempt_id], success="approved")

    def drop_row(self, item: QueueItem) -> None:
        key = str(item.attempt_id)
        self.items.pop(key, None)
        self.table.sync([(k, c) for k, c in self.table.rows_now() if k != key])
        self.update_preview()

    def action_reject(self) -> None:
        item = self.current()
        if item is None:
            return
        self.confirm(
            f"Reject the email to {item.recipient}?",
            "Its sequence in this campaign stops.",
            lambda: self.engine_action(
                self.engine.approvals.reject, [item.attempt_id], success="rejected"
            ),
        )

    def action_approve_all(self) -> None:
        ids = [item.attempt_id for item in self.items.values()]
        if not ids:
            return
        self.confirm(
            f"Approve all {len(ids)} visible emails?",
            "They will be sent inside their windows.",
            lambda: self.engine_action(
                self.engine.approvals.approve, ids, success="approved {result}"
            ),
        )

    def action_edit(self) -> None:
        item = self.current()
        if item is None:
            return

        def done(edited: Edited | None) -> None:
            if edited is not None:
                self.engine_action(
                    self.engine.approvals.edit,
                    item.attempt_id,
                    subject=edited.subject,
                    body=edited.body,
                    success="edited; approve it when ready",
                )

        self.app.push_screen(EditScreen(item.subject, item.body), done)
