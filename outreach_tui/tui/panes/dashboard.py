"""Dashboard: today at a glance (sent, planned, capacity, approvals, replies), mailboxes by
phase, the workers sharing a PostgreSQL deployment (host:pid, mailboxes held, last
heartbeat), the guard's suggestions and the latest alerts (a accept, x dismiss a suggestion;
M switches the monitor's mode) and the forecast of the next 24 hours."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Static

from outreach_tui.core.screen_text import printable
from outreach_tui.engine import (
    ConsoleEngine,
    Dashboard,
    EventRow,
    ForecastRow,
    InProcessRuntime,
    Suggestion,
    WorkerRow,
)
from outreach_tui.tui.panes.base import Pane
from outreach_tui.tui.widgets.format import clock_time, markup, severity_style
from outreach_tui.tui.widgets.keyed_table import KeyedTable

_SEVERITY_RANK = {"critical": 0, "warning": 1}


@dataclass(frozen=True, slots=True)
class DashboardData:
    dashboard: Dashboard
    forecast: list[ForecastRow]
    tz: Any
    suggestions: list[Suggestion] = field(default_factory=list)
    workers: list[WorkerRow] | None = None
    """Every process sharing a PostgreSQL deployment; None on SQLite (no card)."""


class DashboardPane(Pane):
    PANE_ID = "dashboard"
    TITLE = "Dashboard"
    SHORT = "Dash"
    FILTERABLE = False

    BINDINGS = [
        # Nothing here to filter: the key stays out of the footer.
        Binding("slash", "filter", "Filter", show=False, id="dashboard.filter"),
        Binding("a", "accept", "Accept", id="dashboard.accept"),
        Binding("x", "dismiss", "Dismiss", id="dashboard.dismiss"),
        Binding("M", "app.monitor_mode", "Mode", id="dashboard.monitor_mode"),
    ]

    def compose(self) -> ComposeResult:
        yield self.title_widget()
        with Horizontal(id="dash-top"):
            yield Static(id="dash-today", classes="card")
            yield Static(id="dash-phases", classes="card")
            # Shown only on a shared (PostgreSQL) deployment: hidden, it takes no room.
            yield Static(id="dash-workers", classes="card")
        # The guard's suggestions (to accept or dismiss) above the latest alerts: a table, so
        # the operator can point at one.
        with Vertical(id="dash-alerts", classes="card"):
            yield Static("[b]Alerts[/b]", id="dash-alerts-title")
            yield KeyedTable(["When", "What", "Message"], id="dash-alerts-table")
        yield Static(id="dash-forecast", classes="card")

    def on_mount(self) -> None:
        self.query_one("#dash-alerts-table", KeyedTable).show_header = False
        self.query_one("#dash-workers", Static).display = False

    #: The forecast replays the dispatcher over a day: worth a minute's staleness.
    FORECAST_SECONDS = 60.0
    FORECAST_LIMIT = 300

    def __init__(self, engine: ConsoleEngine, runtime: InProcessRuntime) -> None:
        super().__init__(engine, runtime)
        self._forecast: list[ForecastRow] = []
        self._forecast_at = -1e9
        self.suggestions: dict[str, Suggestion] = {}

    def load(self) -> DashboardData:
        engine = self.engine
        # The first paint does not wait for the forecast: it follows a moment later.
        first = self.show_count == 0
        if not first and time.monotonic() - self._forecast_at > self.FORECAST_SECONDS:
            self._forecast = engine.explainer.forecast(24, limit=self.FORECAST_LIMIT)
            self._forecast_at = time.monotonic()
        return DashboardData(
            engine.queries.dashboard(),
            self._forecast,
            engine.settings.tz,
            engine.open_suggestions(limit=50),
            engine.queries.workers(),
        )

    def show(self, data: DashboardData) -> None:
        self._show(data)
        if self._forecast_at < 0 and self.show_count == 0:
            self.set_timer(0.05, self.refresh_data)

    def _show(self, data: DashboardData) -> None:
        d = data.dashboard
        self.query_one("#dash-today", Static).update(
            f"[b]Today[/b] {d.today:%a %d %b}\n"
            f"sent      {d.sent_today:>6}\n"
            f"planned   {d.planned_today:>6}\n"
            f"capacity  {d.capacity_today:>6}\n"
            f"approve   {d.waiting_approval:>6}\n"
            f"replies   {d.replies_waiting:>6}"
            + (f"\n[b yellow]unknown   {d.unknown_outcomes:>6}[/]" if d.unknown_outcomes else "")
        )
        # A phase is a word stored in the database: filled in as plain text.
        phases = [
            markup(
                "$line" if phase == "HEALTHY" or not count else "[b yellow]$line[/]",
                line=f"{printable(phase):<16}{count:>5}",
            )
            for phase, count in d.phases.items()
        ]
        self.query_one("#dash-phases", Static).update(
            Content("\n").join([markup("[b]Mailboxes[/b]"), *phases])
        )
        self._show_workers(data)
        self._show_alerts(data)
        rows = data.forecast
        card: str | Content
        if rows:
            senders = len({r.sender for r in rows})
            # Addresses are data: one line each, filled in as plain text.
            lines = [
                f"{clock_time(r.at, data.tz)} {printable(r.sender.split('@')[0])[:12]:<12} → "
                f"{printable(r.recipient)}"
                for r in rows[:3]
            ]
            more = f"\n[dim]… {len(rows) - 3} more[/dim]" if len(rows) > 3 else ""
            count = f"{len(rows)}+" if len(rows) >= self.FORECAST_LIMIT else str(len(rows))
            card = markup(
                f"[b]Next 24 h[/b] {count} sends from {senders} mailboxes\n$lines{more}",
                lines="\n".join(lines),
            )
        elif self._forecast_at < 0:
            card = "[b]Next 24 h[/b]\n[dim]working it out…[/dim]"
        else:
            card = "[b]Next 24 h[/b]\n[dim]nothing would be sent[/dim]"
        self.query_one("#dash-forecast", Static).update(card)

    #: Worker lines in the card (as tall as the Today card at 80x24); the rest are counted.
    WORKER_LINES = 5

    def _show_workers(self, data: DashboardData) -> None:
        card = self.query_one("#dash-workers", Static)
        workers = data.workers
        card.display = workers is not None
        if workers is None:
            return
        live = sum(w.alive for w in workers)
        lines = [markup(f"[b]Workers[/b] {live} live")]
        for w in workers[: self.WORKER_LINES]:
            # The host name is another process's word: plain text.
            who = f"{printable(w.host)[:9]}:{w.pid}"[:15]
            seen = clock_time(w.heartbeat_at, data.tz)
            line = f"{who:<15}{w.leases:>3} {seen}"
            lines.append(markup("$line" if w.alive else "[dim]$line lost[/dim]", line=line))
        if len(workers) > self.WORKER_LINES:
            lines.append(markup(f"[dim]… {len(workers) - self.WORKER_LINES} more[/dim]"))
        if not workers:
            lines.append(markup("[dim]none registered[/dim]"))
        card.update(Content("\n").join(lines))

    # -- the guard: suggestions and alerts ------------------------------------------------------

    def _show_alerts(self, data: DashboardData) -> None:
        self.suggestions = {f"s{x.event_id}": x for x in data.suggestions}
        rows: list[tuple[str, tuple[str | Text, ...]]] = [
            (
                key,
                (
                    clock_time(x.created_at, data.tz),
                    Text("SUGGEST", style="b yellow"),
                    Text(x.action.describe()),
                ),
            )
            for key, x in self.suggestions.items()
        ]
        # An open suggestion is listed above; its event would only repeat it. The card is
        # three rows at 80x24: critical first, then warnings, the newest first within each.
        d = data.dashboard
        latest = {e.id: e for e in (*d.guard_alerts, *d.alerts) if e.kind != "suggestion"}
        events = sorted(latest.values(), key=lambda e: (_SEVERITY_RANK.get(e.severity, 2), -e.id))
        # A pause is both a phase change and its alert, worded alike: say it once.
        firsts: dict[str, EventRow] = {}
        for e in events:
            firsts.setdefault(e.message, e)
        events = list(firsts.values())
        rows += [
            (
                f"e{e.id}",
                (
                    clock_time(e.created_at, data.tz),
                    Text(e.severity[:4].upper(), style=severity_style(e.severity)),
                    Text(e.message, style="b red" if e.severity == "critical" else ""),
                ),
            )
            for e in events
        ]
        table = self.query_one("#dash-alerts-table", KeyedTable)
        # An operator who has not moved down the list sees its top: a new suggestion or
        # critical alert lands there, and must not scroll out of sight above the cursor.
        at_top = table.cursor_row <= 0
        table.sync(rows)
        if at_top and rows:
            table.move_cursor(row=0, animate=False)
        waiting = len(self.suggestions)
        title = "[b]Alerts[/b]" if rows else "[b]Alerts[/b]  [dim]no alerts[/dim]"
        if waiting:
            title = (
                f"[b]Suggestions and alerts[/b]  [b yellow]{waiting} waiting[/]  "
                "[dim]a accept  x dismiss[/dim]"
            )
        self.query_one("#dash-alerts-title", Static).update(title)

    def _current_suggestion(self) -> Suggestion | None:
        key = self.query_one("#dash-alerts-table", KeyedTable).current_key()
        found = self.suggestions.get(key) if key else None
        if found is None:
            self.notify(
                "no suggestion here: the guard's suggestions say SUGGEST", severity="warning"
            )
        return found

    def action_accept(self) -> None:
        found = self._current_suggestion()
        if found is None:
            return
        engine = self.engine

        def accept() -> str:
            if engine.accept_suggestion(found.event_id):
                return f"done: {found.action.describe()}"
            return "not applied: it changed since the suggestion (closed as stale)"

        self.confirm(
            f"Accept the guard's suggestion for {found.action.label}?",
            f"{found.action.describe()}. The guard does it now, as ENFORCE would.",
            lambda: self.engine_action(accept, success="{result}"),
        )

    def action_dismiss(self) -> None:
        found = self._current_suggestion()
        if found is not None:
            self.confirm(
                f"Dismiss the guard's suggestion for {found.action.label}?",
                f"{found.action.describe()}. Nothing is done; the suggestion is closed.",
                lambda: self.engine_action(
                    self.engine.dismiss_suggestion, found.event_id, success="dismissed"
                ),
            )
