"""The API's small parts on their own: the token bucket per token, the memory of signatures
seen (replays), and the body limit as an ASGI layer."""

from __future__ import annotations

import asyncio

import pytest

from outreach_tui.api.auth import RateLimiter
from outreach_tui.api.limits import BodyLimit
from outreach_tui.api.webhooks.replay import ReplayGuard


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_token_bucket_allows_a_burst_then_the_rate_and_says_how_long_to_wait():
    clock = Clock()
    limiter = RateLimiter(per_minute=60, burst=3, clock=clock)
    assert [limiter.take("a") for _ in range(3)] == [None, None, None]
    wait = limiter.take("a")
    assert wait == pytest.approx(1.0)
    assert limiter.take("b") is None  # buckets are per token
    clock.now += 1.0
    assert limiter.take("a") is None
    assert limiter.take("a") == pytest.approx(1.0)


def test_a_signature_is_accepted_once_within_the_window():
    guard = ReplayGuard(window_seconds=10)
    assert guard.first_time("sig", now=0)
    assert not guard.first_time("sig", now=5)
    assert guard.first_time("sig", now=20)  # forgotten after the window (stale by then)
    small = ReplayGuard(window_seconds=100, max_entries=2)
    for key in ("a", "b", "c"):
        assert small.first_time(key, now=1)
    assert small.first_time("a", now=2)  # the oldest was dropped to stay bounded


async def _call(app, headers, chunks):
    sent = []
    queue = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
             for i, c in enumerate(chunks)]  # fmt: skip

    async def receive():
        return queue.pop(0)

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    await app(scope, receive, send)
    return sent


async def _echo(scope, receive, send):
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def test_the_body_limit_refuses_a_declared_or_streamed_body_over_it():
    app = BodyLimit(_echo, max_bytes=10)
    declared = asyncio.run(_call(app, [(b"content-length", b"11")], [b"x" * 11]))
    assert declared[0]["status"] == 413
    streamed = asyncio.run(_call(app, [], [b"x" * 6, b"x" * 6]))
    assert streamed[0]["status"] == 413
    fine = asyncio.run(_call(app, [(b"content-length", b"10")], [b"x" * 10]))
    assert fine[0]["status"] == 200 and fine[1]["body"] == b"x" * 10
    bad = asyncio.run(_call(app, [(b"content-length", b"ten")], [b""]))
    assert bad[0]["status"] == 400
