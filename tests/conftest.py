"""Fixtures shared by every test: an isolated environment, real servers on loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.conftest_fixtures import *  # noqa: F403  (pki, smtp_server)

_LEAKY_ENV = (
    "SMTP_HOST", "SMTP_PORT", "SMTP_USER", "SMTP_PASS", "SMTP_FROM_EMAIL", "SMTP_FROM_NAME",
    "SMTP_VERIFY_TLS", "SMTP_SEND_TIMEOUT", "IMAP_HOST", "IMAP_PORT", "IMAP_USER", "IMAP_PASS",
    "IMAP_FETCH_LIMIT", "DATABASE_URL", "OUTREACH_CONFIG", "OPENAI_API_KEY", "EXA_API_KEY",
)  # fmt: skip


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No test reads the developer's config, database, logs or SMTP variables."""
    for name in list(os.environ):
        if name in _LEAKY_ENV or "__" in name:
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    for var, sub in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_CACHE_HOME", "cache"),
    ):
        monkeypatch.setenv(var, str(home / sub))
    yield home
