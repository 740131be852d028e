"""`create_app`: the FastAPI application over one engine.

The limits and handlers are installed first (the body limit wraps everything), then one
router per resource. While the app runs, a background task says every 30 s that this
process is alive (/health reports the age) and, with `[api] deliver_webhooks` and receivers
configured, runs the webhook outbox's passes (one process at a time delivers: a lease).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from outreach_tui import __version__
from outreach_tui.api import errors
from outreach_tui.api.limits import BodyLimit
from outreach_tui.api.routers import (
    actions,
    checks,
    health,
    lists,
    providers,
    reads,
    telegram,
    unsubscribe,
)
from outreach_tui.api.state import ApiState
from outreach_tui.engine import Engine

log = logging.getLogger("outreach_tui.api")

HEARTBEAT_SECONDS = 30.0

_DESCRIPTION = """The HTTP side of outreach-tui: automation (validate, the policy check, leads,
the suppression list, Telegram), read endpoints and the console's actions behind scoped bearer
tokens (`[[api.tokens]]`), one-click unsubscribe (RFC 8058) and the providers' signed event
webhooks. Every action is audited under the token's name."""

_TAGS = [
    {"name": "health", "description": "Is the service able to work? No token."},
    {"name": "checks", "description": "The send policy and address verification (validate)."},
    {"name": "suppression", "description": "Addresses and domains never written to."},
    {"name": "leads", "description": "Leads in, through the one ingestion function (leads)."},
    {"name": "reads", "description": "What the console shows (read)."},
    {"name": "actions", "description": "What the console does, audited (write)."},
    {"name": "telegram", "description": "A message to the operator (telegram)."},
    {"name": "unsubscribe", "description": "RFC 8058 one-click unsubscribe. No token."},
    {"name": "provider webhooks", "description": "SES (SNS), SendGrid, Mailgun. Signed."},
]


async def _background(state: ApiState) -> None:
    """Heartbeat and outbox passes until cancelled; a failing pass is logged, not fatal."""
    automation = state.engine.automation
    settings = state.settings
    deliver = settings.api.deliver_webhooks and automation.outbox.enabled
    interval = settings.webhooks.interval_seconds if deliver else HEARTBEAT_SECONDS
    beat_due = 0.0
    loop = asyncio.get_running_loop()
    while True:
        try:
            if loop.time() >= beat_due:
                await asyncio.to_thread(automation.heartbeat)
                beat_due = loop.time() + HEARTBEAT_SECONDS
            if deliver:
                await automation.run_outbox()
        except Exception:
            log.exception("API background pass failed")
        await asyncio.sleep(min(interval, HEARTBEAT_SECONDS))


def create_app(engine: Engine, *, background: bool = True, owns_engine: bool = False) -> FastAPI:
    """The API over `engine` (built with `build_engine`). `background`: run the heartbeat
    and the outbox passes while the app runs; `owns_engine`: close the engine when the app
    stops (otherwise its builder does)."""
    settings = engine.settings
    state = ApiState.for_engine(engine)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_background(state)) if background else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await state.jobs.aclose()
            if background:
                await asyncio.to_thread(engine.automation.leave)
            if owns_engine:
                await engine.aclose()

    app = FastAPI(
        title="outreach-tui",
        version=__version__,
        description=_DESCRIPTION,
        openapi_tags=_TAGS,
        docs_url="/docs" if settings.api.docs else None,
        redoc_url=None,
        lifespan=lifespan,
        # No OpenTelemetry spans or metrics of FastAPI's own: the project logs what matters,
        # and the spans cost a share of every request (bench/api.py).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.api = state
    errors.install(app)
    app.add_middleware(BodyLimit, max_bytes=settings.api.max_body_bytes)
    for module in (health, checks, lists, reads, actions, telegram, unsubscribe, providers):
        app.include_router(module.router)
    return app
