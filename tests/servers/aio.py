"""Run client coroutines from sync tests without leaking sockets.

Why: ``asyncio.run`` returns as soon as the coroutine does. A client that "closed" a TLS
connection has only *started* the TLS shutdown (close_notify) at that point, and a client that
gave up on a stalled server may not have closed at all; the loop is then closed under the
socket, which is later garbage-collected with a ``ResourceWarning``. Under this project's
``filterwarnings = error`` that fails whichever unrelated test happens to trigger the garbage
collection, i.e. flaky failures far from their cause. :func:`run_async` gives in-flight
shutdowns a moment to finish and aborts whatever is still open before closing the loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_CLOSE_GRACE = 1.0
"""Seconds to wait for connections to close by themselves before aborting them."""


class _TrackingEventLoop(asyncio.SelectorEventLoop):
    """Selector loop that remembers every connection made with ``create_connection``.

    ``asyncio.open_connection`` and aiosmtplib both go through ``create_connection``; the socket
    is remembered too, because after a STARTTLS upgrade the returned transport is no longer the
    one that owns it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.tracked: list[tuple[asyncio.BaseTransport, Any]] = []

    async def create_connection(  # type: ignore[override]
        self, *args: Any, **kwargs: Any
    ) -> tuple[asyncio.Transport, asyncio.BaseProtocol]:
        transport, protocol = await super().create_connection(*args, **kwargs)
        self.tracked.append((transport, transport.get_extra_info("socket")))
        return transport, protocol

    def open_connections(self) -> list[asyncio.BaseTransport]:
        return [t for t, sock in self.tracked if sock is not None and sock.fileno() != -1]

    async def settle(self, grace: float) -> None:
        """Wait up to ``grace`` for tracked sockets to close; abort the rest."""
        deadline = time.monotonic() + grace
        while self.open_connections() and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        for transport in self.open_connections():
            if isinstance(transport, asyncio.WriteTransport):
                transport.abort()
            else:
                transport.close()
        # Let the transports' connection_lost callbacks (which close the sockets) run.
        for _ in range(5):
            if not self.open_connections():
                break
            await asyncio.sleep(0)


def run_async(
    coro_fn: Callable[[], Awaitable[T]], *, close_grace: float = DEFAULT_CLOSE_GRACE
) -> T:
    """Run ``coro_fn()`` in a fresh event loop, then make sure its connections are closed.

    Takes a zero-argument callable (e.g. a ``lambda``) rather than a coroutine so that the
    coroutine is created inside the new loop. A connection the test left open costs up to
    ``close_grace`` seconds before it is aborted.
    """

    async def main() -> T:
        return await coro_fn()

    with asyncio.Runner(loop_factory=_TrackingEventLoop) as runner:
        loop = runner.get_loop()
        assert isinstance(loop, _TrackingEventLoop)
        try:
            return runner.run(main())
        finally:
            runner.run(loop.settle(close_grace))
