"""The outside world of the bounce tests: a DNS server and scripted receiving MX hosts.

Run inside the bounce world's network namespace (tests/servers/bounce_world.py starts it with
``ip netns exec``), as its own process::

    python -m tests.servers.remote_mx WORLD.json READY_FILE

Inside the namespace, 127.0.0.1:53 is "the Internet's DNS" (the namespace's resolv.conf names
it, so the Postfix under test resolves MX records here), and every MX host listens on port 25 of
its own loopback address (127.0.0.N), as real MX hosts do. Nothing here is reachable from outside
the namespace, and nothing inside it can reach beyond it (it only has ``lo``).

WORLD.json::

    {"dns": {"records": ["zone line", ...], "nxdomain": [...], "servfail": [...]},
     "hosts": [{"ip": "127.0.0.10", "name": "mx.example.test",
                "banner": null | "554 5.7.1 ...",       # refuse at the greeting
                "mail": null | "550 5.7.1 ...",         # refuse MAIL FROM
                "rcpt": {"user@domain": {"reply": "550 5.1.1 ...", "times": null | N}},
                "data": {"user@domain": {"reply": "554 5.7.1 ...", "times": null | N}}}]}

A reply with ``times`` refuses that many attempts, then accepts (greylisting); without it, it
refuses every time. A multi-line reply is written with ``\\n`` between its lines.
READY_FILE is written once every listener is up. The process stops on SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.servers.dns import DnsServer, Zone


class _Scripted:
    """aiosmtpd handler: the replies of one MX host, by stage and recipient."""

    def __init__(self, host: dict[str, Any]) -> None:
        self.host = host
        self.seen: Counter[tuple[str, str]] = Counter()
        self.lock = threading.Lock()

    def _reply(self, stage: str, address: str) -> str | None:
        rule = (self.host.get(stage) or {}).get(address.lower())
        if rule is None:
            return None
        with self.lock:
            self.seen[(stage, address.lower())] += 1
            count = self.seen[(stage, address.lower())]
        times = rule.get("times")
        if times is not None and count > times:
            return None
        return "\r\n".join(str(rule["reply"]).splitlines())

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        refusal = self.host.get("mail")
        if refusal:
            return "\r\n".join(str(refusal).splitlines())
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        refusal = self._reply("rcpt", address)
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        for address in envelope.rcpt_tos:
            refusal = self._reply("data", address)
            if refusal:
                return refusal
        return "250 2.0.0 Ok: queued as 4B1A2C3D"


class _BannerRefusal(asyncio.Protocol):
    """A host that refuses at the greeting (a blocklisted client) and then only says goodbye."""

    def __init__(self, banner: str) -> None:
        self.banner = banner
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(("\r\n".join(self.banner.splitlines()) + "\r\n").encode())

    def data_received(self, data: bytes) -> None:
        if self.transport is None:
            return
        if data.upper().startswith(b"QUIT"):
            self.transport.write(b"221 2.0.0 Bye\r\n")
            self.transport.close()
        else:
            self.transport.write(b"503 5.5.1 Error: refused at greeting, say QUIT\r\n")


def _start_banner_host(host: dict[str, Any]) -> tuple[asyncio.AbstractEventLoop, threading.Thread]:
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        server = loop.run_until_complete(
            loop.create_server(lambda: _BannerRefusal(host["banner"]), host["ip"], 25)
        )
        ready.set()
        try:
            loop.run_forever()
        finally:
            server.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    return loop, thread


def main(world_file: str, ready_file: str) -> None:
    world = json.loads(Path(world_file).read_text())
    dns_spec = world.get("dns", {})
    zone = Zone(
        records=list(dns_spec.get("records", [])),
        nxdomain=set(dns_spec.get("nxdomain", [])),
        servfail=set(dns_spec.get("servfail", [])),
    )
    dns = DnsServer(zone, host="127.0.0.1", port=53).start()
    controllers: list[Controller] = []
    loops: list[asyncio.AbstractEventLoop] = []
    for host in world.get("hosts", []):
        if host.get("banner"):
            loops.append(_start_banner_host(host)[0])
            continue
        controller = Controller(
            _Scripted(host),
            hostname=host["ip"],
            port=25,
            server_hostname=host.get("name", "mx.remote.test"),
            ident="ESMTP",
        )
        controller.start()
        controllers.append(controller)
    Path(ready_file).write_text("ready\n")

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    for controller in controllers:
        controller.stop()
    for loop in loops:
        loop.call_soon_threadsafe(loop.stop)
    dns.stop()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
