"""The console (`outreach-tui` with no subcommand) and `outreach-tui demo`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from outreach_tui.cli.context import EXIT_INTERNAL, CliContext, friendly_errors, pass_ctx
from outreach_tui.cli.output import echo

if TYPE_CHECKING:
    from outreach_tui.tui.app import OutreachApp


def exit_if_crashed(app: OutreachApp, log_path: Path | None) -> None:
    """A console that ended on an unexpected error exits 70 with one line; the traceback is
    in the log (tui/app.py). Textual alone would end it with status 0."""
    if app.crashed is None and not app.return_code:
        return
    where = f"; details in {log_path}" if log_path else ""
    echo(f"error: the console stopped on an unexpected error{where}", err=True)
    sys.exit(EXIT_INTERNAL)


def run_console(state: CliContext, *, run_scheduler: bool) -> None:
    from outreach_tui.tui.app import OutreachApp

    engine = state.engine()
    app = OutreachApp(engine, run_scheduler=run_scheduler)
    app.run()
    exit_if_crashed(app, state.log_path)


@click.command("demo")
@click.option("--leads", default=240, show_default=True, help="Leads in the sandbox.")
@pass_ctx
@friendly_errors
def demo_command(state: CliContext, leads: int) -> None:
    """The console on a sandbox: a temporary database, an in-process SMTP server that plays
    the recipients (bounces, replies, unsubscribes). Needs no credentials; sends nothing
    off this machine."""
    from outreach_tui.demo.world import build_sandbox
    from outreach_tui.logsetup import configure_logging
    from outreach_tui.tui.app import OutreachApp

    sandbox = build_sandbox(leads=leads)
    log_path = configure_logging("INFO", sandbox.directory / "sandbox.log")
    state.closers.append(sandbox.engine.close_sync)
    app = OutreachApp(sandbox.engine, sandbox=sandbox)
    app.run()
    echo(f"sandbox left in {sandbox.directory} (database and log)")
    exit_if_crashed(app, log_path)
