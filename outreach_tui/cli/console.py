"""The console (`outreach-tui` with no subcommand) and `outreach-tui demo`."""

from __future__ import annotations

import click

from outreach_tui.cli.context import CliContext, friendly_errors, pass_ctx


def run_console(state: CliContext, *, run_scheduler: bool) -> None:
    from outreach_tui.tui.app import OutreachApp

    engine = state.engine()
    OutreachApp(engine, run_scheduler=run_scheduler).run()


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
    configure_logging("INFO", sandbox.directory / "sandbox.log")
    state.closers.append(sandbox.engine.close_sync)
    OutreachApp(sandbox.engine, sandbox=sandbox).run()
    click.echo(f"sandbox left in {sandbox.directory} (database and log)")
