"""`?`: every binding of the app and of the current pane, in one list."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from outreach_tui.tui.widgets.format import markup


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss_help", "Close", id="help.close"),
    ]

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        # Titles and descriptions are filled in as plain text: a "[" in one is not markup.
        lines = [markup("[b]Keys[/b]  (esc closes)"), Content()]
        for title, bindings in self.sections:
            lines.append(markup("[b]$title[/b]", title=title))
            for key, description in bindings:
                lines.append(markup("  [b]$key[/b] $what", key=f"{key:<10}", what=description))
            lines.append(Content())
        with VerticalScroll(id="help-box"):
            yield Static(Content("\n").join(lines), id="help-text")

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
