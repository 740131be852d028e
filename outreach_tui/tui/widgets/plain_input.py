"""Text fields that never hold a terminal control: what is typed, pasted or put in them is
cleaned (core/screen_text.py), so a pasted `ESC[2J` or a body carrying an OSC 52 shows a
mark instead of acting on the operator's terminal."""

from __future__ import annotations

from textual.widgets import Input, TextArea
from textual.widgets.text_area import Edit, EditResult

from outreach_tui.core.screen_text import printable


class PlainInput(Input):
    """An `Input` (one line) whose value is cleaned however it is set."""

    def validate_value(self, value: str) -> str:
        # Textual calls `validate_<reactive>` on every assignment: typing, paste, the code.
        return printable(value)


class PlainTextArea(TextArea):
    """A `TextArea` whose text is cleaned when it is given and on every edit (a paste)."""

    def __init__(self, text: str = "", *, id: str | None = None) -> None:
        super().__init__(printable(text, multiline=True), id=id)

    def edit(self, edit: Edit) -> EditResult:
        # Every change of the document goes through here (typing, paste, replace, insert).
        edit.text = printable(edit.text, multiline=True)
        return super().edit(edit)
