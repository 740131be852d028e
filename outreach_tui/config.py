"""Settings: `config.toml` plus environment variables, validated into one typed object.

Precedence, highest first: explicit overrides (CLI flags) → environment → config file →
defaults. The single-mailbox variables (SMTP_*, IMAP_*) and DATABASE_URL keep their plain
names; nested sections can be overridden as SECTION__KEY (e.g. POLICY__DAILY_USER_CAP=50).
"""

from __future__ import annotations

import os
import tomllib
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from outreach_tui import locations
from outreach_tui.core.errors import ConfigError
from outreach_tui.core.policy import PolicyLimits
from outreach_tui.core.region import DEFAULT_REGION_TABLE, LegalBasis, RegionRule
from outreach_tui.core.retry import RetryRules
from outreach_tui.secrets import check_reference

if TYPE_CHECKING:
    from outreach_tui.core.warmup import WarmupRamp

SecretRef = Annotated[str, AfterValidator(check_reference)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class RegionSetting(_Section):
    region: str
    """Region name recorded with the send (e.g. EU)."""
    legal_basis: LegalBasis
    """consent or legitimate_interest."""


class PolicySettings(_Section):
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


class OperatorSettings(_Section):
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


class SendingSettings(_Section):
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


class WarmupSettings(_Section):
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


class SchedulerSettings(_Section):
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


class MonitorSettings(_Section):
    mode: Literal["observe", "suggest", "enforce"] = "enforce"
    """observe: log only; suggest: notify the operator; enforce: act. The console may switch
    it at run time (the switch is stored in the database and wins over this file)."""
    # -- deliverability guard (issue 7): every number of the monitor and the recovery ----
    window_days: int = Field(7, ge=1)
    """Rolling window (local days, today included) over which bounce rates are measured."""
    min_sends: int = Field(20, ge=1)
    """No verdict on a bounce rate before this many sends in the window."""
    warn_rate: float = Field(0.03, ge=0, le=1)
    """A bounce rate above this raises a warning."""
    pause_rate: float = Field(0.05, ge=0, le=1)
    """A bounce rate above this pauses the mailbox."""
    pause_on_complaints: int = Field(1, ge=1)
    """This many spam complaints in the window pause the mailbox."""
    resilience_cost: int = Field(15, ge=0)
    """Resilience points a pause (or a relapse) costs."""
    cooldown_hours: list[float] = Field(default_factory=lambda: [24.0, 72.0, 168.0], min_length=1)
    """Cooldown after the 1st, 2nd, 3rd... offence; the last value holds afterwards."""
    domain_failing_mailboxes: int = Field(3, ge=1)
    """This many failing mailboxes of one sending domain pause the domain."""
    domain_cooldown_hours: float = Field(24, ge=0)
    """A domain the guard paused resumes after this, once a DNS check after the pause is healthy."""
    campaign_share: float = Field(0.8, gt=0, le=1)
    """Failures are "concentrated" in a campaign when at least this share of the failing
    mailboxes' window bounces come from it and their bounce rate outside it is at most
    warn_rate: the campaign is paused instead of the mailboxes."""
    campaign_min_mailboxes: int = Field(2, ge=1)
    """...and at least this many failing mailboxes (crossing now or paused in the window)."""
    restricted_daily_limit: int = Field(10, ge=0)
    """RESTRICTED_SEND: flat daily limit."""
    restricted_clean_sends: int = Field(15, ge=1)
    """RESTRICTED_SEND: clean sends before WARM_RECOVERY."""
    restricted_clean_sends_repeat: int = Field(25, ge=1)
    """RESTRICTED_SEND: clean sends for a repeat offender (offence count above 1)."""
    recovery_start_limit: int = Field(50, ge=0)
    """WARM_RECOVERY: daily limit on its first day."""
    recovery_daily_step: int = Field(5, ge=0)
    """WARM_RECOVERY: the limit rises by this each day."""
    recovery_min_days: float = Field(3, ge=0)
    """WARM_RECOVERY: days before HEALTHY."""
    recovery_max_rate: float = Field(0.02, ge=0, le=1)
    """WARM_RECOVERY: bounce rate in the phase must stay under this to graduate."""
    recovery_min_sends: int = Field(20, ge=0)
    """WARM_RECOVERY: sends in the phase before it may graduate."""


class RepliesSettings(_Section):
    """The reply inbox: the IMAP poller and what a reply's classification does."""

    mode: Literal["enforce", "suggest"] = "enforce"
    """enforce: suppress on unsubscribe, refusal, hard bounce and complaint at once;
    suggest: those suppressions wait in the Inbox for the operator to confirm or relabel."""
    folder: str = "INBOX"
    """The folder polled for replies and bounces."""
    sent_folder: str = "Sent"
    """Where to look for sends whose outcome is unknown (a folder marked \\Sent wins)."""
    imap_timeout_seconds: float = Field(30, gt=0)
    """Seconds to wait for each IMAP reply."""
    ooo_default_days: float = Field(3, ge=0)
    """Out-of-office without a stated return date: the next step waits this many days."""
    reconcile_min_age_minutes: float = Field(15, ge=0)
    """A send whose outcome is unknown is looked up in Sent only after this long."""
    commit_batch: int = Field(100, ge=1)
    """Messages whose effects (and the IMAP cursor past them) commit in one transaction;
    also how many are fetched at a time (the next batch is fetched while one is applied)."""
    llm_base_url: str | None = None
    """OpenAI-compatible API base (…/v1); set: replies the rules leave as "other" are asked."""
    llm_model: str = "gpt-4o-mini"
    """Model name sent to the chat completions endpoint."""
    llm_api_key: SecretRef | None = "env:OPENAI_API_KEY"
    """Secret reference of the endpoint's key (none: no Authorization header)."""
    llm_timeout_seconds: float = Field(20, gt=0)
    """Seconds to wait for the model's answer; past it the reply stays "other"."""


class VerifySettings(_Section):
    helo_name: str = "localhost"
    """Name sent in EHLO by the SMTP probe."""
    mail_from: str = ""
    """MAIL FROM address used by the SMTP probe (empty: null sender)."""
    concurrency: int = Field(20, ge=1)
    """Probes running at once, across all hosts."""
    rate_limit_seconds: float = Field(2.0, ge=0)
    """Least time between two sessions to one MX host."""
    greylist_retry_seconds: float = Field(300, ge=0)
    """Wait before retrying a greylisted address."""
    timeout_seconds: float = Field(10, gt=0)
    """Per-reply timeout of the probe."""
    probe_port: int = Field(25, ge=1, le=65535)
    """Port the probe connects to."""
    required: bool = True
    """Leads wait for verification before the planner queues them; false also turns the
    background verify-leads job off (`outreach-tui leads verify` still works)."""
    rcpt_per_session: int = Field(10, ge=1)
    """Addresses at one mail host asked in one session (1 for hosts that want one)."""
    domain_cache_hours: float = Field(168, ge=0)
    """How long a domain's MX, catch-all and disposable facts are trusted."""
    skip_catch_all_domains: list[str] = Field(
        default_factory=lambda: [
            "gmail.com",
            "googlemail.com",
            "google.com",
            "yahoo.com",
            "outlook.com",
            "hotmail.com",
            "live.com",
            "mail.ru",
            "yandex.ru",
        ]
    )
    """No random-address test for these domains or MX host domains (they answer RCPT
    truthfully, or punish probes, or answer 452 to a second RCPT)."""
    no_probe_domains: list[str] = Field(default_factory=list)
    """Domains or MX host domains never probed over SMTP (accept-everything providers):
    their addresses are UNKNOWN with the domain's MX checked."""
    disposable_domains: list[str] = Field(default_factory=list)
    """Extra throwaway-address domains, on top of the disposable-email-domains list."""
    disposable_domains_file: Path | None = None
    """A file of extra disposable domains, one a line (# comments)."""
    batch_size: int = Field(500, ge=1)
    """Leads the verify-leads job verifies per run at most."""


class DnsDomainSettings(_Section):
    """One sending domain's own DNS health settings (`[dns.domains."example.com"]`)."""

    dkim_selectors: list[str] = Field(default_factory=list)
    """DKIM selectors this domain signs with (instead of `[dns] dkim_selectors`)."""
    sending_ips: list[str] = Field(default_factory=list)
    """IPs this domain's mail leaves from (instead of `[dns] sending_ips`)."""


class DnsSettings(_Section):
    nameservers: list[str] = Field(default_factory=list)
    """host or host:port; empty: the system resolver."""
    # -- DNS health (issue 7) -------------------------------------------------------------
    health_checks: bool = True
    """Run the scheduled dns-check job (the demo turns it off: its domains are not real)."""
    timeout_seconds: float = Field(5, gt=0)
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


class AlertsSettings(_Section):
    quiet_minutes: float = Field(60, ge=0)
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
    retries: int = Field(3, ge=0, le=10)
    """Retries per channel after the first delivery fails (waits 2 s, 4 s, 8 s by default)."""
    backoff_seconds: float = Field(2.0, ge=0)
    """First retry wait; it doubles for each further retry."""
    max_retry_after_seconds: float = Field(300, ge=0)
    """A 429 asking to wait longer than this gives up instead."""
    timeout_seconds: float = Field(10, gt=0)
    """HTTP timeout of one delivery."""


class RetrySettings(_Section):
    first_delay_seconds: int = Field(300, ge=1)
    """First retry after a transient failure."""
    max_delay_seconds: int = Field(4000, ge=1)
    """Backoff doubles up to this."""
    give_up_hours: int = Field(120, ge=1)
    """After this long a transiently failing attempt is marked failed."""

    def rules(self) -> RetryRules:
        return RetryRules(self.first_delay_seconds, self.max_delay_seconds, self.give_up_hours)


class DatabaseSettings(_Section):
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    """FULL survives power loss; NORMAL only an application crash."""
    busy_timeout_ms: int = Field(10000, ge=0)
    """How long a writer waits for the lock before failing."""


class TlsSettings(_Section):
    ca_file: Path | None = None
    """Extra CA bundle trusted for SMTP/IMAP (a private CA); system CAs stay trusted."""


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Log level."""
    file: Path | None = None
    """Log file (default: the platform log directory)."""


class MailboxSettings(_Section):
    email: str
    """The sending address."""
    from_name: str = ""
    """Display name."""
    smtp_host: str
    """SMTP server."""
    smtp_port: int = Field(587, ge=1, le=65535)
    """587 (STARTTLS) or 465 (implicit TLS)."""
    smtp_security: Literal["starttls", "tls"] | None = None
    """Pin the TLS mode; default from the port (465 → tls, else starttls)."""
    smtp_user: str | None = None
    """Login (default: email)."""
    smtp_password: SecretRef
    """Secret reference."""
    imap_host: str | None = None
    """IMAP server for replies."""
    imap_port: int = Field(993, ge=1, le=65535)
    """993 (IMAPS) or 143 (STARTTLS)."""
    imap_security: Literal["starttls", "tls"] | None = None
    """Pin the IMAP TLS mode; default from the port (993 → tls, else starttls)."""
    imap_user: str | None = None
    """IMAP login (default: smtp_user)."""
    imap_password: SecretRef | None = None
    """Secret reference (default: smtp_password)."""
    daily_limit: int | None = Field(None, ge=0)
    """Fixed daily limit (default: the warmup stage decides)."""
    warmup_started: date | None = None
    """First day of warmup."""
    verify_tls: bool = True
    """Verify certificates. Turning this off is shown in red in the console."""

    def security(self) -> Literal["starttls", "tls"]:
        return self.smtp_security or ("tls" if self.smtp_port == 465 else "starttls")

    def imap_tls(self) -> Literal["starttls", "tls"]:
        return self.imap_security or ("tls" if self.imap_port == 993 else "starttls")


class Settings(BaseSettings):
    """Everything the engine reads. See config.example.toml for every key."""

    model_config = SettingsConfigDict(
        env_prefix="",
        case_sensitive=False,
        env_nested_delimiter="__",
        extra="forbid",
        use_attribute_docstrings=True,
    )

    smtp_host: str | None = None
    """Single-mailbox setup: SMTP server."""
    smtp_port: int = 587
    """Single-mailbox setup: SMTP port."""
    smtp_user: str | None = None
    """Single-mailbox setup: SMTP login."""
    smtp_pass: SecretStr | None = None
    """Single-mailbox setup: the SMTP password, from the environment only."""
    smtp_from_email: str | None = None
    """Single-mailbox setup: From address (default: SMTP_USER)."""
    smtp_from_name: str = ""
    """Single-mailbox setup: From display name."""
    smtp_verify_tls: bool = True
    """Verify the SMTP server's certificate."""
    smtp_send_timeout: float = Field(30, gt=0)
    """Seconds to wait for each SMTP reply."""
    imap_host: str | None = None
    """Single-mailbox setup: IMAP server."""
    imap_port: int = 993
    """Single-mailbox setup: IMAP port."""
    imap_user: str | None = None
    """Single-mailbox setup: IMAP login."""
    imap_pass: SecretStr | None = None
    """Single-mailbox setup: IMAP password, from the environment only."""
    imap_fetch_limit: int = Field(50, ge=1)
    """Messages fetched per mailbox per poll."""
    openai_api_key: SecretStr | None = None
    """Optional: reply classification fallback."""
    exa_api_key: SecretStr | None = None
    """Optional: lead research."""
    database_url: str = Field(default_factory=locations.default_database_url)
    """SQLAlchemy URL; SQLite by default, postgresql+psycopg://... for several workers."""

    policy: PolicySettings = Field(default_factory=PolicySettings)
    operator: OperatorSettings = Field(default_factory=OperatorSettings)
    sending: SendingSettings = Field(default_factory=SendingSettings)
    warmup: WarmupSettings = Field(default_factory=WarmupSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    monitor: MonitorSettings = Field(default_factory=MonitorSettings)
    replies: RepliesSettings = Field(default_factory=RepliesSettings)
    verify: VerifySettings = Field(default_factory=VerifySettings)
    dns: DnsSettings = Field(default_factory=DnsSettings)
    alerts: AlertsSettings = Field(default_factory=AlertsSettings)
    retry: RetrySettings = Field(default_factory=RetrySettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    tls: TlsSettings = Field(default_factory=TlsSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    mailboxes: list[MailboxSettings] = Field(default_factory=list)

    #: The file the settings came from (None: defaults and environment only).
    config_path: Path | None = Field(None, exclude=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if _TOML_PATH is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=_TOML_PATH))
        return tuple(sources)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.operator.timezone)

    def where(self) -> str:
        """Names the config source in messages."""
        return str(self.config_path) if self.config_path else "environment"

    def all_mailboxes(self) -> list[MailboxSettings]:
        """Configured mailboxes, plus the one the SMTP_*/IMAP_* variables describe."""
        boxes = list(self.mailboxes)
        env_box = self._env_mailbox()
        if env_box is not None and all(b.email.lower() != env_box.email.lower() for b in boxes):
            boxes.append(env_box)
        return boxes

    def _env_mailbox(self) -> MailboxSettings | None:
        if not self.smtp_host:
            return None
        email = self.smtp_from_email or self.smtp_user
        if not email:
            raise ConfigError("SMTP_HOST is set but neither SMTP_FROM_EMAIL nor SMTP_USER is")
        if self.smtp_pass is None:
            raise ConfigError("SMTP_HOST is set but SMTP_PASS is not (environment)")
        # The value stays in the environment; only the reference is ever stored.
        imap_ref = "env:IMAP_PASS" if self.imap_pass is not None else None
        return MailboxSettings(
            email=email,
            from_name=self.smtp_from_name,
            smtp_host=self.smtp_host,
            smtp_port=self.smtp_port,
            smtp_user=self.smtp_user or email,
            smtp_password=_env_ref("SMTP_PASS"),
            imap_host=self.imap_host,
            imap_port=self.imap_port,
            imap_user=self.imap_user,
            imap_password=imap_ref,
            verify_tls=self.smtp_verify_tls,
        )


def _env_ref(name: str) -> str:
    # pydantic-settings matches env names case-insensitively; find the spelling in use.
    for key in os.environ:
        if key.upper() == name:
            return f"env:{key}"
    return f"env:{name}"


_TOML_PATH: Path | None = None


def find_config_file(explicit: Path | None) -> Path | None:
    """--config, then OUTREACH_CONFIG, then the platform config dir (only if it exists)."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"config file {explicit} does not exist")
        return explicit
    from_env = os.environ.get("OUTREACH_CONFIG")
    if from_env:
        path = Path(from_env).expanduser()
        if not path.is_file():
            raise ConfigError(f"OUTREACH_CONFIG points to {path}, which does not exist")
        return path
    default = locations.default_config_file()
    return default if default.is_file() else None


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings; every problem becomes a `ConfigError` naming the file and key."""
    global _TOML_PATH
    path = find_config_file(config)
    if path is not None:
        try:
            with path.open("rb") as fh:
                tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    _TOML_PATH = path
    try:
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path)) from None
    finally:
        _TOML_PATH = None
    settings.config_path = path
    return settings


def _describe(exc: ValidationError, path: Path | None) -> str:
    where = f"{path} (or the environment)" if path else "the environment"
    lines = [f"invalid configuration in {where}:"]
    for err in exc.errors():
        key = ""
        for part in err["loc"]:
            key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        lines.append(f"  {key}: {message}")
    return "\n".join(lines)
