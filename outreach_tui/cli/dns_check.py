"""`outreach-tui dns-check [DOMAIN] [--json]`: a sending domain's MX, SPF, DKIM, DMARC and
blocklist status, now. Exits 1 when something is broken (missing or invalid, or listed)."""

from __future__ import annotations

import asyncio
import json
import sys

import click

from outreach_tui.cli.context import EXIT_BLOCKED, CliContext, friendly_errors, pass_ctx
from outreach_tui.cli.output import echo
from outreach_tui.core.dnshealth import CheckResult, CheckStatus
from outreach_tui.core.screen_text import printable
from outreach_tui.engine import DomainCheckReport, Engine

_MARK = {
    CheckStatus.OK: "ok",
    CheckStatus.WARNING: "warn",
    CheckStatus.FAIL: "FAIL",
    CheckStatus.MISSING: "MISSING",
    CheckStatus.UNKNOWN: "unknown",
}


@click.command("dns-check")
@click.argument("domain", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_ctx
@friendly_errors
def dns_check_command(state: CliContext, domain: str | None, as_json: bool) -> None:
    """Check DOMAIN's DNS now (every sending domain when DOMAIN is left out).

    A sending domain in the database gets the result stored, with an event for each change
    and alerts; any other domain is only checked."""
    engine = state.engine()
    reports = asyncio.run(_run(engine, domain))
    if as_json:
        payload = [_as_json(r) for r in reports]
        echo(json.dumps(payload[0] if domain else payload, indent=2, default=str))
    else:
        if not reports:
            echo("no sending domains in the database; name one: dns-check DOMAIN")
        for report in reports:
            _print(report)
    if any(r.health.broken for r in reports):
        sys.exit(EXIT_BLOCKED)


async def _run(engine: Engine, domain: str | None) -> list[DomainCheckReport]:
    try:
        if domain:
            return [await engine.dns_health.check(domain)]
        return await engine.dns_health.check_all()
    finally:
        await engine.alerts.drain()


def _as_json(report: DomainCheckReport) -> dict[str, object]:
    return {
        **report.health.as_dict(),
        "stored": report.known,
        "changes": report.changes,
        "mailboxes": report.mailboxes,
    }


def _line(label: str, result: CheckResult) -> None:
    mark = _MARK[result.status]
    colour = {"ok": "green", "warn": "yellow", "unknown": "yellow"}.get(mark, "red")
    # Styled here, so the data (a TXT record, a server's answer) is cleaned before.
    click.echo(
        f"  {printable(label):<10} "
        + click.style(f"{mark:<8}", fg=colour)
        + f" {printable(result.summary)}"
    )
    for problem in result.problems:
        if problem == result.summary:
            continue
        echo(f"  {'':<10} {'':<8}   ✗ {problem}")
    for warning in result.warnings:
        echo(f"  {'':<10} {'':<8}   ! {warning}")


def _print(report: DomainCheckReport) -> None:
    health = report.health
    where = "" if report.known else "  (not a sending domain in the database: not stored)"
    echo(f"DNS health of {health.domain}{where}")
    _line("MX", health.mx)
    _line("SPF", health.spf)
    if "record" in health.spf.facts:
        echo(f"  {'':<10} {'':<8}   {health.spf.facts['record']}")
    for ip, result in health.spf.facts.get("sending_ips", {}).items():
        echo(f"  {'':<10} {'':<8}   sending IP {ip}: SPF {result}")
    for dkim in health.dkim:
        label = "DKIM " + dkim.facts["selector"] if "selector" in dkim.facts else "DKIM"
        _line(label, dkim)
    _line("DMARC", health.dmarc)
    if not health.blocklists:
        echo("  blocklists: none configured ([dns] dnsbl_zones, domain_blocklists)")
    for listed in health.blocklists:
        target, zone = listed.facts["target"], listed.facts["zone"]
        _line(
            "DNSBL", CheckResult(listed.name, listed.status, f"{zone}: {target} {listed.summary}")
        )
    for change in report.changes:
        echo(f"  changed: {change}")
    if health.broken:
        verdict = click.style("BROKEN", fg="red", bold=True)
    elif health.healthy:
        verdict = click.style("healthy", fg="green")
    else:
        verdict = click.style("incomplete", fg="yellow") + " (some checks could not be completed)"
    click.echo(f"  result: {verdict}")  # our words and styles only
    echo("")
