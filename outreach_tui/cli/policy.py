"""`outreach-tui policy check`: would this send be allowed now?"""

from __future__ import annotations

import json
import sys

import click

from outreach_tui.cli.context import EXIT_BLOCKED, CliContext, friendly_errors, pass_ctx
from outreach_tui.cli.output import echo
from outreach_tui.core.addresses import normalize_address


@click.group("policy")
def policy_group() -> None:
    """Inspect the send policy."""


@policy_group.command("check")
@click.option("--to", "to_addr", required=True, help="Recipient address.")
@click.option("--from", "from_addr", required=True, help="Sending mailbox address.")
@click.option("--subject", required=True, help="Subject line.")
@pass_ctx
@friendly_errors
def policy_check(state: CliContext, to_addr: str, from_addr: str, subject: str) -> None:
    """Print the policy decision as JSON; exit 0 when allowed, 1 when blocked."""
    recipient = normalize_address(to_addr)
    sender = normalize_address(from_addr)
    decision = state.engine().check_policy(sender, recipient, subject)
    echo(json.dumps(decision.as_dict()))
    if not decision.allowed:
        sys.exit(EXIT_BLOCKED)
