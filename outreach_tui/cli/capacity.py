"""`outreach-tui capacity`: how much the pool can send, day by day, as warmup ramps up."""

from __future__ import annotations

from datetime import date, datetime

import click

from outreach_tui.cli.context import CliContext, friendly_errors, pass_ctx
from outreach_tui.cli.output import echo
from outreach_tui.core.days import local_day
from outreach_tui.core.errors import InputError
from outreach_tui.core.warmup import CapacityDay, PoolMember, capacity_by_day
from outreach_tui.engine import SystemClock


@click.command("capacity")
@click.option(
    "--mailboxes",
    "mailbox_count",
    type=click.IntRange(min=1),
    default=None,
    help="Plan for this many new mailboxes (all starting warmup on day 1, unless [warmup] "
    "new_mailboxes = false) instead of the configured pool.",
)
@click.option(
    "--domains",
    type=click.IntRange(min=1),
    default=None,
    help="Sending domains the new mailboxes are spread over (shown; with --mailboxes).",
)
@click.option(
    "--target",
    type=click.IntRange(min=1),
    default=None,
    help="Sends per day to reach: prints the first day the pool can.",
)
@click.option(
    "--days",
    type=click.IntRange(min=1, max=3650),
    default=42,
    show_default=True,
    help="Days to simulate.",
)
@click.option(
    "--recipient-domains",
    type=click.IntRange(min=1),
    default=None,
    help="Distinct recipient domains a day: applies [policy] daily_domain_cap.",
)
@click.option(
    "--start",
    "start",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Day 1 (default: today in [operator] timezone).",
)
@pass_ctx
@friendly_errors
def capacity_command(
    state: CliContext,
    mailbox_count: int | None,
    domains: int | None,
    target: int | None,
    days: int,
    recipient_domains: int | None,
    start: object,
) -> None:
    """Daily capacity under the warmup schedule and the [policy] caps, on a simulated clock.
    Sends nothing."""
    settings = state.settings
    first: date = (
        start.date() if isinstance(start, datetime) else local_day(SystemClock().now(), settings.tz)
    )
    if domains is not None and mailbox_count is None:
        raise InputError("--domains needs --mailboxes (the configured pool has its own domains)")
    if mailbox_count is not None:
        # As the engine adds them: ramping from day 1 unless [warmup] new_mailboxes = false.
        ramping = settings.warmup.new_mailboxes
        members = [PoolMember(warmup_started=first if ramping else None)] * mailbox_count
        spread = f" on {domains} sending domains" if domains else ""
        how = f"warmup from {first:%Y-%m-%d}" if ramping else "no warmup ([warmup] new_mailboxes)"
        echo(f"{mailbox_count} new mailboxes{spread}, {how}")
    else:
        members, domain_count = configured_pool(state)
        if not members:
            raise InputError("no mailboxes configured: add [[mailboxes]] or pass --mailboxes N")
        echo(f"{len(members)} configured mailboxes on {domain_count} sending domains")
    policy = settings.policy
    monitor = settings.monitor
    plan = capacity_by_day(
        members,
        start=first,
        days=days,
        ramp=settings.warmup.ramp(),
        default_limit=settings.sending.default_daily_limit,
        user_cap=policy.daily_user_cap if policy.check_user_cap else None,
        domain_cap=policy.daily_domain_cap if policy.check_domain_cap else None,
        recipient_domains=recipient_domains,
        restricted_limit=monitor.restricted_daily_limit,
        recovery_start=monitor.recovery_start_limit,
        recovery_step=monitor.recovery_daily_step,
    )
    echo(f"{'day':>4}  {'date':<10}  {'mailboxes':>9}  {'capacity':>8}")
    for number, row in enumerate(plan, start=1):
        echo(f"{number:>4}  {row.day:%Y-%m-%d}  {row.mailboxes:>9}  {row.capacity:>8}")
    if target is not None:
        echo(target_line(plan, target, policy.daily_user_cap if policy.check_user_cap else None))


def target_line(plan: list[CapacityDay], target: int, user_cap: int | None) -> str:
    for number, row in enumerate(plan, start=1):
        if row.capacity >= target:
            return f"target {target}/day reached on day {number} ({row.day:%Y-%m-%d})"
    best = max((row.capacity for row in plan), default=0)
    why = ""
    if user_cap is not None and user_cap < target:
        why = f"; [policy] daily_user_cap = {user_cap} holds it below the target"
    elif plan and plan[-1].mailboxes < target:
        why = "; the pool is too small even fully warmed up" if plan[-1].mailboxes == best else ""
    return f"target {target}/day not reached in {len(plan)} days (at most {best}/day{why})"


def configured_pool(state: CliContext) -> tuple[list[PoolMember], int]:
    """The configured mailboxes as capacity planning sees them, and their sending domains."""
    return state.engine().queries.capacity_pool()
