"""Mailboxes: phase, today's count against its limit, bounce and complaint rates,
resilience, the last 14 days as a sparkline; p pause, u resume (with a confirm).

The ones that need attention come first (not HEALTHY, then the highest bounce rate), a page
of 200 at a time (`n`, `b`), so a pool of a thousand stays quick to read and to draw."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from outreach_tui.engine.queries import MailboxRow
from outreach_tui.tui.panes.paged import PAGE_SIZE, PagedPane
from outreach_tui.tui.widgets.format import percent, sparkline
from outreach_tui.tui.widgets.keyed_table import KeyedTable

_PHASE_STYLE = {
    "HEALTHY": "green",
    "PAUSED": "b red",
    "QUARANTINE": "red",
    "RESTRICTED_SEND": "yellow",
    "WARM_RECOVERY": "cyan",
}


class MailboxesPane(PagedPane):
    PANE_ID = "mailboxes"
    TITLE = "Mailboxes"
    SHORT = "Mbox"

    BINDINGS = [
        *PagedPane.BINDINGS,
        Binding("p", "pause", "Pause", id="mailboxes.pause"),
        Binding("u", "resume", "Resume", id="mailboxes.resume"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, MailboxRow] = {}

    def compose(self) -> ComposeResult:
        yield self.title_widget()
        yield KeyedTable(
            ["Mailbox", "Phase", "Today", "Bnc", "Cmp", "Res", "14 days"], id="mailboxes-table"
        )

    def load(self) -> list[MailboxRow]:
        return self.engine.queries.mailboxes()

    def show(self, data: list[MailboxRow]) -> None:
        text = self.filter_text.lower()
        matching = [m for m in data if text in m.email or text == m.phase.lower()]
        matching.sort(key=lambda m: (m.phase == "HEALTHY", -m.bounce_rate, m.email))
        start = (len(self.cursors) - 1) * PAGE_SIZE
        rows = matching[start : start + PAGE_SIZE]
        self.more = len(matching) > start + PAGE_SIZE
        self.last_key = start + PAGE_SIZE
        self.query_one(".pane-title", Static).update(self.page_title())
        self.rows = {str(m.id): m for m in rows}
        table_rows = []
        for m in rows:
            email = Text(m.email, style="b red") if not m.verify_tls else Text(m.email)
            bounce = Text(
                percent(m.bounce_rate),
                style="b red" if m.bounce_rate > 0.05 else "yellow" if m.bounce_rate > 0.03 else "",
            )
            table_rows.append(
                (
                    str(m.id),
                    (
                        email,
                        Text(m.phase, style=_PHASE_STYLE.get(m.phase, "")),
                        f"{m.sent_today}/{m.limit_today}",
                        bounce,
                        percent(m.complaint_rate),
                        str(m.resilience),
                        sparkline(m.spark),
                    ),
                )
            )
        self.query_one(KeyedTable).sync(table_rows)

    def _current(self) -> MailboxRow | None:
        key = self.query_one(KeyedTable).current_key()
        return self.rows.get(key) if key else None

    def action_pause(self) -> None:
        m = self._current()
        if m is not None:
            self.confirm(
                f"Pause {m.email}?",
                "It leaves rotation; nothing more is sent from it.",
                lambda: self.engine_action(
                    self.engine.actions.pause_mailbox, m.id, success="paused"
                ),
            )

    def action_resume(self) -> None:
        m = self._current()
        if m is not None:
            self.confirm(
                f"Resume {m.email}?",
                "It goes straight back to HEALTHY and rotation.",
                lambda: self.engine_action(
                    self.engine.actions.resume_mailbox, m.id, success="resumed"
                ),
            )
