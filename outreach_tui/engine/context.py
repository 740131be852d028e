"""`EngineContext`: what every service of the engine is given, instead of the same five
arguments each time. Built once, by `engine/wiring.py`."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from outreach_tui.config import Settings
from outreach_tui.db.database import Database
from outreach_tui.engine.clock import Clock


@dataclass(frozen=True, slots=True)
class EngineContext:
    db: Database
    settings: Settings
    clock: Clock
    operator_id: str
    """Who acts: the OS login of the console's session, or the worker's configured operator."""
    holder: str
    """This process's identity in leases (host, pid, a random part)."""

    @property
    def tz(self) -> ZoneInfo:
        """The operator's timezone: where "today" begins and ends."""
        return self.settings.tz
