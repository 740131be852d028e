"""The API's test world: an engine on a SQLite file (or the loopback PostgreSQL), a real SMTP
sink, and the app served by a real uvicorn on loopback. Tokens are secret references to
environment variables, as an operator would configure them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from outreach_tui.api import create_app
from outreach_tui.engine import Engine, SendRequest
from outreach_tui.engine.clock import SimulatedClock
from tests.api.server import UvicornThread
from tests.functional.helpers import PASSWORD, PASSWORD_ENV, SENDER, START, make_engine

#: name → (environment variable, value, scopes)
TOKENS: dict[str, tuple[str, str, list[str]]] = {
    "admin": ("API_TOKEN_ADMIN", "tok-admin-Zq8#unique-1", ["*"]),
    "reader": ("API_TOKEN_READER", "tok-reader-Zq8#unique-2", ["read"]),
    "n8n": ("API_TOKEN_N8N", "tok-n8n-Zq8#unique-3", ["validate", "leads", "telegram", "read"]),
}
TELEGRAM_TOKEN = "123456:tg-secret-Zq8-unique-4"
UNSUBSCRIBE_KEY = "unsubscribe-key-Zq8#unique-5-long-enough"


def api_settings(**extra: Any) -> dict[str, Any]:
    """[api] with the tokens above, plus `extra` merged into it."""
    api: dict[str, Any] = {
        "tokens": [
            {"name": name, "token": f"env:{env}", "scopes": scopes}
            for name, (env, _, scopes) in TOKENS.items()
        ],
        "rate_limit_per_minute": 100_000,
        "rate_limit_burst": 100_000,
    }
    api.update(extra)
    return api


@dataclass
class ApiWorld:
    engine: Engine
    server: UvicornThread
    smtp: Any
    clock: SimulatedClock

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, token: str | None = "admin", **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {TOKENS[token][1]}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kwargs)

    def send(self, recipient: str, subject: str = "Quick question", body: str = "Hello.\n"):
        async def run() -> Any:
            try:
                return await self.engine.send(SendRequest(SENDER, recipient, subject, body))
            finally:
                await self.engine.transport.close()

        return asyncio.run(run())


@pytest.fixture
def tokens_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for env, value, _ in TOKENS.values():
        monkeypatch.setenv(env, value)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    monkeypatch.setenv("TELEGRAM_TOKEN", TELEGRAM_TOKEN)
    monkeypatch.setenv("TELEGRAM_CHAT", "4242")
    monkeypatch.setenv("UNSUBSCRIBE_KEY", UNSUBSCRIBE_KEY)


@pytest.fixture
def api_world(
    tmp_path: Path, smtp_server: Any, pki: Any, tokens_in_env: None
) -> Iterator[Callable[..., ApiWorld]]:
    """`start(**settings)`: an engine with these settings overrides (`api` merged into the
    test tokens), served by uvicorn on loopback (`certfile`: HTTPS)."""
    started: list[ApiWorld] = []

    def start(*, certfile: Path | None = None, port: int = 0, **extra: Any) -> ApiWorld:
        smtp = smtp_server(security="starttls", users={SENDER: PASSWORD})
        clock = SimulatedClock(START)
        extra["api"] = api_settings(**extra.pop("api", {}))
        extra.setdefault("verify", {"required": False})
        engine = make_engine(tmp_path, smtp, pki, clock, **extra)
        server = UvicornThread(create_app(engine), port=port, certfile=certfile).start()
        world = ApiWorld(engine, server, smtp, clock)
        started.append(world)
        return world

    yield start
    for world in started:
        world.server.stop()
        asyncio.run(world.engine.aclose())


@pytest.fixture
def api(api_world: Callable[..., ApiWorld]) -> ApiWorld:
    """The API with default settings."""
    return api_world()
