"""GET /health."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from outreach_tui.api.models.base import Out


class ProcessBeat(Out):
    """A process running the engine's jobs (a worker, a console, this API)."""

    kind: str
    """worker, console or api."""
    host: str
    pid: int
    heartbeat_age_seconds: float
    """Seconds since it last said it was alive (every 30 s while it runs)."""


class OutboxHealth(Out):
    """The outbound webhooks' backlog."""

    pending: int
    abandoned: int
    oldest_pending_age_seconds: float | None


class Health(Out):
    """Whether the service can do its work."""

    status: Literal["ok", "degraded", "down"]
    """ok; degraded: no worker or console has run the engine's jobs in the last 2 minutes
    (nothing is being sent); down: the database does not answer (HTTP 503)."""
    service: str
    version: str
    database: Literal["reachable", "unreachable"]
    backend: Literal["sqlite", "postgresql"]
    now: datetime
    scheduler_heartbeat_age_seconds: float | None
    """Age of the youngest heartbeat of a worker or console running the jobs (None: none
    has run on this database)."""
    processes: list[ProcessBeat]
    one_click_unsubscribe: Literal["on", "off"]
    one_click_detail: str
    """Why it is on or off ([sending] unsubscribe_url)."""
    webhooks: OutboxHealth | None
    """None when no outbound webhook is configured."""
