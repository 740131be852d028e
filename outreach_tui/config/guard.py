"""The sections of the deliverability guard: `[monitor]` (rates, pauses, the recovery
phases), `[dns]` (sending domains' DNS health) and `[alerts]` (Telegram, Slack)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from outreach_tui.config.section import DailyCount, Range, SecretRef, Section, Share, Timeout


class MonitorSettings(Section):
    mode: Literal["observe", "suggest", "enforce"] = "enforce"
    """observe: log only; suggest: notify the operator; enforce: act. The console may switch
    it at run time (the switch is stored in the database and wins over this file)."""
    # -- the deliverability guard: every number of the monitor and the recovery -----------
    window_days: Annotated[int, Range(1, 365)] = 7
    """Rolling window (local days, today included) over which bounce rates are measured."""
    min_sends: Annotated[int, Range(1, 100_000)] = 20
    """No verdict on a bounce rate before this many sends in the window."""
    warn_rate: Share = 0.03
    """A bounce rate above this raises a warning."""
    pause_rate: Share = 0.05
    """A bounce rate above this pauses the mailbox."""
    pause_on_complaints: Annotated[int, Range(1, 100_000)] = 1
    """This many spam complaints in the window pause the mailbox."""
    resilience_cost: Annotated[int, Range(0, 100)] = 15
    """Resilience points a pause (or a relapse) costs."""
    cooldown_hours: list[Annotated[float, Range(0, 8760)]] = Field(
        default_factory=lambda: [24.0, 72.0, 168.0], min_length=1, max_length=100
    )
    """Cooldown after the 1st, 2nd, 3rd... offence; the last value holds afterwards (each
    0 to 8760 hours, a year)."""
    domain_failing_mailboxes: Annotated[int, Range(1, 10_000)] = 3
    """This many failing mailboxes of one sending domain pause the domain."""
    domain_cooldown_hours: Annotated[float, Range(0, 8760)] = 24
    """A domain the guard paused resumes after this, once a DNS check after the pause is healthy."""
    campaign_share: Annotated[float, Range(0, 1, above=True)] = 0.8
    """Failures are "concentrated" in a campaign when at least this share of the failing
    mailboxes' window bounces come from it and their bounce rate outside it is at most
    warn_rate: the campaign is paused instead of the mailboxes."""
    campaign_min_mailboxes: Annotated[int, Range(1, 10_000)] = 2
    """...and at least this many failing mailboxes (crossing now or paused in the window)."""
    restricted_daily_limit: DailyCount = 10
    """RESTRICTED_SEND: flat daily limit."""
    restricted_clean_sends: Annotated[int, Range(1, 100_000)] = 15
    """RESTRICTED_SEND: clean sends before WARM_RECOVERY."""
    restricted_clean_sends_repeat: Annotated[int, Range(1, 100_000)] = 25
    """RESTRICTED_SEND: clean sends for a repeat offender (offence count above 1)."""
    recovery_start_limit: DailyCount = 50
    """WARM_RECOVERY: daily limit on its first day."""
    recovery_daily_step: DailyCount = 5
    """WARM_RECOVERY: the limit rises by this each day."""
    recovery_min_days: Annotated[float, Range(0, 365)] = 3
    """WARM_RECOVERY: days before HEALTHY."""
    recovery_max_rate: Share = 0.02
    """WARM_RECOVERY: bounce rate in the phase must stay under this to graduate."""
    recovery_min_sends: Annotated[int, Range(0, 100_000)] = 20
    """WARM_RECOVERY: sends in the phase before it may graduate."""
    policy_burst: Annotated[int, Range(1, 100_000)] = 5
    """This many policy refusals (block lists, reputation, authentication, content) of one
    mailbox within `policy_burst_minutes` raise a critical alert: the mailbox is probably
    blocklisted at the receiver named. Policy refusals count in the bounce rate too."""
    policy_burst_minutes: Annotated[float, Range(1, 10_080)] = 60
    """The span the policy refusals of a burst fall in."""


class DnsDomainSettings(Section):
    """One sending domain's own DNS health settings (`[dns.domains."example.com"]`)."""

    dkim_selectors: list[str] = Field(default_factory=list)
    """DKIM selectors this domain signs with (instead of `[dns] dkim_selectors`)."""
    sending_ips: list[str] = Field(default_factory=list)
    """IPs this domain's mail leaves from (instead of `[dns] sending_ips`)."""


class DnsSettings(Section):
    nameservers: list[str] = Field(default_factory=list)
    """host or host:port; empty: the system resolver."""
    # -- DNS health (engine/guard/dnscheck.py) ------------------------------------------
    health_checks: bool = True
    """Run the scheduled dns-check job (the demo turns it off: its domains are not real)."""
    timeout_seconds: Timeout = 5
    """Per-lookup timeout of the DNS health check."""
    dkim_selectors: list[str] = Field(default_factory=list)
    """DKIM selectors checked on every sending domain without its own list."""
    sending_ips: list[str] = Field(default_factory=list)
    """IPs the mail leaves from; empty: the addresses of each mailbox's smtp_host."""
    dnsbl_zones: list[str] = Field(
        default_factory=lambda: ["zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org"]
    )
    """IP blocklists queried for the sending IPs (reversed octets + zone)."""
    domain_blocklists: list[str] = Field(default_factory=lambda: ["dbl.spamhaus.org"])
    """Domain blocklists queried for the sending domain (domain + zone)."""
    domains: dict[str, DnsDomainSettings] = Field(default_factory=dict)
    """Per-domain selectors and sending IPs, keyed by domain name."""

    @field_validator("sending_ips")
    @classmethod
    def _ip_addresses(cls, value: list[str]) -> list[str]:
        import ipaddress

        for item in value:
            try:
                ipaddress.ip_address(item)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address") from None
        return value

    def for_domain(self, name: str) -> DnsDomainSettings:
        wanted = name.strip().rstrip(".").lower()
        for key, value in self.domains.items():
            if key.strip().rstrip(".").lower() == wanted:
                return value
        return DnsDomainSettings()


class AlertsSettings(Section):
    quiet_minutes: Annotated[float, Range(0, 10_080)] = 60
    """The same alert (its key) is not repeated within this many minutes."""
    telegram_bot_token: SecretRef | None = None
    """Secret reference to the Telegram bot token (none: no Telegram)."""
    telegram_chat_id: SecretRef | None = None
    """Secret reference to the chat id the bot writes to."""
    telegram_api_base: str = "https://api.telegram.org"
    """Telegram Bot API base URL."""
    telegram_min_severity: Literal["critical", "warning", "info"] = "warning"
    """Least severity sent to Telegram."""
    slack_webhook_url: SecretRef | None = None
    """Secret reference to a Slack incoming-webhook URL (none: no Slack)."""
    slack_min_severity: Literal["critical", "warning", "info"] = "warning"
    """Least severity sent to Slack."""
    retries: Annotated[int, Range(0, 10)] = 3
    """Retries per channel after the first delivery fails (waits 2 s, 4 s, 8 s by default)."""
    backoff_seconds: Annotated[float, Range(0, 3600)] = 2.0
    """First retry wait; it doubles for each further retry."""
    max_retry_after_seconds: Annotated[float, Range(0, 86_400)] = 300
    """A 429 asking to wait longer than this gives up instead."""
    timeout_seconds: Timeout = 10
    """HTTP timeout of one delivery."""
