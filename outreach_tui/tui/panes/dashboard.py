"""Dashboard: today at a glance (sent, planned, capacity, approvals, replies), mailboxes by
phase, the latest alerts and the forecast of the next 24 hours."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from outreach_tui.engine.explain import ForecastRow
from outreach_tui.engine.queries import Dashboard
from outreach_tui.tui.panes.base import Pane
from outreach_tui.tui.widgets.format import clock_time, severity_style


@dataclass(frozen=True, slots=True)
class DashboardData:
    dashboard: Dashboard
    forecast: list[ForecastRow]
    tz: Any


class DashboardPane(Pane):
    PANE_ID = "dashboard"
    TITLE = "Dashboard"
    SHORT = "Dash"
    FILTERABLE = False

    def compose(self) -> ComposeResult:
        yield self.title_widget()
        with Horizontal(id="dash-top"):
            yield Static(id="dash-today", classes="card")
            yield Static(id="dash-phases", classes="card")
        yield Static(id="dash-alerts", classes="card")
        yield Static(id="dash-forecast", classes="card")

    #: The forecast replays the dispatcher over a day: worth a minute's staleness.
    FORECAST_SECONDS = 60.0
    FORECAST_LIMIT = 300

    def __init__(self) -> None:
        super().__init__()
        self._forecast: list[ForecastRow] = []
        self._forecast_at = -1e9

    def load(self) -> DashboardData:
        engine = self.engine
        # The first paint does not wait for the forecast: it follows a moment later.
        first = self.show_count == 0
        if not first and time.monotonic() - self._forecast_at > self.FORECAST_SECONDS:
            self._forecast = engine.explainer.forecast(24, limit=self.FORECAST_LIMIT)
            self._forecast_at = time.monotonic()
        return DashboardData(engine.queries.dashboard(), self._forecast, engine.settings.tz)

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
        phases = "\n".join(
            f"{phase:<16}{count:>5}"
            if phase == "HEALTHY" or not count
            else f"[b yellow]{phase:<16}{count:>5}[/]"
            for phase, count in d.phases.items()
        )
        self.query_one("#dash-phases", Static).update(f"[b]Mailboxes[/b]\n{phases}")
        if d.alerts:
            alerts = "\n".join(
                f"{clock_time(e.created_at, data.tz)} [{severity_style(e.severity)}]"
                f"{e.severity[:4].upper()}[/] {e.message}"
                for e in d.alerts[:5]
            )
        else:
            alerts = "[dim]no alerts[/dim]"
        self.query_one("#dash-alerts", Static).update(f"[b]Latest alerts[/b]\n{alerts}")
        rows = data.forecast
        if rows:
            senders = len({r.sender for r in rows})
            lines = [
                f"{clock_time(r.at, data.tz)} {r.sender.split('@')[0][:12]:<12} → {r.recipient}"
                for r in rows[:3]
            ]
            more = f"\n[dim]… {len(rows) - 3} more[/dim]" if len(rows) > 3 else ""
            forecast = "\n".join(lines) + more
            count = f"{len(rows)}+" if len(rows) >= self.FORECAST_LIMIT else str(len(rows))
            head = f"[b]Next 24 h[/b] {count} sends from {senders} mailboxes"
        elif self._forecast_at < 0:
            head, forecast = "[b]Next 24 h[/b]", "[dim]working it out…[/dim]"
        else:
            head, forecast = "[b]Next 24 h[/b]", "[dim]nothing would be sent[/dim]"
        self.query_one("#dash-forecast", Static).update(f"{head}\n{forecast}")
