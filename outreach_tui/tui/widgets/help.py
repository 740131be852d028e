"""`?`: every binding of the app and of the current pane, in one list."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss_help", "Close", id="help.close"),
    ]

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        lines: list[str] = ["[b]Keys[/b]  (esc closes)", ""]
        for title, bindings in self.sections:
            lines.append(f"[b]{title}[/b]")
            for key, description in bindings:
                lines.append(f"  [b]{key:<10}[/b] {description}")
            lines.append("")
        with VerticalScroll(id="help-box"):
            yield Static("\n".join(lines), id="help-text")

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
