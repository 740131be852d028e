"""The polite SMTP probe: ask a mail host about recipients without sending anything.

One session: connect → greeting → EHLO (HELO if EHLO is refused) → MAIL FROM → RCPT TO for
each recipient → QUIT. QUIT is sent on every path, also after an error or a timeout (best
effort: after a timeout the client still writes QUIT and waits briefly for the 221 before it
closes), so the server never sees a client vanish mid-session.

No STARTTLS: a probe carries no message and no credentials, so there is nothing to protect;
the handshake would double the session's round trips and CPU on both ends, and a server
that insists on TLS before RCPT answers 530, which we read like any other reply.

A small asyncio client rather than aiosmtplib: aiosmtplib closes the connection itself on a
timeout (no QUIT possible afterwards) and raises on the replies a probe needs to read
(a 452 on a second RCPT, a 421 mid-session), while here every reply is data.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import secrets
from dataclasses import dataclass, field
from enum import StrEnum

#: After a timeout or an error, how long QUIT may wait for its 221 before the close.
QUIT_GRACE_SECONDS = 1.0
#: A reply line longer than this is nonsense (RFC 5321 allows 512 octets).
MAX_LINE = 4096


class FailureKind(StrEnum):
    REFUSED = "refused"
    """The TCP connection was refused (or unreachable)."""
    TIMEOUT = "timeout"
    """No reply within the per-reply timeout (a tarpit, a filtered port)."""
    DROPPED = "dropped"
    """The server closed the connection without a reply (RFC 5321 §3.8: read as 451)."""
    REJECTED = "rejected"
    """The greeting, EHLO/HELO or MAIL FROM got a non-2xx reply."""


@dataclass(frozen=True, slots=True)
class Reply:
    code: int
    text: str


@dataclass(frozen=True, slots=True)
class SessionFailure:
    kind: FailureKind
    stage: str
    """connect, greeting, ehlo, mail, rcpt"""
    reply: Reply | None = None
    detail: str = ""


@dataclass
class ProbeSession:
    """What one session learnt: a reply per recipient asked, in order (a recipient after a
    failure is not asked and has no entry)."""

    host: str
    address: str
    replies: list[Reply] = field(default_factory=list)
    failure: SessionFailure | None = None
    quit_sent: bool = False


class _Dropped(Exception):
    pass


class _Client:
    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.timeout = timeout

    async def read_reply(self, timeout: float | None = None) -> Reply:
        """One (possibly multi-line) reply; `_Dropped` if the server hung up first."""
        lines: list[str] = []
        code = 0
        async with asyncio.timeout(self.timeout if timeout is None else timeout):
            while True:
                raw = await self.reader.readline()
                if not raw or not raw.endswith(b"\n"):
                    raise _Dropped
                line = raw[:MAX_LINE].decode("utf-8", "replace").rstrip("\r\n")
                try:
                    code = int(line[:3])
                except ValueError:
                    raise _Dropped from None  # not SMTP: treat like a hang-up
                lines.append(line[4:])
                if len(line) < 4 or line[3] != "-":
                    return Reply(code, "\n".join(lines))

    async def command(self, line: str) -> Reply:
        self.writer.write(line.encode("utf-8") + b"\r\n")
        async with asyncio.timeout(self.timeout):
            await self.writer.drain()
        return await self.read_reply()


def random_local_part() -> str:
    """A mailbox nobody has: the catch-all test's recipient."""
    return "no-such-user-" + secrets.token_hex(8)


