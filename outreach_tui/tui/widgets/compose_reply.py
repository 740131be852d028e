"""Write the answer to a reply: who it goes to, from which mailbox, under which subject (the
engine threads it), and the body; ctrl+s sends (after a confirm), esc cancels."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, TextArea

from outreach_tui.core.screen_text import printable
from outreach_tui.tui.widgets.format import markup
from outreach_tui.tui.widgets.plain_input import PlainTextArea


class ReplyScreen(ModalScreen[str | None]):
    BINDINGS = [
        Binding("ctrl+s", "send", "Send", id="reply.send"),
        Binding("escape", "cancel", "Cancel", id="reply.cancel"),
    ]

    def __init__(self, to: str, sender: str, subject: str, quoted: str = "") -> None:
        super().__init__()
        self.to = to
        self.sender = sender
        self.subject = subject
        self.quoted = quoted

    def compose(self) -> ComposeResult:
        with Vertical(id="edit-box"):
            yield Label("Reply — [b]ctrl+s[/b] send, [b]esc[/b] cancel")
            yield Label(
                markup(
                    "[b]To[/b] $to  [b]From[/b] $sender\n[b]Subject[/b] $subject",
                    to=printable(self.to),
                    sender=printable(self.sender),
                    subject=printable(self.subject),
                ),
                id="reply-head",
            )
            if self.quoted:
                yield Label(markup("[dim]> $quoted[/dim]", quoted=self.quoted), id="reply-quote")
            yield PlainTextArea("", id="reply-body")

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def action_send(self) -> None:
        self.dismiss(self.query_one(TextArea).text)

    def action_cancel(self) -> None:
        self.dismiss(None)
