"""Alerts: what the guard tells the operator, in the console always and on Telegram/Slack.

The contract between the parts that raise alerts (monitor, healer, DNS health, poller) and the
delivery side. An alert says which mailbox, what rate, which campaigns and what the system
already did; the same `key` is not repeated within the configured quiet period.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from outreach_tui.core.states import Severity


@dataclass(frozen=True)
class Alert:
    severity: Severity
    key: str
    """Deduplication key, e.g. ``"mailbox_paused:ana@sales.test"``: one alert per quiet period."""
    title: str
    """One line for the console and the first line of a chat message."""
    subject_type: str | None = None
    """mailbox | domain | campaign | lead | system"""
    subject_id: str | None = None
    mailbox: str | None = None
    rate: float | None = None
    """The rate that crossed the line (0.062 = 6.2 %), when one did."""
    campaigns: tuple[str, ...] = ()
    action_taken: str = ""
    """What the system already did, e.g. "paused until 2026-11-25 14:00 UTC"."""
    data: dict[str, Any] = field(default_factory=dict)


class AlertSink(Protocol):
    """Anything that takes alerts. The engine's `Alerter` records an event (the console shows
    it) and fans out to the configured channels; tests may pass a list-backed sink."""

    async def send(self, alert: Alert) -> bool:
        """Deliver (or suppress as a repeat); True when the alert was not a repeat."""
        ...
