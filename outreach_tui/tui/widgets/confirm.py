"""A yes/no question before anything destructive or outward (y, n, escape)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label

from outreach_tui.core.screen_text import printable


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n", "answer(False)", "No", id="confirm.no"),
        Binding("escape", "answer(False)", "Cancel", id="confirm.cancel"),
    ]

    def __init__(self, question: str, detail: str = "") -> None:
        super().__init__()
        self.question = question
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            # Plain text: the question names data (a campaign "[Test] spring", a typed value).
            yield Label(printable(self.question), id="confirm-question", markup=False)
            if self.detail:
                yield Label(printable(self.detail), id="confirm-detail", markup=False)
            yield Label("[b]y[/b] yes   [b]n[/b] no   [b]esc[/b] cancel", id="confirm-keys")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)
