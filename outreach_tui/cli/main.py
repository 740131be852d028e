"""Entry point and global options."""

from __future__ import annotations

from pathlib import Path

import click

from outreach_tui import __version__
from outreach_tui.cli.campaign import campaign_group
from outreach_tui.cli.console import demo_command, run_console
from outreach_tui.cli.context import CliContext, friendly_errors
from outreach_tui.cli.export import export_group
from outreach_tui.cli.leads import leads_group
from outreach_tui.cli.mailboxes import mailboxes_group
from outreach_tui.cli.policy import policy_group
from outreach_tui.cli.send import send_command
from outreach_tui.cli.suppression import suppression_group
from outreach_tui.cli.worker import forecast_command, worker_command


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="config.toml to use (default: $OUTREACH_CONFIG, then the user config dir).",
)
@click.option("--db", "db_url", default=None, help="Database URL (overrides DATABASE_URL).")
@click.option(
    "--no-scheduler",
    is_flag=True,
    help="Open the console to watch: nothing is planned or sent from this session.",
)
@click.version_option(__version__, prog_name="outreach-tui")
@click.pass_context
def cli(
    ctx: click.Context, config_path: Path | None, db_url: str | None, no_scheduler: bool
) -> None:
    """Cold-email outreach from your own mailboxes, run from the terminal.

    With no command: the console, with the engine running in it."""
    state = CliContext(config_path=config_path, db_url=db_url)
    ctx.obj = state
    ctx.call_on_close(state.close)
    if ctx.invoked_subcommand is None:
        friendly_errors(run_console)(state, run_scheduler=not no_scheduler)


cli.add_command(policy_group)
cli.add_command(send_command)
cli.add_command(suppression_group)
cli.add_command(export_group)
cli.add_command(campaign_group)
cli.add_command(worker_command)
cli.add_command(forecast_command)
cli.add_command(demo_command)
cli.add_command(leads_group)
cli.add_command(mailboxes_group)


def main() -> None:
    cli(prog_name="outreach-tui")
