"""Running the API with uvicorn: `outreach-tui serve`.

TLS: with `[api] tls_cert` and `tls_key` uvicorn serves HTTPS itself; without them it
serves plain HTTP, for a reverse proxy on the same host that terminates TLS
(`behind_proxy = true` makes it believe the proxy's X-Forwarded-For/-Proto, from
`forwarded_allow_ips` only). With `[api] workers` above 1, uvicorn starts that many processes,
each building its own engine from the same configuration (`worker_app`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from outreach_tui.config import Settings, load_settings

#: How `worker_app` finds the configuration in a uvicorn worker process.
CONFIG_ENV = "OUTREACH_CONFIG"
DATABASE_ENV = "DATABASE_URL"


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    api = settings.api
    options: dict[str, Any] = {
        "host": api.bind,
        "port": api.port,
        "proxy_headers": api.behind_proxy,
        "forwarded_allow_ips": ",".join(api.forwarded_allow_ips) if api.behind_proxy else None,
        "server_header": False,
        "date_header": True,
        "log_config": None,  # the project's logging (outreach_tui/logsetup.py) stays
        "timeout_graceful_shutdown": 10,
        "limit_concurrency": 1000,
    }
    if api.tls_cert is not None and api.tls_key is not None:
        options["ssl_certfile"] = str(api.tls_cert)
        options["ssl_keyfile"] = str(api.tls_key)
    return options


def build_app(settings: Settings) -> FastAPI:
    """An app over a new engine for these settings, which it closes when it stops."""
    from outreach_tui.api.app import create_app
    from outreach_tui.engine import build_engine

    return create_app(build_engine(settings, headless=True, role="api"), owns_engine=True)


def worker_app() -> FastAPI:
    """The factory uvicorn calls in each worker process (`[api] workers` > 1)."""
    config = os.environ.get(CONFIG_ENV)
    settings = load_settings(Path(config) if config else None)
    from outreach_tui.logsetup import configure_logging

    configure_logging(settings.logging.level, settings.logging.file, stderr=True)
    return build_app(settings)


def serve(settings: Settings) -> None:
    """Run until SIGTERM/SIGINT."""
    options = uvicorn_options(settings)
    if settings.api.workers > 1:
        if settings.config_path is not None:
            os.environ[CONFIG_ENV] = str(settings.config_path)
        os.environ[DATABASE_ENV] = settings.database_url
        uvicorn.run(
            "outreach_tui.api.server:worker_app",
            factory=True,
            workers=settings.api.workers,
            **options,
        )
        return
    uvicorn.run(build_app(settings), **options)
