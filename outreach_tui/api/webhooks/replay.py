"""A memory of signatures seen recently: a signed request sent a second time (a replay by
whoever captured it) is refused while its timestamp is still fresh; after that the
freshness check refuses it. Per process: behind several uvicorn workers a replay may reach
another worker once, and the engine's own de-duplication of provider events (by event id)
keeps it from counting twice."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict


class ReplayGuard:
    def __init__(self, window_seconds: float, *, max_entries: int = 100_000) -> None:
        self.window = window_seconds
        self.max_entries = max_entries
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, key: str, *, now: float | None = None) -> bool:
        """True the first time `key` is offered within the window, False on a repeat."""
        at = time.monotonic() if now is None else now
        with self._lock:
            while self._seen:
                oldest, when = next(iter(self._seen.items()))
                if at - when <= self.window and len(self._seen) < self.max_entries:
                    break
                del self._seen[oldest]
            if key in self._seen:
                return False
            self._seen[key] = at
            return True
