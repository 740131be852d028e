"""Alerts: what the guard tells the operator, in the console always and on Telegram/Slack.

The contract between the parts that raise alerts (monitor, healer, DNS health, poller) and the
delivery side. An alert says which mailbox, what rate, which campaigns and what the system
already did; the same `key` is not repeated within the configured quiet period.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

import httpx

from outreach_tui.core.states import Severity
from outreach_tui.db.repos.journal import event_with_key_after, write_event
from outreach_tui.engine.context import EngineContext
from outreach_tui.engine.guard.alert_channels import (
    Channel,
    DeliveryResult,
    Sleep,
    configured_channels,
    deliver,
)
from outreach_tui.logsetup import RedactSecrets

log = logging.getLogger(__name__)


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


class ListAlertSink:
    """Keeps alerts in a list (tests, the sandbox)."""

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    async def send(self, alert: Alert) -> bool:
        self.alerts.append(alert)
        return True


async def send_alerts(sink: AlertSink, alerts: list[Alert]) -> None:
    """Each alert to `sink` in turn; one that cannot be delivered is logged, never raised
    (an unreachable chat must not stop the guard; the event is kept)."""
    for alert in alerts:
        try:
            await sink.send(alert)
        except Exception:
            log.exception("alert %s could not be delivered", alert.key)


def render(alert: Alert) -> str:
    """The chat message: the title, then which mailbox, what rate, which campaigns, what the
    system already did, then any further facts."""
    lines = [f"[{alert.severity.value.upper()}] {alert.title}"]
    if alert.mailbox:
        lines.append(f"Mailbox: {alert.mailbox}")
    if alert.rate is not None:
        lines.append(f"Rate: {alert.rate:.1%}")
    if alert.campaigns:
        lines.append(f"Campaigns: {', '.join(alert.campaigns)}")
    if alert.action_taken:
        lines.append(f"Already done: {alert.action_taken}")
    for key, value in alert.data.items():
        if isinstance(value, list | tuple):
            value = ", ".join(str(v) for v in value)
        lines.append(f"{key.replace('_', ' ').capitalize()}: {value}")
    return "\n".join(lines)


def _guard_http_logs() -> None:
    """httpx logs every request URL at INFO, and a Telegram URL holds the bot token: mask
    resolved secrets on those loggers themselves, so no handler (a test's caplog included)
    ever sees them."""
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())


class Alerter:
    """The engine's `AlertSink` (``engine.alerts``): records every alert as an ``alert``
    event (the console's panes show it), suppresses a repeat of the same key within
    ``[alerts] quiet_minutes`` (looked up in the event table, so a restart does not re-send),
    and delivers to Telegram/Slack in the background: a slow or failing channel never
    holds up, or raises into, the monitor that raised the alert.

    From async code: ``await engine.alerts.send(alert)``. From sync code on any thread
    (the monitor's tick runs in a worker thread): ``engine.alerts.submit(alert)``.
    """

    def __init__(
        self,
        ctx: EngineContext,
        *,
        sleep: Sleep = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """`sleep` and `transport`: the channels' backoff waits and HTTP transport (tests
        pass their own)."""
        self.ctx = ctx
        self.sleep = sleep
        self.transport = transport
        self.channels: list[Channel] = configured_channels(ctx.settings.alerts)
        self.results: list[DeliveryResult] = []
        """Delivery outcomes of this process, newest last (for tests and the status line)."""
        self._tasks: set[asyncio.Task[None]] = set()
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()
        if self.channels:
            _guard_http_logs()

    # -- recording --------------------------------------------------------------------

    def record(self, alert: Alert) -> bool:
        """Write the alert event unless the same key was raised within the quiet period.
        True when recorded (so it is to be delivered), False for a repeat."""
        now = self.ctx.clock.now()
        quiet = timedelta(minutes=self.ctx.settings.alerts.quiet_minutes)
        with self.ctx.db.write() as conn:
            if quiet and event_with_key_after(conn, kind="alert", key=alert.key, after=now - quiet):
                log.debug("alert %s suppressed: raised within the quiet period", alert.key)
                return False
            write_event(
                conn,
                kind="alert",
                severity=alert.severity.value,
                subject_type=alert.subject_type,
                subject_id=alert.subject_id,
                message=_one_line(alert),
                data=_event_data(alert),
                at=now,
            )
        log.info("alert (%s) %s", alert.severity.value, alert.title)
        return True

    # -- raising ----------------------------------------------------------------------

    async def send(self, alert: Alert) -> bool:
        """Record and start delivering; returns at once (delivery runs as a task)."""
        try:
            recorded = await asyncio.to_thread(self.record, alert)
        except Exception:  # the caller (monitor, healer) must keep going
            log.exception("could not record alert %s", alert.key)
            return False
        if recorded:
            channels = self._channels_for(alert)
            if channels:
                task = asyncio.create_task(self._deliver(alert, channels))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        return recorded

    def submit(self, alert: Alert) -> bool:
        """`send` for synchronous code on any thread: records now; delivery runs as a task on
        this thread's loop, or else on a short-lived thread of its own."""
        try:
            recorded = self.record(alert)
        except Exception:
            log.exception("could not record alert %s", alert.key)
            return False
        channels = self._channels_for(alert) if recorded else []
        if not channels:
            return recorded
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:
            task = loop.create_task(self._deliver(alert, channels))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            thread = threading.Thread(
                target=lambda: asyncio.run(self._deliver(alert, channels)),
                name="outreach-alert",
                daemon=True,
            )
            with self._lock:
                self._threads.add(thread)
            thread.start()
        return recorded

    def _channels_for(self, alert: Alert) -> list[Channel]:
        return [c for c in self.channels if c.wants(alert.severity.value)]

    async def _deliver(self, alert: Alert, channels: list[Channel]) -> None:
        text = render(alert)
        settings = self.ctx.settings.alerts
        try:
            results = await asyncio.gather(
                *(
                    deliver(c, text, settings, sleep=self.sleep, transport=self.transport)
                    for c in channels
                )
            )
            for result in results:
                self.results.append(result)
                if not result.delivered:
                    await asyncio.to_thread(self._record_failure, alert, result)
        except Exception:  # logged, never raised into whoever raised the alert
            log.exception("alert delivery of %s failed", alert.key)
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _record_failure(self, alert: Alert, result: DeliveryResult) -> None:
        with self.ctx.db.write() as conn:
            write_event(
                conn,
                kind="alert_delivery",
                severity="warning",
                subject_type=alert.subject_type,
                subject_id=alert.subject_id,
                message=(
                    f"{result.channel}: alert not delivered after {result.tries} "
                    f"{'try' if result.tries == 1 else 'tries'} ({result.detail}): {alert.title}"
                ),
                data={"key": alert.key, "channel": result.channel, "tries": result.tries},
                at=self.ctx.clock.now(),
            )

    # -- shutting down ------------------------------------------------------------------

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait (at most `timeout`) for deliveries in flight; cancel what is left."""
        tasks = set(self._tasks)
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        await asyncio.to_thread(self.join_threads, timeout)

    def join_threads(self, timeout: float = 30.0) -> None:
        with self._lock:
            threads = list(self._threads)
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


def _one_line(alert: Alert) -> str:
    parts = [alert.title]
    if alert.rate is not None and f"{alert.rate:.1%}" not in alert.title:
        parts.append(f"rate {alert.rate:.1%}")
    if alert.campaigns:
        parts.append(f"campaigns {', '.join(alert.campaigns)}")
    if alert.action_taken:
        parts.append(alert.action_taken)
    return " — ".join(parts)


def _event_data(alert: Alert) -> dict[str, Any]:
    return {
        "key": alert.key,
        "title": alert.title,
        "mailbox": alert.mailbox,
        "rate": alert.rate,
        "campaigns": list(alert.campaigns),
        "action_taken": alert.action_taken,
        **alert.data,
    }
