"""The engine running inside the console's process: its jobs on a thread of their own, or
none at all (watch-only), and the one way the console awaits engine work that does network
I/O (a reply sent from the Inbox).

The console keeps its event loop for keys and drawing; the engine's loop (its scheduler,
its transport's pooled SMTP connections, its shutdown) belongs here, so the console never
touches the transport or the dispatcher's leases itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from outreach_tui.engine.runtime.runner import EngineThread
from outreach_tui.engine.runtime.scheduler import EngineJobs

if TYPE_CHECKING:
    from outreach_tui.engine.engine import Engine

T = TypeVar("T")
RuntimeState = Literal["running", "watch-only", "stopped"]


class RuntimeHooks(Protocol):
    """What rides along with the engine's loop (the demo's sandbox: its SMTP server and the
    jobs that play the recipients)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def add_jobs(self, jobs: EngineJobs) -> None: ...


@dataclass(frozen=True, slots=True)
class RuntimeStatus:
    state: RuntimeState
    leases_held: int
    """Mailboxes this process holds the dispatch lease of."""


class InProcessRuntime:
    def __init__(
        self, engine: Engine, *, scheduler: bool, hooks: RuntimeHooks | None = None
    ) -> None:
        """`scheduler`: run the engine's jobs (plan, dispatch, poll, ...) on their own thread;
        without it the console only watches. `hooks` start and stop with the jobs (or, when
        the jobs do not run, with the console)."""
        self._engine = engine
        self._scheduler = scheduler
        self._hooks = hooks
        self._thread: EngineThread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.running

    def start(self) -> None:
        """Start the engine's thread (blocks until its loop runs; call it off the UI loop)."""
        if not self._scheduler:
            return
        hooks = self._hooks
        self._thread = EngineThread(
            self._engine,
            on_start=hooks.start if hooks is not None else None,
            on_stop=hooks.stop if hooks is not None else None,
            add_jobs=hooks.add_jobs if hooks is not None else None,
        )
        self._thread.start()

    async def stop(self) -> None:
        """Let the send in flight finish, stop the jobs and the hooks, give up the leases."""
        thread, self._thread = self._thread, None
        if thread is not None:
            await asyncio.to_thread(thread.stop)
        elif self._hooks is not None:
            await self._hooks.stop()
        await asyncio.to_thread(self._engine.dispatcher.release_leases)

    def status(self) -> RuntimeStatus:
        """(In a thread: it reads nothing from the database.)"""
        if self.running:
            state: RuntimeState = "running"
        else:
            state = "stopped" if self._scheduler else "watch-only"
        return RuntimeStatus(state, len(self._engine.dispatcher.held_leases))

    async def run(self, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Await an engine coroutine that does network I/O without blocking the caller's
        loop: on the engine thread's loop (where the transport's connections live) when it
        runs, else on a loop of its own in a worker thread, whose connections close with it."""
        thread = self._thread
        if thread is not None and thread.running:
            return await asyncio.wrap_future(thread.submit(make()))
        transport = self._engine.transport

        async def once() -> T:
            try:
                return await make()
            finally:
                # No loop outlives this call to own a pooled connection: close it here.
                await transport.close()

        return await asyncio.to_thread(asyncio.run, once())