async def probe(
    host: str,
    address: str,
    port: int,
    recipients: list[str],
    *,
    helo_name: str,
    mail_from: str,
    timeout: float,
) -> ProbeSession:
    """One session to `address` (the resolved IP of mail host `host`) asking about
    `recipients` in order. It stops at the first reply that ends the transaction's use:
    a 421 (the server is closing) or a 452 on a later RCPT (too many recipients)."""
    session = ProbeSession(host, address)
    try:
        ipaddress.ip_address(address)
    except ValueError:
        # A name would be resolved again here, past the check of the address the verifier
        # made (core/probe_targets.py): only the address it chose is connected to.
        session.failure = SessionFailure(
            FailureKind.REFUSED, "connect", detail=f"{address[:60]!r} is not an IP address"
        )
        return session
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(address, port, limit=MAX_LINE * 4)
    except TimeoutError:
        session.failure = SessionFailure(FailureKind.TIMEOUT, "connect", detail="connect timed out")
        return session
    except OSError as exc:
        session.failure = SessionFailure(FailureKind.REFUSED, "connect", detail=str(exc))
        return session
    client = _Client(reader, writer, timeout)
    stage = "greeting"
    try:
        greeting = await client.read_reply()
        if greeting.code != 220:
            session.failure = SessionFailure(FailureKind.REJECTED, stage, greeting)
            return session
        stage = "ehlo"
        hello = await client.command(f"EHLO {helo_name}")
        if hello.code >= 500:
            hello = await client.command(f"HELO {helo_name}")
        if not 200 <= hello.code < 300:
            session.failure = SessionFailure(FailureKind.REJECTED, stage, hello)
            return session
        # An internationalised local part needs SMTPUTF8 (RFC 6531) on both ends.
        utf8 = not all(r.isascii() for r in recipients)
        if utf8 and "SMTPUTF8" not in hello.text.upper().split():
            session.failure = SessionFailure(
                FailureKind.REJECTED, stage, detail="the server does not offer SMTPUTF8"
            )
            return session
        stage = "mail"
        sender = await client.command(f"MAIL FROM:<{mail_from}>" + (" SMTPUTF8" if utf8 else ""))
        if not 200 <= sender.code < 300:
            session.failure = SessionFailure(FailureKind.REJECTED, stage, sender)
            return session
        stage = "rcpt"
        for index, recipient in enumerate(recipients):
            reply = await client.command(f"RCPT TO:<{recipient}>")
            session.replies.append(reply)
            if reply.code == 421 or (reply.code == 452 and index > 0):
                break
    except TimeoutError:
        session.failure = SessionFailure(FailureKind.TIMEOUT, stage, detail=f"{stage} timed out")
    except (_Dropped, ConnectionError) as exc:
        session.failure = SessionFailure(
            FailureKind.DROPPED, stage, detail=f"connection dropped at {stage} {exc}".strip()
        )
    finally:
        session.quit_sent = await _quit(client, session)
    return session


async def _quit(client: _Client, session: ProbeSession) -> bool:
    """QUIT, then close and wait for the transport to be gone. True if QUIT was written."""
    writer = client.writer
    sent = False
    dropped = session.failure is not None and session.failure.kind is FailureKind.DROPPED
    try:
        if not dropped and not writer.is_closing():
            writer.write(b"QUIT\r\n")
            sent = True
            grace = client.timeout
            if session.failure is not None:
                grace = min(grace, QUIT_GRACE_SECONDS)
            with contextlib.suppress(TimeoutError, _Dropped, ConnectionError):
                await asyncio.wait_for(writer.drain(), grace)
                # Read until the 221; a reply still in flight (a slow server's answer to
                # the command that timed out) comes first and is skipped.
                async with asyncio.timeout(grace):
                    while (await client.read_reply(grace)).code != 221:
                        pass
    except (ConnectionError, RuntimeError):
        pass
    finally:
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), QUIT_GRACE_SECONDS)
        except (ConnectionError, TimeoutError, OSError):
            # A peer that reads nothing keeps our buffer full and the close pending.
            writer.transport.abort()
            await asyncio.sleep(0)
    return sent


__all__ = [
    "FailureKind",
    "ProbeSession",
    "Reply",
    "SessionFailure",
    "probe",
    "random_local_part",
]
