"""Fixtures shared by every test: an isolated environment, real servers on loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.conftest_fixtures import *  # noqa: F403  (pki, smtp_server)
from tests.servers.dovecot_fixtures import *  # noqa: F403  (dovecot, dovecot_user, ...)
from tests.servers.postgres_fixtures import *  # noqa: F403  (postgres_server, pg_database)
from tests.servers.probe_fixtures import *  # noqa: F403  (probe_world, probe_dns)

_LEAKY_ENV = (
    "SMTP_HOST", "SMTP_PORT", "SMTP_USER", "SMTP_PASS", "SMTP_FROM_EMAIL", "SMTP_FROM_NAME",
    "SMTP_VERIFY_TLS", "SMTP_SEND_TIMEOUT", "IMAP_HOST", "IMAP_PORT", "IMAP_USER", "IMAP_PASS",
    "IMAP_FETCH_LIMIT", "DATABASE_URL", "OUTREACH_CONFIG", "OPENAI_API_KEY", "EXA_API_KEY",
)  # fmt: skip


_NETGUARD_DIR = Path(__file__).parent / "netguard"


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Tests reach only loopback: off-loopback connects fail, here and in subprocesses, and a
    test that tried one fails at teardown even if the code under test swallowed the error."""
    from tests.netguard import sitecustomize as netguard

    log = tmp_path / "netguard.log"
    monkeypatch.setenv("OUTREACH_NETGUARD_LOG", str(log))
    paths = [str(_NETGUARD_DIR), *filter(None, [os.environ.get("PYTHONPATH")])]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    netguard.install()
    yield
    if log.exists() and log.read_text().strip():
        pytest.fail(
            "the test tried to reach hosts off loopback (pid target):\n" + log.read_text(),
            pytrace=False,
        )


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
