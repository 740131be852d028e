"""`outreach-tui send`: one message through the whole pipeline."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from outreach_tui.cli.context import EXIT_BLOCKED, CliContext, friendly_errors, pass_ctx
from outreach_tui.cli.output import echo
from outreach_tui.core.addresses import normalize_address
from outreach_tui.core.errors import InputError
from outreach_tui.engine import SendOutcome, SendRequest


@click.command("send")
@click.option("--from", "from_addr", required=True, help="Sending mailbox address.")
@click.option("--to", "to_addr", required=True, help="Recipient address.")
@click.option("--subject", required=True, help="Subject line.")
@click.option(
    "--body-file",
    type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
    required=True,
    help="UTF-8 text file with the body ('-' for standard input).",
)
@pass_ctx
@friendly_errors
def send_command(
    state: CliContext, from_addr: str, to_addr: str, subject: str, body_file: Path
) -> None:
    """Send one message (policy, ledger, SMTP, counters, audit). Exit 0 only when sent."""
    body = _read_body(body_file)
    request = SendRequest(
        sender_email=normalize_address(from_addr),
        recipient_email=normalize_address(to_addr),
        subject=subject,
        body=body,
    )
    engine = state.engine()

    async def run() -> SendOutcome:
        try:
            return await engine.send(request)
        finally:
            await engine.close_connections()

    outcome = asyncio.run(run())
    if outcome.sent:
        echo(f"sent (attempt {outcome.attempt_id})")
        return
    extra = ""
    if outcome.next_attempt_at is not None:
        extra = f"; next try after {outcome.next_attempt_at:%Y-%m-%d %H:%M} UTC"
    echo(f"not sent: {outcome.message}{extra}", err=True)
    sys.exit(EXIT_BLOCKED)


def _read_body(path: Path) -> str:
    try:
        if str(path) == "-":
            return sys.stdin.read()
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
