"""`outreach-tui campaign create|list|pause|resume|archive`."""

from __future__ import annotations

from pathlib import Path

import click

from outreach_tui.cli.context import CliContext, friendly_errors, pass_ctx
from outreach_tui.cli.output import echo
from outreach_tui.core.states import CampaignStatus
from outreach_tui.core.templates import template_variables
from outreach_tui.engine import CampaignSpec, load_campaign_file

#: What a template may use for every lead (engine/sending/plans.py `lead_variables`); any other
#: name must be a column of the lead's CSV.
LEAD_FIELDS = ("email", "domain", "first_name", "last_name", "company", "website",
               "sender_name", "sender_email")  # fmt: skip


def unknown_variables(spec: CampaignSpec, source: Path) -> list[str]:
    """A typo such as {{compnay}} otherwise shows only when leads stop at that step."""
    out = []
    for number, step in enumerate(spec.steps, start=1):
        for part in ("subject", "body"):
            text = getattr(step, part)
            for name in sorted(template_variables(text) - set(LEAD_FIELDS)) if text else ():
                out.append(
                    f"{source}: steps[{number}].{part} uses {{{{{name}}}}}, which is not a lead "
                    f"field ({', '.join(LEAD_FIELDS)}); leads without a {name!r} column and "
                    "without a default ({{name|default}}) stop at this step"
                )
    return out


@click.group("campaign")
def campaign_group() -> None:
    """Campaigns: sequences of steps sent to enrolled leads."""


@campaign_group.command("create")
@click.option(
    "--from",
    "source",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Campaign file (TOML; the format is in README.md).",
)
@pass_ctx
@friendly_errors
def create(state: CliContext, source: Path) -> None:
    """Create a campaign from a TOML file."""
    spec = load_campaign_file(source)
    for warning in unknown_variables(spec, source):
        echo(f"warning: {warning}", err=True)
    campaign_id = state.engine().campaigns.create(spec, source_file=str(source))
    echo(
        f"created campaign {spec.name!r} (id {campaign_id}, {len(spec.steps)} steps, "
        f"{spec.approval} approval); enrol leads with: "
        f"outreach-tui leads import FILE --campaign {spec.name!r}"
    )


@campaign_group.command("list")
@pass_ctx
@friendly_errors
def list_campaigns(state: CliContext) -> None:
    """Every campaign with its progress."""
    rows = state.engine().campaigns.summaries()
    if not rows:
        echo("no campaigns yet (outreach-tui campaign create --from FILE)")
        return
    echo(
        f"{'ID':>4}  {'NAME':<28} {'STATUS':<9} {'APPROVAL':<8} {'STEPS':>5} "
        f"{'LEADS':>7} {'ACTIVE':>7} {'DONE':>7} {'STOPPED':>7} {'SENT':>7}"
    )
    for r in rows:
        echo(
            f"{r.id:>4}  {r.name[:28]:<28} {r.status:<9} {r.approval:<8} {r.steps:>5} "
            f"{r.leads:>7} {r.active:>7} {r.finished:>7} {r.stopped:>7} {r.sent:>7}",
            multiline=False,
        )


def _status_command(name: str, status: CampaignStatus, done: str, help_text: str) -> None:
    @campaign_group.command(name, help=help_text)
    @click.argument("campaign")
    @click.option("--reason", default="", help="Kept in the audit log.")
    @pass_ctx
    @friendly_errors
    def command(state: CliContext, campaign: str, reason: str) -> None:
        changed = state.engine().campaigns.set_status(campaign, status, reason=reason)
        echo(
            f"campaign {campaign!r} {done}"
            if changed
            else f"campaign {campaign!r} was not changed (already {done}, or not allowed)"
        )


_status_command(
    "pause",
    CampaignStatus.PAUSED,
    "paused",
    "Pause a campaign: nothing more is planned or sent; progress is kept.",
)
_status_command(
    "resume",
    CampaignStatus.ACTIVE,
    "resumed",
    "Resume a paused campaign where it stopped (no step is resent).",
)
_status_command(
    "archive",
    CampaignStatus.ARCHIVED,
    "archived",
    "Archive a campaign: it stops for good and leaves the lists.",
)
