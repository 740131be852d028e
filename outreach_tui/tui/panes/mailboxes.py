"""Mailboxes: phase (⚑ when flagged for manual review), today's count against its limit,
bounce and complaint rates, resilience, the last 14 days as a sparkline; below, the
highlighted mailbox's recovery state (since when, why, cooldown, offences, relapses);
p pause, u resume (with a confirm).

The ones that need attention come first (not HEALTHY, then the highest bounce rate), a page
of 200 at a time (`n`, `b`), so a pool of a thousand stays quick to read and to draw."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.widgets import DataTable, Static

from outreach_tui.core.screen_text import printable
from outreach_tui.engine import ConsoleEngine, InProcessRuntime, MailboxRow
from outreach_tui.tui.panes.paged import PAGE_SIZE, PagedPane
from outreach_tui.tui.widgets.format import day_time, markup, percent, sparkline
from outreach_tui.tui.widgets.keyed_table import KeyedTable

_PHASE_STYLE = {
    "HEALTHY": "green",
    "PAUSED": "b red",
    "QUARANTINE": "red",
    "RESTRICTED_SEND": "yellow",
    "WARM_RECOVERY": "cyan",
}


def _phase(m: MailboxRow) -> Text:
    text = Text(m.phase, style=_PHASE_STYLE.get(m.phase, ""))
    if m.needs_review:
        text.append(" ⚑", style="b red")
    return text


def recovery_text(m: MailboxRow, tz: Any) -> Content:
    """One mailbox's place in the recovery pipeline, in two lines."""
    since = f" since {day_time(m.phase_changed_at, tz)}" if m.phase_changed_at else ""
    why = " ($why)" if m.paused_reason and m.phase != "HEALTHY" else ""
    head = f"[b]$email[/b] $phase{since}{why}"
    facts = []
    if m.needs_review:
        facts.append("[b red]⚑ needs manual review[/]")
    if m.cooldown_until is not None:
        facts.append(f"cooldown until {day_time(m.cooldown_until, tz)}")
    facts.append(f"offences {m.offence_count}")
    facts.append(f"relapses {m.relapse_count}")
    if m.blocked and m.phase == "HEALTHY":
        facts.append("[yellow]$blocked[/]")
    return markup(
        f"{head}\n" + " · ".join(facts),
        email=printable(m.email),
        phase=printable(m.phase),
        why=printable(m.paused_reason),
        blocked=printable(m.blocked),
    )


class MailboxesPane(PagedPane):
    PANE_ID = "mailboxes"
    TITLE = "Mailboxes"
    SHORT = "Mbox"

    BINDINGS = [
        *PagedPane.BINDINGS,
        Binding("p", "pause", "Pause", id="mailboxes.pause"),
        Binding("u", "resume", "Resume", id="mailboxes.resume"),
    ]

    def __init__(self, engine: ConsoleEngine, runtime: InProcessRuntime) -> None:
        super().__init__(engine, runtime)
        self.rows: dict[str, MailboxRow] = {}

    def compose(self) -> ComposeResult:
        yield self.title_widget()
        yield KeyedTable(
            ["Mailbox", "Phase", "Today", "Bnc", "Cmp", "Res", "14 days"], id="mailboxes-table"
        )
        yield Static(id="mailboxes-detail", classes="state-line")

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
                        _phase(m),
                        f"{m.sent_today}/{m.limit_today}",
                        bounce,
                        percent(m.complaint_rate),
                        str(m.resilience),
                        sparkline(m.spark),
                    ),
                )
            )
        self.query_one(KeyedTable).sync(table_rows)
        self._detail()

    def _detail(self) -> None:
        m = self._current()
        self.query_one("#mailboxes-detail", Static).update(
            "" if m is None else recovery_text(m, self.engine.settings.tz)
        )

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._detail()

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
