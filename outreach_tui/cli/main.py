"""Entry point and global options."""

from __future__ import annotations

import importlib
from pathlib import Path

import click

from outreach_tui import __version__
from outreach_tui.cli.console import demo_command, run_console
from outreach_tui.cli.context import CliContext, friendly_errors

#: Subcommands, imported only when used: `outreach-tui validate` over a million addresses
#: must not carry the console's and the engine's imports (bench/verify.py measures its
#: memory). name → "module:attribute".
LAZY_COMMANDS = {
    "policy": "outreach_tui.cli.policy:policy_group",
    "send": "outreach_tui.cli.send:send_command",
    "suppression": "outreach_tui.cli.suppression:suppression_group",
    "export": "outreach_tui.cli.export:export_group",
    "campaign": "outreach_tui.cli.campaign:campaign_group",
    "worker": "outreach_tui.cli.worker:worker_command",
    "forecast": "outreach_tui.cli.worker:forecast_command",
    "leads": "outreach_tui.cli.leads:leads_group",
    "mailboxes": "outreach_tui.cli.mailboxes:mailboxes_group",
    "capacity": "outreach_tui.cli.capacity:capacity_command",
    "validate": "outreach_tui.cli.validate:validate_command",
    "dns-check": "outreach_tui.cli.dns_check:dns_check_command",
    "serve": "outreach_tui.cli.serve:serve_command",
}


class LazyGroup(click.Group):
    """A group whose LAZY_COMMANDS are imported when first asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(LAZY_COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in LAZY_COMMANDS:
            module, _, attribute = LAZY_COMMANDS[cmd_name].partition(":")
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(
    cls=LazyGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
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


cli.add_command(demo_command)


def main() -> None:
    cli(prog_name="outreach-tui")
