"""`Settings`: every section in one object, and how it is loaded.

Precedence, highest first: explicit overrides (CLI flags) → environment → config file →
defaults. The single-mailbox variables (SMTP_*, IMAP_*) and DATABASE_URL keep their plain
names; nested sections can be overridden as SECTION__KEY (e.g. POLICY__DAILY_USER_CAP=50).
The config file is `--config`, else OUTREACH_CONFIG, else the platform's config directory
(`find_config_file`).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from outreach_tui import locations
from outreach_tui.config.api import ApiSettings, EspSettings, WebhookSettings
from outreach_tui.config.guard import AlertsSettings, DnsSettings, MonitorSettings
from outreach_tui.config.inbox import RepliesSettings, VerifySettings
from outreach_tui.config.mailboxes import (
    DatabaseSettings,
    LoggingSettings,
    MailboxSettings,
    TlsSettings,
)
from outreach_tui.config.section import Port, Range, Timeout
from outreach_tui.config.sending import (
    OperatorSettings,
    PolicySettings,
    RetrySettings,
    SchedulerSettings,
    SendingSettings,
    WarmupSettings,
)
from outreach_tui.core.errors import ConfigError
from outreach_tui.core.keys import key_path


class Settings(BaseSettings):
    """Everything the engine reads. See config.example.toml for every key."""

    model_config = SettingsConfigDict(
        env_prefix="",
        case_sensitive=False,
        env_nested_delimiter="__",
        extra="forbid",
        use_attribute_docstrings=True,
        allow_inf_nan=False,
    )

    smtp_host: str | None = None
    """Single-mailbox setup: SMTP server."""
    smtp_port: Port = 587
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
    smtp_send_timeout: Timeout = 30
    """Seconds to wait for each SMTP reply."""
    imap_host: str | None = None
    """Single-mailbox setup: IMAP server."""
    imap_port: Port = 993
    """Single-mailbox setup: IMAP port."""
    imap_user: str | None = None
    """Single-mailbox setup: IMAP login."""
    imap_pass: SecretStr | None = None
    """Single-mailbox setup: IMAP password, from the environment only."""
    imap_fetch_limit: Annotated[int, Range(1, 10_000)] = 50
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
    api: ApiSettings = Field(default_factory=ApiSettings)
    esp: EspSettings = Field(default_factory=EspSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
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
        key = key_path(err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        lines.append(f"  {key}: {message}")
    return "\n".join(lines)
