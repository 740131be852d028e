"""`outreach-tui export audit|attempts|suppression|leads -o FILE.csv`."""

from __future__ import annotations

from pathlib import Path

import click

from outreach_tui.cli.context import CliContext, friendly_errors, pass_ctx
from outreach_tui.cli.output import echo
from outreach_tui.engine import EXPORT_NAMES


@click.command("export")
@click.argument("what", type=click.Choice(sorted(EXPORT_NAMES)))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@pass_ctx
@friendly_errors
def export_group(state: CliContext, what: str, output: Path) -> None:
    """Export a table to CSV (formula cells neutralised for spreadsheets)."""
    count = state.engine().export(what, output)
    echo(f"wrote {count} rows to {output}")
