"""The sections of the send path: `[policy]` (caps and checks every send passes),
`[operator]`, `[sending]`, `[warmup]`, `[scheduler]` (the jobs' intervals) and `[retry]`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from outreach_tui.config.section import Section
from outreach_tui.core.policy import PolicyLimits
from outreach_tui.core.region import DEFAULT_REGION_TABLE, LegalBasis, RegionRule
from outreach_tui.core.retry import RetryRules

if TYPE_CHECKING:
    from outreach_tui.core.warmup import WarmupRamp


class RegionSetting(Section):
    region: str
    """Region name recorded with the send (e.g. EU)."""
    legal_basis: LegalBasis
    """consent or legitimate_interest."""


class PolicySettings(Section):
    daily_user_cap: int = Field(100, ge=0)
    """Sends per operator per day (operator's timezone)."""
    daily_domain_cap: int = Field(20, ge=0)
    """Sends per recipient domain per day."""
    idempotency_window_hours: int = Field(24, ge=0)
    """No second (sender, recipient, subject) within this many hours."""
    check_user_cap: bool = True
    """Enforce daily_user_cap."""
    check_domain_cap: bool = True
    """Enforce daily_domain_cap."""
    check_suppression: bool = True
    """Refuse suppressed addresses and domains."""
    check_idempotency: bool = True
    """Refuse duplicates within the idempotency window."""
    check_mailbox_limit: bool = True
    """Enforce each mailbox's daily limit."""
    regions: dict[str, RegionSetting] = Field(default_factory=dict)
    """Extra or overriding domain suffix → region/legal basis rules (e.g. "us")."""

    def limits(self) -> PolicyLimits:
        table: dict[str, RegionRule] = dict(DEFAULT_REGION_TABLE)
        for suffix, rule in self.regions.items():
            table[suffix.lower().lstrip(".")] = RegionRule(rule.region, rule.legal_basis)
        return PolicyLimits(
            daily_user_cap=self.daily_user_cap,
            daily_domain_cap=self.daily_domain_cap,
            idempotency_window_hours=self.idempotency_window_hours,
            check_user_cap=self.check_user_cap,
            check_domain_cap=self.check_domain_cap,
            check_suppression=self.check_suppression,
            check_idempotency=self.check_idempotency,
            check_mailbox_limit=self.check_mailbox_limit,
            region_table=table,
        )


class OperatorSettings(Section):
    id: str | None = None
    """The headless worker's operator id (the console always uses the OS login)."""
    timezone: str = "UTC"
    """IANA zone where "today" begins and ends for caps and limits."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown timezone {value!r} (use an IANA name such as Europe/Berlin)"
            ) from None
        return value


class SendingSettings(Section):
    min_gap_seconds: float = Field(90, ge=0)
    """Shortest random gap between two sends of one mailbox."""
    max_gap_seconds: float = Field(300, ge=0)
    """Longest random gap between two sends of one mailbox."""
    unsubscribe_mailto: str | None = None
    """Address for List-Unsubscribe mailto (default: the sending mailbox)."""
    unsubscribe_url: str | None = None
    """One-click unsubscribe URL (RFC 8058); {email} and {message_id} are filled in."""
    postal_address: str | None = None
    """Footer postal address for every message (a campaign may set its own)."""
    default_daily_limit: int = Field(50, ge=0)
    """Daily limit of a mailbox with neither daily_limit nor warmup_started."""
    yellow_per_mailbox_per_day: int = Field(2, ge=0)
    """At most this many YELLOW-health leads per mailbox per day."""


class WarmupSettings(Section):
    kind: Literal["weekly", "percent"] = "weekly"
    """weekly: a fixed limit per week of warmup; percent: +N %/day up to a cap."""
    weekly_steps: list[int] = Field(default_factory=lambda: [5, 10, 20, 35, 50], min_length=1)
    """Daily limit in week 1, 2, ...; the last value holds afterwards."""
    percent_start: int = Field(5, ge=0)
    """percent kind: the limit on day 1."""
    percent_daily_increase: float = Field(0.20, ge=0)
    """percent kind: growth per day (0.20 = +20 %)."""
    percent_cap: int = Field(50, ge=0)
    """percent kind: the limit stops growing here."""
    new_mailboxes: bool = True
    """A mailbox added (config, `mailboxes import`, SMTP_* variables) with neither a
    `daily_limit` nor a `warmup_started` starts its ramp on the day it is added. false: it
    sends its full limit from day one (established mailboxes; or give them a past
    `warmup_started`)."""

    def ramp(self) -> WarmupRamp:
        from outreach_tui.core.warmup import WarmupRamp

        return WarmupRamp(
            kind=self.kind,
            weekly_steps=tuple(self.weekly_steps),
            percent_start=self.percent_start,
            percent_daily_increase=self.percent_daily_increase,
            percent_cap=self.percent_cap,
        )


class SchedulerSettings(Section):
    plan_seconds: float = Field(60, gt=0)
    """How often the planner fills the queue."""
    dispatch_seconds: float = Field(5, gt=0)
    """How often the dispatcher looks for due sends."""
    poll_minutes: float = Field(5, gt=0)
    """How often mailboxes are polled for replies."""
    monitor_seconds: float = Field(60, gt=0)
    """How often bounce and complaint rates are checked."""
    heal_seconds: float = Field(300, gt=0)
    """How often the recovery pipeline runs."""
    dns_check_hours: float = Field(6, gt=0)
    """How often sending domains' DNS is checked."""
    verify_seconds: float = Field(300, gt=0)
    """How often unverified leads of active campaigns are verified."""
    misfire_grace_seconds: int = Field(30, ge=1)
    """How late a job may start and still run."""
    plan_batch: int = Field(200, ge=1)
    """Sequence steps the planner renders per tick at most."""
    dispatch_batch: int = Field(100, ge=1)
    """Due sends the dispatcher looks at per tick at most."""
    lease_seconds: int = Field(120, ge=2)
    """How long a mailbox's dispatch lease lasts without renewal (a dead process frees it)."""
    db_connections: int = Field(2, ge=1, le=64)
    """PostgreSQL: write transactions one process runs at once (SQLite has one writer).
    Two by default: a worker's sends then wait less for each other's round trips (one
    worker 200 sends/s against 155 with one, bench/scale.py); more threads in one process
    wait longer for the GIL, and near a cap, where its lock is exclusive, hold it longer.
    Raise it when the database is far away (every statement a slow round trip)."""


class RetrySettings(Section):
    first_delay_seconds: int = Field(300, ge=1)
    """First retry after a transient failure."""
    max_delay_seconds: int = Field(4000, ge=1)
    """Backoff doubles up to this."""
    give_up_hours: int = Field(120, ge=1)
    """After this long a transiently failing attempt is marked failed."""

    def rules(self) -> RetryRules:
        return RetryRules(self.first_delay_seconds, self.max_delay_seconds, self.give_up_hours)
