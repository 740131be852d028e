"""The HTTP face (`outreach-tui serve`): an API for automation, one-click unsubscribe, and the
providers' event webhooks. Like the console it calls the engine's public names only
(`outreach_tui.engine`, an import contract in pyproject.toml holds it to that) and builds no
SQL. FastAPI's "bigger applications" layout:

    app.py          create_app: the routers, the limits, the error handlers, the lifespan
    state.py        what a running app holds (the engine, tokens, verifiers, jobs)
    auth.py         bearer tokens with scopes, rate limits per token (dependencies)
    limits.py       the body size limit (413 before a byte too many is read)
    errors.py       error responses: the field named, never a traceback or a secret
    models/         the pydantic models: the contract, documented in /openapi.json
    routers/        one module per resource
    webhooks/       provider signatures (SNS, SendGrid, Mailgun)
    validate_jobs.py  long /validate lists as jobs
    server.py       uvicorn: TLS or behind a proxy, one or more workers

docs/ARCHITECTURE.md shows where it sits; README "The HTTP API" lists the endpoints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from outreach_tui.api.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from outreach_tui.api.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
