"""The status line: engine state, dispatch leases, monitor mode, whether one-click
unsubscribe is off, the clock, and in red any mailbox whose TLS verification is off.
`SANDBOX` in reverse video in the demo."""

from __future__ import annotations

from dataclasses import dataclass

from textual.widgets import Static

from outreach_tui.core.screen_text import printable
from outreach_tui.tui.widgets.format import markup


@dataclass(frozen=True, slots=True)
class EngineStatus:
    sandbox: bool
    scheduler: str  # running | stopped | watch-only
    leases_held: int
    mailboxes: int
    monitor_mode: str
    clock: str
    insecure: tuple[str, ...]
    waiting_approval: int
    one_click_off: bool = False
    """No `[sending] unsubscribe_url`: messages carry only a mailto List-Unsubscribe."""


#: ENFORCE is the guard doing its job; the others leave pauses to the operator: marked.
_MODE_STYLE = {"suggest": "b yellow", "observe": "b yellow reverse"}


class StatusLine(Static):
    monitor_mode: str = ""
    """The mode shown last (the mode switch highlights it)."""

    def show(self, status: EngineStatus) -> None:
        self.monitor_mode = status.monitor_mode
        parts = []
        if status.sandbox:
            parts.append("[reverse b] SANDBOX [/]")
        state = {"running": "[green]● running[/]", "watch-only": "[yellow]● watch only[/]"}.get(
            status.scheduler, "[dim]● stopped[/]"
        )
        parts.append(state)
        parts.append(f"leases {status.leases_held}/{status.mailboxes}")
        style = _MODE_STYLE.get(status.monitor_mode)
        parts.append(f"monitor [{style}]$mode[/]" if style else "monitor $mode")
        if status.waiting_approval:
            parts.append(f"[b]{status.waiting_approval} to approve[/b]")
        if status.one_click_off:
            parts.append("[yellow]one-click unsubscribe off[/]")
        parts.append("$clock")
        if status.insecure:
            # First after SANDBOX: at 80 columns the end of the line is cut off.
            more = f" +{len(status.insecure) - 1}" if len(status.insecure) > 1 else ""
            parts.insert(1 if status.sandbox else 0, f"[b red]TLS NOT VERIFIED: $insecure{more}[/]")
        # The mailbox (a configured address) and the clock's zone are filled in as plain text.
        insecure = printable(status.insecure[0]) if status.insecure else ""
        self.update(
            markup(
                "  ".join(parts),
                clock=printable(status.clock),
                insecure=insecure,
                mode=printable(status.monitor_mode.upper()),
            )
        )
