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
    misfire_grace_seconds: int = Field(30, ge=1)
    """How late a job may start and still run."""
    plan_batch: int = Field(200, ge=1)
    """Sequence steps the planner renders per tick at most."""
    dispatch_batch: int = Field(100, ge=1)
    """Due sends the dispatcher looks at per tick at most."""
    lease_seconds: int = Field(120, ge=10)
    """How long a mailbox's dispatch lease lasts without renewal (a dead process frees it)."""


class MonitorSettings(_Section):
    mode: Literal["observe", "suggest", "enforce"] = "enforce"
    """observe: log only; suggest: notify the operator; enforce: act."""


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


class DnsSettings(_Section):
    nameservers: list[str] = Field(default_factory=list)
    """host or host:port; empty: the system resolver."""


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
    verify: VerifySettings = Field(default_factory=VerifySettings)
    dns: DnsSettings = Field(default_factory=DnsSettings)
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
