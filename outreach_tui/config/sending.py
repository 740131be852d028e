"""The sections of the send path: `[policy]` (caps and checks every send passes),
`[operator]`, `[sending]`, `[warmup]`, `[scheduler]` (the jobs' intervals) and `[retry]`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from outreach_tui.config.section import DailyCount, Range, SecretRef, Section
from outreach_tui.core.policy import PolicyLimits
from outreach_tui.core.region import DEFAULT_REGION_TABLE, LegalBasis, RegionRule
from outreach_tui.core.retry import RetryRules
from outreach_tui.core.unsubscribe_token import check_unsubscribe_url

if TYPE_CHECKING:
    from outreach_tui.core.warmup import WarmupRamp


class RegionSetting(Section):
    region: str
    """Region name recorded with the send (e.g. EU)."""
    legal_basis: LegalBasis
    """consent or legitimate_interest."""


class PolicySettings(Section):
    daily_user_cap: Annotated[int, Range(0, 1_000_000)] = 100
    """Sends per operator per day (operator's timezone)."""
    daily_domain_cap: Annotated[int, Range(0, 1_000_000)] = 20
    """Sends per recipient domain per day."""
    idempotency_window_hours: Annotated[int, Range(0, 8760)] = 24
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
    min_gap_seconds: Annotated[float, Range(0, 86_400)] = 90
    """Shortest random gap between two sends of one mailbox."""
    max_gap_seconds: Annotated[float, Range(0, 86_400)] = 300
    """Longest random gap between two sends of one mailbox."""
    unsubscribe_mailto: str | None = None
    """Address for List-Unsubscribe mailto (default: the sending mailbox)."""
    unsubscribe_url: str | None = None
    """One-click unsubscribe URL (RFC 8058), https:// only; {token} (a signed per-recipient
    token that `outreach-tui serve` verifies: https://HOST/unsubscribe/{token}), {email} and
    {message_id} are filled in. Unset: one-click unsubscribe is off (mailto only)."""
    unsubscribe_key: SecretRef | None = None
    """Secret reference to the HMAC key that signs {token} (at least 16 bytes)."""
    postal_address: str | None = None
    """Footer postal address for every message (a campaign may set its own)."""
    default_daily_limit: DailyCount = 50
    """Daily limit of a mailbox with neither daily_limit nor warmup_started."""
    yellow_per_mailbox_per_day: Annotated[int, Range(0, 1_000_000)] = 2
    """At most this many YELLOW-health leads per mailbox per day (bounded like the daily
    caps: a value as high as `daily_user_cap` turns the limit off)."""

    @field_validator("unsubscribe_url")
    @classmethod
    def _https_only(cls, value: str | None) -> str | None:
        return None if value is None else check_unsubscribe_url(value)

    @model_validator(mode="after")
    def _token_needs_key(self) -> SendingSettings:
        if self.unsubscribe_url and "{token}" in self.unsubscribe_url and not self.unsubscribe_key:
            raise ValueError("unsubscribe_url uses {token}: set unsubscribe_key too")
        return self


class WarmupSettings(Section):
    kind: Literal["weekly", "percent"] = "weekly"
    """weekly: a fixed limit per week of warmup; percent: +N %/day up to a cap."""
    weekly_steps: list[DailyCount] = Field(
        default_factory=lambda: [5, 10, 20, 35, 50], min_length=1, max_length=520
    )
    """Daily limit in week 1, 2, ...; the last value holds afterwards."""
    percent_start: DailyCount = 5
    """percent kind: the limit on day 1."""
    percent_daily_increase: Annotated[float, Range(0, 10)] = 0.20
    """percent kind: growth per day (0.20 = +20 %)."""
    percent_cap: DailyCount = 50
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


#: How often a job runs, in seconds: more than 0, at most a day.
Interval = Annotated[float, Range(0, 86_400, above=True)]


class SchedulerSettings(Section):
    plan_seconds: Interval = 60
    """How often the planner fills the queue."""
    dispatch_seconds: Interval = 5
    """How often the dispatcher looks for due sends."""
    poll_minutes: Annotated[float, Range(0, 1440, above=True)] = 5
    """How often mailboxes are polled for replies."""
    monitor_seconds: Interval = 60
    """How often bounce and complaint rates are checked."""
    heal_seconds: Interval = 300
    """How often the recovery pipeline runs."""
    dns_check_hours: Annotated[float, Range(0, 720, above=True)] = 6
    """How often sending domains' DNS is checked."""
    verify_seconds: Interval = 300
    """How often unverified leads of active campaigns are verified."""
    misfire_grace_seconds: Annotated[int, Range(1, 86_400)] = 30
    """How late a job may start and still run."""
    plan_batch: Annotated[int, Range(1, 100_000)] = 200
    """Sequence steps the planner renders per tick at most."""
    dispatch_batch: Annotated[int, Range(1, 100_000)] = 100
    """Due sends the dispatcher looks at per tick at most."""
    lease_seconds: Annotated[int, Range(2, 86_400)] = 120
    """How long a mailbox's dispatch lease lasts without renewal (a dead process frees it)."""
    db_connections: Annotated[int, Range(1, 64)] = 2
    """PostgreSQL: write transactions one process runs at once (SQLite has one writer).
    Two by default: a worker's sends then wait less for each other's round trips (one
    worker 200 sends/s against 155 with one, bench/scale.py); more threads in one process
    wait longer for the GIL, and near a cap, where its lock is exclusive, hold it longer.
    Raise it when the database is far away (every statement a slow round trip)."""


class RetrySettings(Section):
    first_delay_seconds: Annotated[int, Range(1, 86_400)] = 300
    """First retry after a transient failure."""
    max_delay_seconds: Annotated[int, Range(1, 604_800)] = 4000
    """Backoff doubles up to this."""
    give_up_hours: Annotated[int, Range(1, 8760)] = 120
    """After this long a transiently failing attempt is marked failed."""

    def rules(self) -> RetryRules:
        return RetryRules(self.first_delay_seconds, self.max_delay_seconds, self.give_up_hours)
