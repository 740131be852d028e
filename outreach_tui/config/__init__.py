"""Settings: `config.toml` plus environment variables, validated into one typed object.

Precedence, highest first: explicit overrides (CLI flags) → environment → config file →
defaults. The single-mailbox variables (SMTP_*, IMAP_*) and DATABASE_URL keep their plain
names; nested sections can be overridden as SECTION__KEY (e.g. POLICY__DAILY_USER_CAP=50).

Every field has a docstring (its description); config.example.toml shows every key with
its default. The sections live by concern:

    settings.py    Settings (the whole), load_settings, find_config_file
    sending.py     [policy] [operator] [sending] [warmup] [scheduler] [retry]
    guard.py       [monitor] [dns] [alerts]
    inbox.py       [replies] [verify]
    mailboxes.py   [[mailboxes]] [database] [tls] [logging]
    api.py         [api] [esp] [webhooks] (the HTTP side)
    section.py     what every section shares; SecretRef
"""

from outreach_tui.config.api import (
    ApiSettings,
    ApiToken,
    EspSettings,
    WebhookEndpoint,
    WebhookSettings,
)
from outreach_tui.config.guard import (
    AlertsSettings,
    DnsDomainSettings,
    DnsSettings,
    MonitorSettings,
)
from outreach_tui.config.inbox import RepliesSettings, VerifySettings
from outreach_tui.config.mailboxes import (
    DatabaseSettings,
    LoggingSettings,
    MailboxSettings,
    TlsSettings,
)
from outreach_tui.config.section import SecretRef
from outreach_tui.config.sending import (
    OperatorSettings,
    PolicySettings,
    RegionSetting,
    RetrySettings,
    SchedulerSettings,
    SendingSettings,
    WarmupSettings,
)
from outreach_tui.config.settings import Settings, find_config_file, load_settings

__all__ = [
    "AlertsSettings",
    "ApiSettings",
    "ApiToken",
    "DatabaseSettings",
    "DnsDomainSettings",
    "DnsSettings",
    "EspSettings",
    "LoggingSettings",
    "MailboxSettings",
    "MonitorSettings",
    "OperatorSettings",
    "PolicySettings",
    "RegionSetting",
    "RepliesSettings",
    "RetrySettings",
    "SchedulerSettings",
    "SecretRef",
    "SendingSettings",
    "Settings",
    "TlsSettings",
    "VerifySettings",
    "WarmupSettings",
    "WebhookEndpoint",
    "WebhookSettings",
    "find_config_file",
    "load_settings",
]
