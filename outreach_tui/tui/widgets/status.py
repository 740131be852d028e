"""The status line: engine state, dispatch leases, monitor mode, the clock, and in red any
mailbox whose TLS verification is off. `SANDBOX` in reverse video in the demo."""

from __future__ import annotations

from dataclasses import dataclass

from textual.widgets import Static


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
        mode = status.monitor_mode.upper()
        style = _MODE_STYLE.get(status.monitor_mode)
        parts.append(f"monitor [{style}]{mode}[/]" if style else f"monitor {mode}")
        if status.waiting_approval:
            parts.append(f"[b]{status.waiting_approval} to approve[/b]")
        parts.append(status.clock)
        if status.insecure:
            # First after SANDBOX: at 80 columns the end of the line is cut off.
            names = status.insecure[0] + (
                f" +{len(status.insecure) - 1}" if len(status.insecure) > 1 else ""
            )
            parts.insert(1 if status.sandbox else 0, f"[b red]TLS NOT VERIFIED: {names}[/]")
        self.update("  ".join(parts))
