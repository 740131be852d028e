"""A real DNS server on loopback (dnslib) that serves a test world's zones.

Names answer from a table of records; chosen names answer NXDOMAIN, SERVFAIL, or nothing at
all (a timeout). UDP and TCP both listen on one port. Every query is counted by (name, type),
so a test can assert that a cache saved lookups.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from dnslib import QTYPE, RCODE, RR, DNSRecord
from dnslib.server import BaseResolver, DNSHandler, DNSLogger, DNSServer


def _norm(name: str) -> str:
    return name.rstrip(".").lower() + "."


@dataclass
class Zone:
    """The world's DNS: zone-file lines plus names that fail in chosen ways."""

    records: list[str] = field(default_factory=list)
    """Zone-file lines, e.g. ``"example.test. 300 IN MX 10 mx.example.test."``."""
    nxdomain: set[str] = field(default_factory=set)
    servfail: set[str] = field(default_factory=set)
    silent: set[str] = field(default_factory=set)
    """Names the server never answers (the client times out)."""
    delay_seconds: float = 0.0

    def add(self, line: str) -> None:
        self.records.append(line)


class _ZoneResolver(BaseResolver):  # type: ignore[misc]
    def __init__(self, zone: Zone, counter: Counter[tuple[str, str]], lock: threading.Lock):
        self.zone = zone
        self.counter = counter
        self.lock = lock
        self.rrs: list[RR] = []
        self.reload()

    def reload(self) -> None:
        rrs: list[RR] = []
        for line in self.zone.records:
            rrs.extend(RR.fromZone(line))
        self.rrs = rrs

    def resolve(self, request: DNSRecord, handler: object) -> DNSRecord | None:
        qname = _norm(str(request.q.qname))
        qtype = QTYPE[request.q.qtype]
        with self.lock:
            self.counter[(qname, qtype)] += 1
        if self.zone.delay_seconds:
            time.sleep(self.zone.delay_seconds)
        reply = request.reply()
        bare = qname.rstrip(".")
        if bare in self.zone.silent:
            return None
        if bare in self.zone.servfail:
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        if bare in self.zone.nxdomain:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        known = False
        for rr in self.rrs:
            if _norm(str(rr.rname)) != qname:
                continue
            known = True
            if QTYPE[rr.rtype] == qtype or (qtype == "ANY") or QTYPE[rr.rtype] == "CNAME":
                reply.add_answer(rr)
        if not known:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


class _Silence(Exception):
    """Raised inside the handler for a name that gets no answer at all."""


class _Handler(DNSHandler):  # type: ignore[misc]
    def get_reply(self, data: bytes) -> bytes:
        request = DNSRecord.parse(data)
        reply = self.server.resolver.resolve(request, self)
        if reply is None:
            raise _Silence
        rdata = bytes(reply.pack())
        if self.protocol == "udp" and self.udplen and len(rdata) > self.udplen:
            rdata = bytes(reply.truncate().pack())  # the client retries over TCP
        return rdata

    def handle(self) -> None:
        with contextlib.suppress(_Silence):
            super().handle()


class DnsServer:
    """``DnsServer(zone).start()`` → listening on ``127.0.0.1:<port>`` (UDP and TCP)."""

    def __init__(self, zone: Zone, host: str = "127.0.0.1", port: int = 0) -> None:
        self.zone = zone
        self.host = host
        self.port = port or _free_port(host)
        self.queries: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self._resolver = _ZoneResolver(zone, self.queries, self._lock)
        logger = DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)
        self._servers = [
            DNSServer(self._resolver, host, self.port, logger=logger, handler=_Handler),
            DNSServer(self._resolver, host, self.port, tcp=True, logger=logger, handler=_Handler),
        ]

    @property
    def nameserver(self) -> str:
        """The ``[dns] nameservers`` entry that points at this server."""
        return f"{self.host}:{self.port}"

    def reload(self) -> None:
        """Re-read ``zone.records`` after a test changed them."""
        self._resolver.reload()

    def count(self, name: str, qtype: str) -> int:
        with self._lock:
            return self.queries[(_norm(name), qtype)]

    def start(self) -> DnsServer:
        for server in self._servers:
            server.start_thread()
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.stop()
            server.server.server_close()

    def __enter__(self) -> DnsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _free_port(host: str) -> int:
    """A port free for both UDP and TCP on ``host``."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((host, 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((host, port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port for the DNS server")
