"""`outreach-tui serve`: the HTTP API (outreach_tui/api/), beside or without consoles and
workers, on the same database."""

from __future__ import annotations

import click

from outreach_tui.cli.context import CliContext, friendly_errors, pass_ctx
from outreach_tui.cli.output import echo
from outreach_tui.core.unsubscribe_token import one_click_status


@click.command("serve")
@click.option("--bind", default=None, help="Address to listen on (default: [api] bind).")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Default: [api] port.")
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="uvicorn processes.")
@pass_ctx
@friendly_errors
def serve_command(
    state: CliContext, bind: str | None, port: int | None, workers: int | None
) -> None:
    """Serve the HTTP API until SIGTERM: automation endpoints, one-click unsubscribe and the
    providers' event webhooks (README "The HTTP API")."""
    from outreach_tui.api.server import serve

    state.headless = True
    settings = state.settings
    api = settings.api.model_copy(
        update={
            k: v
            for k, v in {"bind": bind, "port": port, "workers": workers}.items()
            if v is not None
        }
    )
    settings = settings.model_copy(update={"api": api})
    if not settings.api.tokens:
        echo("warning: no [[api.tokens]]: only /health, one-click unsubscribe and the "
                   "provider webhooks will answer", err=True)  # fmt: skip
    on, why = one_click_status(settings.sending.unsubscribe_url)
    if not on:
        echo(f"warning: {why}", err=True)
    scheme = "https" if settings.api.tls_cert else "http"
    echo(f"serving on {scheme}://{settings.api.bind}:{settings.api.port} "
               f"({settings.api.workers} worker(s))", err=True)  # fmt: skip
    serve(settings)
