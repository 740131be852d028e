"""Campaigns: status, approval mode and progress; p pause, u resume (with a confirm)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding

from outreach_tui.core.states import CampaignStatus
from outreach_tui.engine import CampaignSummary, ConsoleEngine, InProcessRuntime
from outreach_tui.tui.panes.base import Pane
from outreach_tui.tui.widgets.keyed_table import KeyedTable


class CampaignsPane(Pane):
    PANE_ID = "campaigns"
    TITLE = "Campaigns"
    SHORT = "Camp"

    BINDINGS = [
        Binding("p", "pause", "Pause", id="campaigns.pause"),
        Binding("u", "resume", "Resume", id="campaigns.resume"),
    ]

    def __init__(self, engine: ConsoleEngine, runtime: InProcessRuntime) -> None:
        super().__init__(engine, runtime)
        self.rows: dict[str, CampaignSummary] = {}

    def compose(self) -> ComposeResult:
        yield self.title_widget()
        yield KeyedTable(
            ["Name", "Status", "Mode", "Leads", "Active", "Done", "Stop", "Sent"],
            id="campaigns-table",
        )

    def load(self) -> list[CampaignSummary]:
        return self.engine.campaigns.summaries()

    def show(self, data: list[CampaignSummary]) -> None:
        # casefold, not lower: a capital sigma ending the filter lowers to a final sigma,
        # the same letter inside a longer name to a medial one; casefold makes both equal.
        text = self.filter_text.casefold()
        rows = [c for c in data if text in c.name.casefold() or text == c.status]
        self.rows = {str(c.id): c for c in rows}
        self.query_one(KeyedTable).sync(
            [
                (
                    str(c.id),
                    (
                        c.name,
                        c.status,
                        c.approval,
                        str(c.leads),
                        str(c.active),
                        str(c.finished),
                        str(c.stopped),
                        str(c.sent),
                    ),
                )
                for c in rows
            ]
        )

    def _current(self) -> CampaignSummary | None:
        key = self.query_one(KeyedTable).current_key()
        return self.rows.get(key) if key else None

    def action_pause(self) -> None:
        c = self._current()
        if c is not None:
            self.confirm(
                f"Pause campaign {c.name!r}?",
                "Nothing more is planned or sent.",
                lambda: self.engine_action(
                    self.engine.campaigns.set_status,
                    c.name,
                    CampaignStatus.PAUSED,
                    reason="paused from the console",
                    success="paused",
                ),
            )

    def action_resume(self) -> None:
        c = self._current()
        if c is not None:
            self.confirm(
                f"Resume campaign {c.name!r}?",
                "It continues where it stopped.",
                lambda: self.engine_action(
                    self.engine.campaigns.set_status,
                    c.name,
                    CampaignStatus.ACTIVE,
                    success="resumed",
                ),
            )
