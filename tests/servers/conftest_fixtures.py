"""pytest fixtures for real loopback SMTP servers; import with ``from ... import *``.

Kept out of a ``conftest.py`` so the project's own ``tests/conftest.py`` decides where they
are visible; ``__all__`` limits the star-import to the fixtures themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any, Protocol

import pytest

from tests.servers.pki import TestPKI, make_pki
from tests.servers.smtp import ScriptedSmtpServer

__all__ = ["SmtpServerFactory", "pki", "smtp_server"]


class SmtpServerFactory(Protocol):
    """Type of the ``smtp_server`` fixture: ``start(**options) -> ScriptedSmtpServer``."""

    def __call__(self, **options: Any) -> ScriptedSmtpServer: ...


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    """One throw-away PKI per test session (key generation is the slow part)."""
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def smtp_server(pki: TestPKI) -> Iterator[SmtpServerFactory]:
    """Start scripted SMTP servers on demand; every one is stopped at teardown.

    ``start(**options)`` takes the keyword arguments of :class:`ScriptedSmtpServer`
    (``security``, ``cert``, ``users``, ``rules``, ``default_rule``, ``greeting``, ``tarpit``,
    ``mail_reply``, ...) and returns the running server.
    """
    with ExitStack() as stack:

        def start(**options: Any) -> ScriptedSmtpServer:
            server = ScriptedSmtpServer(pki, **options)
            server.start()
            stack.callback(server.stop)
            return server

        yield start
