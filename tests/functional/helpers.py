"""Building a real engine against a real loopback SMTP server."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from outreach_tui.config import Settings, load_settings
from outreach_tui.engine import Engine, build_engine
from outreach_tui.engine.clock import SimulatedClock
from outreach_tui.logsetup import configure_logging
from tests.functional.backend import database_url

SENDER = "alex@brand-news.com"
PASSWORD_ENV = "TEST_SMTP_PASSWORD"
PASSWORD = "pw-Zq8#unique-7731"  # recognisable: tests search files for it
START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday


def settings_for(tmp_path: Path, server: Any, pki: Any, **extra: Any) -> Settings:
    mailbox = {
        "email": SENDER,
        "from_name": "Alex",
        "smtp_host": server.host,
        "smtp_port": server.port,
        "smtp_security": "tls" if getattr(server, "security", "starttls") == "tls" else "starttls",
        "smtp_user": SENDER,
        "smtp_password": f"env:{PASSWORD_ENV}",
    }
    mailbox.update(extra.pop("mailbox", {}))
    overrides: dict[str, Any] = {
        "database_url": database_url(tmp_path),
        "mailboxes": [mailbox],
        "tls": {"ca_file": str(pki.ca_file)},
        "smtp_send_timeout": 30,  # generous: a loaded CI machine must not turn a send into a retry
        "logging": {"file": str(tmp_path / "outreach.log")},
        # The DNS health job would ask the machine's resolver about these made-up domains;
        # the DNS tests turn it on with their own loopback nameserver.
        "dns": {"health_checks": False},
        # Not about warmup (test_guard_warmup is): the mailbox sends its full limit at once.
        "warmup": {"new_mailboxes": False},
    }
    overrides.update(extra)
    return load_settings(None, **overrides)


def make_engine(tmp_path: Path, server: Any, pki: Any, clock: SimulatedClock | None = None,
                **extra: Any) -> Engine:  # fmt: skip
    settings = settings_for(tmp_path, server, pki, **extra)
    configure_logging("DEBUG", settings.logging.file)
    return build_engine(settings, headless=True, clock=clock or SimulatedClock(START))
