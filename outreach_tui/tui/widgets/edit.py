"""Edit a queued email's subject and body before approving it."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, TextArea

from outreach_tui.tui.widgets.plain_input import PlainInput, PlainTextArea


@dataclass(frozen=True, slots=True)
class Edited:
    subject: str
    body: str


class EditScreen(ModalScreen[Edited | None]):
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="edit.save"),
        Binding("escape", "cancel", "Cancel", id="edit.cancel"),
    ]

    def __init__(self, subject: str, body: str) -> None:
        super().__init__()
        self.subject = subject
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical(id="edit-box"):
            yield Label("Edit before approving — [b]ctrl+s[/b] save, [b]esc[/b] cancel")
            # Cleaned of terminal controls: what is shown is what is saved.
            yield PlainInput(self.subject, id="edit-subject")
            yield PlainTextArea(self.body, id="edit-body")

    def action_save(self) -> None:
        subject = self.query_one("#edit-subject", Input).value
        body = self.query_one("#edit-body", TextArea).text
        self.dismiss(Edited(subject, body))

    def action_cancel(self) -> None:
        self.dismiss(None)
