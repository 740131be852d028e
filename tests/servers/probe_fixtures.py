"""pytest fixtures for the SMTP probe world; import with ``from ... import *``.

``probe_world(hosts, domains=...)`` starts a :class:`ProbeWorld` (all hosts on one port, one
serving thread) and ``probe_dns(zone)`` a :class:`DnsServer` on 127.0.0.1 serving it; both are
stopped at teardown, so every socket is closed before pytest's ``filterwarnings=error`` could
see it leak.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from typing import Protocol

import pytest

from tests.servers.dns import DnsServer, Zone
from tests.servers.probe_world import HostSpec, ProbeWorld

__all__ = ["DnsServerFactory", "ProbeWorldFactory", "probe_dns", "probe_world"]


class ProbeWorldFactory(Protocol):
    """Type of the ``probe_world`` fixture."""

    def __call__(
        self,
        hosts: Iterable[HostSpec],
        domains: Mapping[str, str | Sequence[str]] | None = None,
        *,
        port: int = 0,
    ) -> ProbeWorld: ...


class DnsServerFactory(Protocol):
    """Type of the ``probe_dns`` fixture."""

    def __call__(self, zone: Zone) -> DnsServer: ...


@pytest.fixture
def probe_world() -> Iterator[ProbeWorldFactory]:
    """Start probe worlds on demand; each is stopped at teardown.

    ``probe_world(hosts, domains)`` → a running world; ``world.zone()`` is its DNS zone,
    ``world.port`` the verifier's ``probe_port``.
    """
    with ExitStack() as stack:

        def start(
            hosts: Iterable[HostSpec],
            domains: Mapping[str, str | Sequence[str]] | None = None,
            *,
            port: int = 0,
        ) -> ProbeWorld:
            world = ProbeWorld(hosts, domains=domains, port=port)
            world.start()
            stack.callback(world.stop)
            return world

        yield start


@pytest.fixture
def probe_dns() -> Iterator[DnsServerFactory]:
    """Start dnslib servers on 127.0.0.1 on demand (``server.nameserver`` is the
    ``[dns] nameservers`` entry); each is stopped at teardown."""
    with ExitStack() as stack:

        def start(zone: Zone) -> DnsServer:
            server = DnsServer(zone).start()
            stack.callback(server.stop)
            return server

        yield start
