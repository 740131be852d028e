"""`outreach-tui leads import|list|verify|why` (other lead commands join this group)."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import click

from outreach_tui.cli.context import CliContext, friendly_errors, pass_ctx
from outreach_tui.cli.output import echo, row
from outreach_tui.core.states import LeadStatus

#: Bad rows printed in full; the rest are counted.
SHOWN_ERRORS = 50


def echo_errors(errors: list[str], total: int) -> None:
    """At most SHOWN_ERRORS lines on stderr, then how many more there were."""
    for error in errors[:SHOWN_ERRORS]:
        echo(error, err=True)
    if total > SHOWN_ERRORS:
        echo(f"... and {total - SHOWN_ERRORS} more", err=True)


@click.group("leads")
def leads_group() -> None:
    """The people campaigns write to."""


@leads_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--campaign", default=None, help="Also enrol every lead in this campaign.")
@pass_ctx
@friendly_errors
def import_leads(state: CliContext, file: Path, campaign: str | None) -> None:
    """Import a CSV of leads (email, first_name, last_name, company, website, timezone, ...).

    Bad rows are listed by line and skipped; the rest are imported.
    """
    report = state.engine().import_leads(file, campaign=campaign)
    echo_errors(report.errors, report.rejected)
    echo(report.summary())


@leads_group.command("list")
@click.option("--status", type=click.Choice([s.value for s in LeadStatus]), default=None)
@click.option("--limit", default=100, show_default=True, type=click.IntRange(min=1))
@click.option("--offset", default=0, type=click.IntRange(min=0))
@pass_ctx
@friendly_errors
def list_leads(state: CliContext, status: str | None, limit: int, offset: int) -> None:
    """Show leads, a page at a time (email, status, name, company, timezone, source)."""
    for lead in state.engine().leads_page(status=status, limit=limit, offset=offset):
        name = " ".join(p for p in (lead.first_name, lead.last_name) if p)
        cells = (lead.email, lead.status, name, lead.company, lead.timezone, lead.source)
        echo(row(*cells))


@leads_group.command("verify")
@click.option("--campaign", default=None, help="Only the leads of this campaign.")
@click.option("--no-smtp", is_flag=True, help="Check syntax, disposable and MX only.")
@pass_ctx
@friendly_errors
def verify_leads(state: CliContext, campaign: str | None, no_smtp: bool) -> None:
    """Verify the leads not verified yet that are enrolled in active campaigns (or in
    CAMPAIGN): status, score and health (GREEN/YELLOW/RED) are written to each lead."""
    engine = state.engine()
    verifier = engine.lead_verifier
    batch = engine.settings.verify.batch_size
    totals: Counter[str] = Counter()

    async def run() -> None:
        while counts := await verifier.run(campaign=campaign, smtp=not no_smtp, limit=batch):
            totals.update(counts)
            echo(f"{sum(totals.values())} leads verified", err=True)

    asyncio.run(run())
    parts = ", ".join(f"{status} {n}" for status, n in sorted(totals.items()))
    echo(f"{sum(totals.values())} leads verified" + (f": {parts}" if parts else ""))


@leads_group.command("why")
@click.argument("email")
@pass_ctx
@friendly_errors
def why(state: CliContext, email: str) -> None:
    """Why is this lead not being written to? Names the gate holding each sequence."""
    for line in state.engine().explainer.why(email):
        echo(str(line), multiline=False)
