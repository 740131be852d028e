"""Sending domains: SPF, DKIM, DMARC and blocklist status, paused or not; p pause, u resume."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding

from outreach_tui.engine import ConsoleEngine, DomainRow, InProcessRuntime
from outreach_tui.tui.panes.base import Pane
from outreach_tui.tui.widgets.format import day_time
from outreach_tui.tui.widgets.keyed_table import KeyedTable


def _check(ok: bool | None, *, good: bool = True) -> Text:
    if ok is None:
        return Text("?", style="dim")
    return Text("ok", style="green") if ok == good else Text("FAIL", style="b red")


class DomainsPane(Pane):
    PANE_ID = "domains"
    TITLE = "Sending domains"
    SHORT = "Dom"

    BINDINGS = [
        Binding("p", "pause", "Pause", id="domains.pause"),
        Binding("u", "resume", "Resume", id="domains.resume"),
    ]

    def __init__(self, engine: ConsoleEngine, runtime: InProcessRuntime) -> None:
        super().__init__(engine, runtime)
        self.rows: dict[str, DomainRow] = {}

    def compose(self) -> ComposeResult:
        yield self.title_widget()
        yield KeyedTable(
            ["Domain", "State", "SPF", "DKIM", "DMARC", "DNSBL", "Boxes", "Checked"],
            id="domains-table",
        )

    def load(self) -> list[DomainRow]:
        return self.engine.queries.domains()

    def show(self, data: list[DomainRow]) -> None:
        tz = self.engine.settings.tz
        rows = [d for d in data if self.filter_text.lower() in d.name]
        self.rows = {str(d.id): d for d in rows}
        self.query_one(KeyedTable).sync(
            [
                (
                    str(d.id),
                    (
                        d.name,
                        Text("PAUSED", style="b red") if d.paused else Text("active"),
                        _check(d.spf_ok),
                        _check(d.dkim_ok),
                        _check(d.dmarc_ok),
                        _check(d.blocklisted, good=False),
                        str(d.mailboxes),
                        day_time(d.checked_at, tz),
                    ),
                )
                for d in rows
            ]
        )

    def _current(self) -> DomainRow | None:
        key = self.query_one(KeyedTable).current_key()
        return self.rows.get(key) if key else None

    def action_pause(self) -> None:
        d = self._current()
        if d is not None:
            self.confirm(
                f"Pause sending domain {d.name}?",
                f"All {d.mailboxes} of its mailboxes stop sending.",
                lambda: self.engine_action(
                    self.engine.actions.set_domain_paused, d.id, True, success="paused"
                ),
            )

    def action_resume(self) -> None:
        d = self._current()
        if d is not None:
            self.confirm(
                f"Resume sending domain {d.name}?",
                "Its mailboxes may send again.",
                lambda: self.engine_action(
                    self.engine.actions.set_domain_paused, d.id, False, success="resumed"
                ),
            )
