"""pytest fixtures for a real Dovecot on loopback; import with ``from ... import *``.

One Dovecot per test session (starting one costs a fraction of a second, but the tests are
many) with a fresh user per test, so tests never see each other's mail. Tests that need a
differently configured server (no STARTTLS, a wrong certificate) or that stop and restart
it start their own through ``dovecot_factory``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import pytest

from tests.servers.dovecot import DovecotServer, DovecotUser
from tests.servers.pki import TestPKI

__all__ = ["DovecotFactory", "dovecot", "dovecot_factory", "dovecot_user"]


class DovecotFactory(Protocol):
    """Type of the ``dovecot_factory`` fixture: ``start(**options) -> DovecotServer``."""

    def __call__(self, **options: Any) -> DovecotServer: ...


@pytest.fixture(scope="session")
def dovecot(pki: TestPKI) -> Iterator[DovecotServer]:
    """The session's Dovecot: IMAPS and STARTTLS-required listeners, test-PKI certificate."""
    server = DovecotServer(pki)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def dovecot_user(dovecot: DovecotServer) -> DovecotUser:
    """A user of the session's Dovecot that no other test uses (INBOX and Sent empty)."""
    return dovecot.add_user()


@pytest.fixture
def dovecot_factory(pki: TestPKI) -> Iterator[DovecotFactory]:
    """Start extra Dovecot instances (``cert=``, ``tls=``); each is stopped at teardown."""
    servers: list[DovecotServer] = []

    def start(**options: Any) -> DovecotServer:
        server = DovecotServer(pki, **options)
        servers.append(server)
        server.start()
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.cleanup()
