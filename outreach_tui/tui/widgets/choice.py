"""Pick one of a few values (a reply's class, the monitor's mode): arrows or the digit
shown beside each (1 to 9, then 0), enter picks, esc cancels."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from outreach_tui.core.screen_text import printable
from outreach_tui.tui.widgets.format import plain


class ChoiceScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="choice.cancel")]

    def __init__(self, question: str, choices: list[tuple[str, str]], current: str | None) -> None:
        """`choices`: (value, label); `current` is highlighted first."""
        super().__init__()
        self.question = question
        self.choices = choices
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="choice-box"):
            # Plain text: the question names data (an address).
            yield Label(printable(self.question), id="choice-question", markup=False)
            yield OptionList(
                *(
                    Option(plain(f"{n % 10}  {label}"), id=value)
                    for n, (value, label) in enumerate(self.choices, start=1)
                ),
                id="choice-list",
            )
            yield Label("[b]enter[/b] pick   [b]esc[/b] cancel", id="choice-keys")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        values = [value for value, _ in self.choices]
        if self.current in values:
            options.highlighted = values.index(self.current)
        options.focus()

    def on_key(self, event: events.Key) -> None:
        # A digit picks the choice shown with it: two keys instead of a walk down the list.
        if event.character and event.character.isdigit():
            index = (int(event.character) - 1) % 10  # "0" is the tenth
            if index < len(self.choices):
                event.stop()
                self.dismiss(self.choices[index][0])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
