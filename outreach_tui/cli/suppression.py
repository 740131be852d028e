"""`outreach-tui suppression add|remove|list|import|export`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from outreach_tui.cli.context import CliContext, friendly_errors, pass_ctx
from outreach_tui.cli.output import echo, row

KIND = click.Choice(["address", "domain"])


@click.group("suppression")
def suppression_group() -> None:
    """Addresses and domains that are never written to."""


@suppression_group.command("add")
@click.argument("value")
@click.option("--kind", type=KIND, default=None, help="Default: address if it has an @.")
@click.option("--reason", default="", help="Why (kept with the entry).")
@pass_ctx
@friendly_errors
def add(state: CliContext, value: str, kind: str | None, reason: str) -> None:
    """Suppress an address or a whole domain."""
    added = state.engine().suppression.add(value, kind=kind, reason=reason)
    echo("added" if added else "already suppressed")


@suppression_group.command("remove")
@click.argument("value")
@click.option("--kind", type=KIND, default=None)
@pass_ctx
@friendly_errors
def remove(state: CliContext, value: str, kind: str | None) -> None:
    """Remove an entry."""
    removed = state.engine().suppression.remove(value, kind=kind)
    echo("removed" if removed else "not on the list")
    if not removed:
        sys.exit(1)


@suppression_group.command("list")
@click.option("--search", default="", help="Only entries containing this text.")
@click.option("--limit", default=100, show_default=True)
@click.option("--offset", default=0)
@pass_ctx
@friendly_errors
def list_entries(state: CliContext, search: str, limit: int, offset: int) -> None:
    """Show entries, a page at a time."""
    service = state.engine().suppression
    for entry in service.page(offset=offset, limit=limit, search=search):
        cells = (entry.kind, entry.value, entry.reason, entry.source)
        echo(row(*cells))


@suppression_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
@friendly_errors
def import_entries(state: CliContext, file: Path) -> None:
    """Import a CSV with an email, domain or value column (and optional kind, reason)."""
    report = state.engine().suppression.import_csv(file)
    for error in report.errors:
        echo(error, err=True)
    echo(
        f"imported {report.added}, already present {report.already_present}, "
        f"rejected {len(report.errors)}"
    )


@suppression_group.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@pass_ctx
@friendly_errors
def export_entries(state: CliContext, output: Path) -> None:
    """Write the list to a CSV file."""
    count = state.engine().export("suppression", output)
    echo(f"wrote {count} rows to {output}")
