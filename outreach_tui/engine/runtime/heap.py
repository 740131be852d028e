"""Hand the C heap's free memory back to the system now and then (glibc; a no-op elsewhere).

A worker or console runs for days, and its database work runs on a pool of threads
(`asyncio.to_thread`, the group commit's thread, the console's readers) where SQLite's page
caches and sorters, the drivers' rows and the message bytes are allocated. glibc gives each
of those threads a heap of its own ("arena") and keeps whatever is freed in it for reuse:
the resident size then creeps up with every peak any thread ever had and with the
fragmentation between them, although the Python heap, SQLite's own memory and the
statement caches stay flat. The soak measured it (`python -m bench.soak`, "where RSS goes"):
over 190 simulated days RSS grew ~9 MB, of which ~7.5 MB was memory glibc held free.

`malloc_trim(0)` returns the free pages of every arena (not only the top of the main one)
at the cost of a walk over the free lists, a few milliseconds; once a minute is plenty.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys
import time
from collections.abc import Callable
from functools import cache

log = logging.getLogger(__name__)

TRIM_EVERY_SECONDS = 60.0


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, or None (musl, macOS, Windows, or not found)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def trim_heap() -> bool:
    """Give the heap's free pages back now; True when the C library could do it."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


class HeapTrimmer:
    """`trim_heap` at most once per `every_seconds` of wall time, however often asked."""

    def __init__(
        self,
        every_seconds: float = TRIM_EVERY_SECONDS,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        trim: Callable[[], bool] = trim_heap,
    ) -> None:
        self.every_seconds = every_seconds
        self._monotonic = monotonic
        self._trim = trim
        self._next = monotonic() + every_seconds
        self.trims = 0

    def due(self) -> bool:
        return self._monotonic() >= self._next

    def maybe_trim(self) -> bool:
        """Trim if the interval has passed; True when it trimmed."""
        if not self.due():
            return False
        self._next = self._monotonic() + self.every_seconds
        if not self._trim():
            return False
        self.trims += 1
        return True
