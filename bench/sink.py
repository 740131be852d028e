"""A loopback SMTP sink for benchmarks: aiosmtpd with STARTTLS + AUTH in its own process,
so the client being measured has a core of its own.

Run as `python bench/sink.py CERT KEY PORTFILE [REPLY_DELAY_MS]`; it writes its port to PORTFILE
and serves until killed.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import sys
import time
from pathlib import Path

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class _DropLoginDataDeprecation(logging.Filter):
    """aiosmtpd 1.4 logs "Session.login_data is deprecated" from its own AUTH handler on every
    login; it says nothing about the client being measured (as in tests/servers/smtp.py)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "login_data is deprecated" not in str(record.msg)


logging.getLogger("mail.log").addFilter(_DropLoginDataDeprecation())


class Sink:
    def __init__(self, delay: float) -> None:
        self.count = 0
        self.delay = delay

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 2.0.0 OK"


def _auth(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"bench-password"
    return AuthResult(success=ok)


async def main() -> None:
    cert, key, port_file = sys.argv[1:4]
    delay = float(sys.argv[4]) / 1000 if len(sys.argv) > 4 else 0.0
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler = Sink(delay)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(
            handler,
            tls_context=context,
            require_starttls=True,
            authenticator=_auth,
            auth_require_tls=True,
            auth_required=True,
            hostname="sink.local",
        ),
        host="127.0.0.1",
        port=0,
    )
    port = server.sockets[0].getsockname()[1]
    tmp = Path(port_file + ".tmp")
    tmp.write_text(str(port))
    tmp.rename(port_file)
    async with server:
        while True:
            await asyncio.sleep(3600)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        time.sleep(0)
