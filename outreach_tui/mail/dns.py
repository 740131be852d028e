"""DNS resolvers: the system's, or the nameservers `[dns] nameservers` names.

One factory for every part that looks names up (verification, DNS health), so a test world or
an operator's own resolver is honoured everywhere the same way.
"""

from __future__ import annotations

import dns.asyncresolver
import dns.nameserver

DEFAULT_PORT = 53


def parse_nameserver(spec: str) -> tuple[str, int]:
    """``"127.0.0.1:5353"`` → ``("127.0.0.1", 5353)``; ``"::1"`` and ``"[::1]:53"`` work too."""
    spec = spec.strip()
    if spec.startswith("["):
        host, _, rest = spec[1:].partition("]")
        port = rest.removeprefix(":")
        return host, int(port) if port else DEFAULT_PORT
    if spec.count(":") == 1:
        host, port = spec.split(":")
        return host, int(port)
    return spec, DEFAULT_PORT


def make_resolver(nameservers: list[str], timeout: float = 5.0) -> dns.asyncresolver.Resolver:
    """An async resolver; with no nameservers, the system's (``/etc/resolv.conf``)."""
    if not nameservers:
        resolver = dns.asyncresolver.Resolver()
    else:
        resolver = dns.asyncresolver.Resolver(configure=False)
        hosts: list[str] = []
        ports: set[int] = set()
        for spec in nameservers:
            host, port = parse_nameserver(spec)
            hosts.append(host)
            ports.add(port)
        resolver.nameservers = hosts
        if len(ports) > 1:
            # dnspython has one port per resolver; mixed ports need Nameserver objects.
            resolver.nameservers = [
                dns.nameserver.Do53Nameserver(*parse_nameserver(spec)) for spec in nameservers
            ]
        else:
            resolver.port = ports.pop()
    resolver.timeout = timeout
    resolver.lifetime = timeout
    # A cache across lookups is the callers' business (the domain insight table).
    resolver.cache = None
    return resolver


__all__ = ["make_resolver", "parse_nameserver"]
