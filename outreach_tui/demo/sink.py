"""The sandbox's SMTP server: aiosmtpd inside the console's own event loop, on 127.0.0.1,
with STARTTLS and AUTH and a certificate from a CA made at start-up. The engine sends to it
through the real transport (pinned STARTTLS, verified certificate), so the demo exercises
the same path as production; nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from outreach_tui.demo.world import SandboxWorld


class _QuietLoginData(logging.Filter):
    """aiosmtpd logs a deprecation of its own attribute on every login; not ours to fix."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "login_data is deprecated" not in str(record.msg)


_MAIL_LOG = logging.getLogger("mail.log")
_MAIL_LOG.addFilter(_QuietLoginData())
_MAIL_LOG.setLevel(logging.WARNING)  # one INFO line per SMTP command is noise here


class _Handler:
    def __init__(self, world: SandboxWorld) -> None:
        self.world = world

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self.world.refuses(envelope.mail_from or "", address):
            return f"550 5.1.1 <{address}>: recipient unknown (sandbox)"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        for recipient in envelope.rcpt_tos:
            self.world.accepted(envelope.mail_from or "", recipient, content)
        return "250 2.0.0 accepted by the sandbox"


class SandboxSink:
    def __init__(self, world: SandboxWorld, directory: Path, password: str) -> None:
        self.world = world
        self.password = password
        ca = trustme.CA(organization_name="outreach-tui sandbox CA")
        leaf = ca.issue_cert("127.0.0.1", "localhost")
        self.ca_file = directory / "sandbox-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        leaf.configure_cert(self.context)
        # Bound now, served later: the port goes into the settings before the engine exists.
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.setblocking(False)
        self.port: int = self.sock.getsockname()[1]
        self.server: asyncio.Server | None = None

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and auth_data.password == self.password.encode()
        return AuthResult(success=ok)

    async def start(self) -> None:
        if self.server is not None:
            return
        handler = _Handler(self.world)
        self.server = await asyncio.get_running_loop().create_server(
            lambda: SMTP(
                handler,
                tls_context=self.context,
                require_starttls=True,
                authenticator=self._authenticate,
                auth_require_tls=True,
                auth_required=True,
                hostname="sandbox.local",
            ),
            sock=self.sock,
        )

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        else:
            self.sock.close()
