"""`[[mailboxes]]`: one sending mailbox, its SMTP and IMAP servers and secret references;
`[database]`, `[tls]` and `[logging]`: the process's surroundings."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from outreach_tui.config.section import DailyCount, Port, Range, SecretRef, Section


class DatabaseSettings(Section):
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    """FULL survives power loss; NORMAL only an application crash."""
    busy_timeout_ms: Annotated[int, Range(0, 600_000)] = 10000
    """How long a writer waits for the lock before failing."""


class TlsSettings(Section):
    ca_file: Path | None = None
    """Extra CA bundle trusted for SMTP/IMAP (a private CA); system CAs stay trusted."""


class LoggingSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Log level."""
    file: Path | None = None
    """Log file (default: the platform log directory)."""


class MailboxSettings(Section):
    email: str
    """The sending address."""
    from_name: str = ""
    """Display name."""
    smtp_host: str
    """SMTP server."""
    smtp_port: Port = 587
    """587 (STARTTLS) or 465 (implicit TLS)."""
    smtp_security: Literal["starttls", "tls"] | None = None
    """Pin the TLS mode; default from the port (465 → tls, else starttls)."""
    smtp_user: str | None = None
    """Login (default: email)."""
    smtp_password: SecretRef
    """Secret reference."""
    imap_host: str | None = None
    """IMAP server for replies."""
    imap_port: Port = 993
    """993 (IMAPS) or 143 (STARTTLS)."""
    imap_security: Literal["starttls", "tls"] | None = None
    """Pin the IMAP TLS mode; default from the port (993 → tls, else starttls)."""
    imap_user: str | None = None
    """IMAP login (default: smtp_user)."""
    imap_password: SecretRef | None = None
    """Secret reference (default: smtp_password)."""
    daily_limit: DailyCount | None = None
    """Fixed daily limit (default: the warmup stage decides)."""
    warmup_started: date | None = None
    """First day of warmup."""
    verify_tls: bool = True
    """Verify certificates. Turning this off is shown in red in the console."""

    def security(self) -> Literal["starttls", "tls"]:
        return self.smtp_security or ("tls" if self.smtp_port == 465 else "starttls")

    def imap_tls(self) -> Literal["starttls", "tls"]:
        return self.imap_security or ("tls" if self.imap_port == 993 else "starttls")
