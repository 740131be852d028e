"""The engine's jobs on an event loop of their own, in a background thread.

The console keeps its event loop for keys and drawing: sending at full speed (TLS
handshakes, SMTP round trips, the ledger's commits) happens on this thread's loop, so a
key press never waits behind a send. `stop()` lets the send in flight finish, exactly as
SIGTERM does for the headless worker.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from outreach_tui.engine.engine import Engine
from outreach_tui.engine.runtime.scheduler import EngineJobs, build_scheduler

log = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[Any]]
T = TypeVar("T")


class EngineThread:
    def __init__(
        self,
        engine: Engine,
        *,
        on_start: Hook | None = None,
        on_stop: Hook | None = None,
        add_jobs: Callable[[EngineJobs], None] | None = None,
    ) -> None:
        self.engine = engine
        self.jobs = EngineJobs(engine)
        if add_jobs is not None:
            add_jobs(self.jobs)
        self._on_start = on_start
        self._on_stop = on_stop
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self.error: BaseException | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 30.0) -> None:
        self._thread = threading.Thread(target=self._run, name="outreach-engine", daemon=True)
        self._thread.start()
        self._started.wait(timeout)
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to whoever stops or starts us
            log.exception("the engine thread failed")
            self.error = exc
            self._started.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        if self._on_start is not None:
            await self._on_start()
        scheduler = build_scheduler(self.jobs)
        scheduler.start()  # APScheduler 3 needs the running loop: this thread's
        self._started.set()
        try:
            await self._stop.wait()
        finally:
            await self.jobs.stop(scheduler)
            await self.engine.transport.close()
            if self._on_stop is not None:
                await self._on_stop()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run `coro` on the engine's loop (from any thread): the transport's pooled
        connections belong to that loop, so an operator's one-off send (a reply from the
        inbox) goes through it like the dispatcher's."""
        if self._loop is None or not self.running:
            coro.close()
            raise RuntimeError("the engine thread is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def stop(self, timeout: float = 60.0) -> None:
        """Finish the send in flight, stop the jobs, wait for the thread."""
        if self._loop is not None and self._stop is not None and self.running:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None
