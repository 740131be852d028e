"""`outreach-tui mailboxes import|list`."""

from __future__ import annotations

from pathlib import Path

import click

from outreach_tui.cli.context import CliContext, friendly_errors, pass_ctx
from outreach_tui.cli.leads import echo_errors
from outreach_tui.cli.output import echo, row


@click.group("mailboxes")
def mailboxes_group() -> None:
    """The mailboxes that send."""


@mailboxes_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
@friendly_errors
def import_mailboxes(state: CliContext, file: Path) -> None:
    """Add or update mailboxes from a CSV with the columns of [[mailboxes]] in config.

    Passwords must be secret references (env:NAME, file:PATH, keyring:SERVICE/USER).
    """
    report = state.engine().import_mailboxes(file)
    echo_errors(report.errors, len(report.errors))
    echo(f"imported {report.imported}, rejected {report.rejected}")


@mailboxes_group.command("list")
@pass_ctx
@friendly_errors
def list_mailboxes(state: CliContext) -> None:
    """Show mailboxes: email, phase, daily limit, SMTP server, certificate checking."""
    for box in state.engine().mailbox_list():
        limit = "warmup" if box.daily_limit is None else box.daily_limit
        tls = "verify_tls=on" if box.verify_tls else "verify_tls=OFF"
        cells = (box.email, box.phase, limit, f"{box.smtp_host}:{box.smtp_port}", tls)
        echo(row(*cells))
