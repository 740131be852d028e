"""`outreach-tui worker [--once | --until-idle]` and `outreach-tui forecast`."""

from __future__ import annotations

import asyncio
import sys

import click

from outreach_tui.cli.context import CliContext, friendly_errors, pass_ctx
from outreach_tui.cli.output import echo
from outreach_tui.config import Settings
from outreach_tui.core.csvsafe import neutralise_cell
from outreach_tui.core.errors import ConfigError
from outreach_tui.core.unsubscribe_token import one_click_status
from outreach_tui.engine import WorkerMode as Mode
from outreach_tui.engine import run_worker
from outreach_tui.secrets import resolve_secret


def unresolvable_secrets(settings: Settings) -> list[str]:
    """One sentence per configured SMTP password reference that does not resolve now."""
    problems = []
    for box in settings.all_mailboxes():
        try:
            resolve_secret(box.smtp_password, key=f"mailboxes[{box.email}].smtp_password")
        except ConfigError as exc:
            problems.append(str(exc))
    return problems


@click.command("worker")
@click.option("--once", "mode", flag_value="once", help="Run every job one time, then exit.")
@click.option(
    "--until-idle",
    "mode",
    flag_value="until_idle",
    help="Plan and send until nothing is due now, then exit.",
)
@pass_ctx
@friendly_errors
def worker_command(state: CliContext, mode: str | None) -> None:
    """The engine without a console: plans, sends and watches on its schedule.

    SIGTERM lets the send in flight finish, then exits 0."""
    state.headless = True
    engine = state.engine(headless=True)
    for problem in unresolvable_secrets(state.settings):
        # Said at start, naming the key: otherwise the operator only sees sends fail later.
        echo(f"warning: {problem}; this mailbox cannot send", err=True)
    on, why = one_click_status(state.settings.sending.unsubscribe_url)
    if not on:
        # Gmail and Yahoo want RFC 8058 one-click from bulk senders: said at start.
        echo(f"warning: {why} (messages carry a mailto List-Unsubscribe only)", err=True)
    chosen: Mode = "forever" if mode is None else mode  # type: ignore[assignment]
    code = asyncio.run(run_worker(engine, chosen))
    sys.exit(code)


@click.command("forecast")
@click.option("--hours", default=24.0, show_default=True, help="How far ahead to look.")
@click.option("--limit", default=200, show_default=True, help="Rows to print at most.")
@pass_ctx
@friendly_errors
def forecast_command(state: CliContext, hours: float, limit: int) -> None:
    """What would be sent, by whom and when, if nothing changed. Sends nothing."""
    rows = state.engine().explainer.forecast(hours)
    tz = state.settings.tz
    echo(f"{len(rows)} sends in the next {hours:g} h (times in {tz.key})")
    for row in rows[:limit]:
        step = f"step {row.step}" if row.step else "one-off"
        mark = "" if not row.planned else " (to be queued)"
        echo(
            f"{row.at.astimezone(tz):%a %d %b %H:%M}  {row.sender:<28} → "
            f"{neutralise_cell(row.recipient):<32} {row.campaign or '-'} {step}{mark}",
            multiline=False,
        )
    if len(rows) > limit:
        echo(f"... and {len(rows) - limit} more")
