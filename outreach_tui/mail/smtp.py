"""SMTP delivery with pinned TLS, verified certificates and connection reuse per mailbox.

The DATA phase is driven by hand (not `aiosmtplib.SMTP.data`) because the pipeline must know
how far the message got when a connection breaks: before the final "." left, the server
cannot have accepted it (it never saw the message end), so it is a plain retry (transient,
RFC 5321 §3.8); once the "." has been handed to the connection, the server may have accepted
it (RFC 1047), so the attempt is `unknown` and is never re-sent blindly. The content and the
"." go in two writes for that: the "." only once the content has left our buffers with the
connection still up.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol

import aiosmtplib
from aiosmtplib import SMTPStatus
from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings

from outreach_tui.core.errors import ConfigError
from outreach_tui.core.smtp_reply import Stage, classify_reply
from outreach_tui.core.states import ErrorClass

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SmtpEndpoint:
    """How to reach one mailbox's submission server.

    `password` returns the password when called, at AUTH: the caller passes a resolver of
    the mailbox's secret reference (`outreach_tui.secrets.secret_getter`), so the value is
    read only when a connection opens and a rotated secret is picked up. It raises
    `ConfigError` when the reference cannot be resolved."""

    host: str
    port: int
    security: Literal["starttls", "tls"]
    username: str
    password: Callable[[], str]
    verify_tls: bool = True
    timeout: float = 30.0
    ca_file: Path | None = None
    local_hostname: str | None = None
    label: str = ""  # for messages: the mailbox address

    @property
    def pool_key(self) -> tuple[str, int, str]:
        return (self.host, self.port, self.username)


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What happened to one message. `error_class` is None exactly when accepted."""

    accepted: bool
    code: int | None = None
    response: str = ""
    error_class: ErrorClass | None = None
    stage: Stage | None = None
    detail: str = ""


class MailSender(Protocol):
    """The transport interface the pipeline depends on (tests may swap it)."""

    async def deliver(
        self, endpoint: SmtpEndpoint, envelope_from: str, recipient: str, payload: bytes
    ) -> DeliveryResult: ...

    async def close(self) -> None: ...


@lru_cache(maxsize=16)
def client_tls_context(verify: bool, ca_file: Path | None) -> ssl.SSLContext:
    """System trust store plus an optional extra CA; hostname checking on unless disabled."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class _SetupFailed(Exception):
    def __init__(self, result: DeliveryResult) -> None:
        super().__init__(result.detail)
        self.result = result


@dataclass
class _Slot:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    client: aiosmtplib.SMTP | None = None
    protocol: Any = None  # kept: client.close() forgets it, and we wait on it


_CLOSE_GRACE_SECONDS = 2.0


async def _closed(client: aiosmtplib.SMTP, protocol: Any) -> None:
    """Close `client` and wait until its socket is really gone.

    `close()` only starts a TLS shutdown; returning before it finishes leaves sockets for
    the garbage collector (ResourceWarning) when the caller's event loop ends right after,
    as it does for the one-shot CLI commands. A peer that never answers the close_notify
    gets the transport aborted after a short grace.
    """
    transport = getattr(protocol, "transport", None)
    client.close()
    deadline = asyncio.get_running_loop().time() + _CLOSE_GRACE_SECONDS
    while protocol is not None and protocol.transport is not None:
        if asyncio.get_running_loop().time() > deadline:
            if isinstance(transport, asyncio.WriteTransport):
                transport.abort()
            break
        await asyncio.sleep(0.005)


class SmtpTransport:
    """Delivers messages, keeping one authenticated connection per mailbox for reuse."""

    def __init__(self, *, reuse_connections: bool = True) -> None:
        self._slots: dict[tuple[str, int, str], _Slot] = {}
        self._reuse = reuse_connections

    async def deliver(
        self, endpoint: SmtpEndpoint, envelope_from: str, recipient: str, payload: bytes
    ) -> DeliveryResult:
        slot = self._slots.setdefault(endpoint.pool_key, _Slot())
        async with slot.lock:
            reused = slot.client is not None and slot.client.is_connected
            try:
                client = await self._client(slot, endpoint)
            except _SetupFailed as failed:
                return failed.result
            result = await _transaction(client, endpoint, envelope_from, recipient, payload)
            if reused and _stale_connection(result):
                # The server closed an idle connection before our MAIL: nothing was sent.
                await _drop(slot)
                try:
                    client = await self._client(slot, endpoint)
                except _SetupFailed as failed:
                    return failed.result
                result = await _transaction(client, endpoint, envelope_from, recipient, payload)
            if not result.accepted or not self._reuse:
                await _drop(slot, polite=result.error_class is not ErrorClass.UNKNOWN_OUTCOME)
            return result

    async def close(self) -> None:
        for slot in self._slots.values():
            async with slot.lock:
                await _drop(slot)

    async def _client(self, slot: _Slot, endpoint: SmtpEndpoint) -> aiosmtplib.SMTP:
        if slot.client is not None and slot.client.is_connected:
            return slot.client
        slot.client = None
        slot.client = await open_session(endpoint)
        slot.protocol = slot.client.protocol
        return slot.client


def _stale_connection(result: DeliveryResult) -> bool:
    return (
        result.stage is Stage.MAIL
        and result.error_class is ErrorClass.TRANSIENT
        and (result.code is None or result.code == 421)
    )


async def _drop(slot: _Slot, *, polite: bool = True) -> None:
    client, slot.client = slot.client, None
    if client is None:
        return
    # Taken before QUIT: closing forgets them, and the socket outlives the close call.
    transport = client.transport
    sock = transport.get_extra_info("socket") if transport is not None else None
    if polite and client.is_connected:
        try:
            await client.quit(timeout=5)
        except (TimeoutError, aiosmtplib.SMTPException, OSError):
            client.close()
    else:
        client.close()
    await _socket_gone(sock, transport)


async def _socket_gone(sock: Any, transport: asyncio.BaseTransport | None) -> None:
    """Wait until the connection's socket is really closed (a TLS close_notify takes a
    round trip); a peer that never answers gets the transport aborted after a short grace.
    Returning earlier leaves the socket to the garbage collector when the caller's loop
    ends right after, as it does for one-shot commands."""
    if sock is None:
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _CLOSE_GRACE_SECONDS
    while sock.fileno() != -1:
        if loop.time() > deadline:
            if isinstance(transport, asyncio.WriteTransport):
                transport.abort()
            return
        await asyncio.sleep(0.005)


async def open_session(endpoint: SmtpEndpoint) -> aiosmtplib.SMTP:
    """Connect, pin TLS (STARTTLS required on 587, implicit TLS on 465), EHLO, AUTH."""
    context = client_tls_context(endpoint.verify_tls, endpoint.ca_file)
    implicit = endpoint.security == "tls"
    client = aiosmtplib.SMTP(
        hostname=endpoint.host,
        port=endpoint.port,
        use_tls=implicit,
        start_tls=False,  # we do it by hand below, so a missing STARTTLS is an error
        tls_context=context,
        timeout=endpoint.timeout,
        local_hostname=endpoint.local_hostname,
    )
    opened: list[Any] = []
    try:
        await _open(client, endpoint, implicit, opened)
    except _SetupFailed:
        await _closed(client, opened[0] if opened else None)
        raise
    return client


async def _open(
    client: aiosmtplib.SMTP, endpoint: SmtpEndpoint, implicit: bool, opened: list[Any]
) -> None:
    """The session set-up; `opened` receives the protocol so a failure can wait for it."""
    stage = Stage.CONNECT
    try:
        await client.connect()
        opened.append(client.protocol)
        stage = Stage.GREETING
        await client.ehlo()
        if not implicit:
            if not client.supports_extension("starttls"):
                raise _SetupFailed(
                    DeliveryResult(
                        accepted=False,
                        error_class=ErrorClass.TLS,
                        stage=stage,
                        response="server does not offer STARTTLS",
                        detail=f"{endpoint.host}:{endpoint.port} did not advertise STARTTLS; "
                        "refusing to send in plaintext",
                    )
                )
            await client.starttls()
            await client.ehlo()
        stage = Stage.AUTH
        password = endpoint.password()
        await client.login(endpoint.username, password)
    except _SetupFailed:
        raise
    except ConfigError as exc:
        raise _SetupFailed(
            DeliveryResult(
                accepted=False,
                error_class=ErrorClass.AUTH,
                stage=Stage.AUTH,
                response="password reference could not be resolved",
                detail=str(exc),
            )
        ) from None
    except aiosmtplib.SMTPAuthenticationError as exc:
        raise _SetupFailed(
            DeliveryResult(
                accepted=False,
                code=exc.code,
                response=exc.message,
                error_class=ErrorClass.AUTH,
                stage=Stage.AUTH,
                detail=f"authentication failed for {endpoint.username}: {exc.code} {exc.message}",
            )
        ) from None
    except aiosmtplib.SMTPResponseException as exc:
        klass = classify_reply(stage, exc.code, exc.message)
        if stage is not Stage.AUTH and klass is ErrorClass.TRANSIENT:
            klass = ErrorClass.CONNECTION
        raise _SetupFailed(
            DeliveryResult(
                accepted=False,
                code=exc.code,
                response=exc.message,
                error_class=klass,
                stage=stage,
                detail=f"{endpoint.host}:{endpoint.port} answered {exc.code} {exc.message} "
                f"at {stage.value}",
            )
        ) from None
    except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
        raise _SetupFailed(_setup_error(endpoint, stage, exc)) from None


def _setup_error(endpoint: SmtpEndpoint, stage: Stage, exc: BaseException) -> DeliveryResult:
    chain: list[BaseException] = []
    cursor: BaseException | None = exc
    while cursor is not None and len(chain) < 8:
        chain.append(cursor)
        cursor = cursor.__cause__ or cursor.__context__
    tls_failure = next((e for e in chain if isinstance(e, ssl.SSLError)), None)
    where = f"{endpoint.host}:{endpoint.port}"
    if tls_failure is not None:
        return DeliveryResult(
            accepted=False,
            error_class=ErrorClass.TLS,
            stage=stage,
            response="TLS handshake failed",
            detail=f"TLS with {where} failed: {tls_failure}",
        )
    return DeliveryResult(
        accepted=False,
        error_class=ErrorClass.CONNECTION,
        stage=stage,
        response="connection failed",
        detail=f"connection to {where} failed at {stage.value}: {type(exc).__name__}: {exc}",
    )


async def _transaction(
    client: aiosmtplib.SMTP,
    endpoint: SmtpEndpoint,
    envelope_from: str,
    recipient: str,
    payload: bytes,
) -> DeliveryResult:
    """MAIL, RCPT, DATA on an open session. Never raises for SMTP or network trouble."""
    stage = Stage.MAIL
    try:
        await _mail(client, envelope_from)
        stage = Stage.RCPT
        await _rcpt(client, recipient)
        stage = Stage.DATA_START
        start = await client.execute_command(b"DATA")
        if start.code != 354:
            return _refused(stage, start.code, start.message)
        stage = Stage.DATA_BODY
        protocol = client.protocol
        if protocol is None:
            raise aiosmtplib.SMTPServerDisconnected("connection lost after 354")
        body = PERIOD_REGEX.sub(b"..", normalize_message_line_endings(payload))
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        # A reply that comes early (a server refusing mid-content) is kept for us, as
        # aiosmtplib's own DATA does before it writes.
        protocol._response_pending = True
        await _write_content(protocol, body, endpoint.timeout)
        protocol.write(b".\r\n")  # raises SMTPServerDisconnected if the connection is gone
        stage = Stage.DATA_END
        reply = await protocol.read_response(timeout=endpoint.timeout)
    except aiosmtplib.SMTPResponseException as exc:
        return _refused(stage, exc.code, exc.message)
    except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
        client.close()
        if stage is Stage.DATA_END:
            return DeliveryResult(
                accepted=False,
                error_class=ErrorClass.UNKNOWN_OUTCOME,
                stage=stage,
                response="connection lost after the message was sent",
                detail=f"{type(exc).__name__} after DATA to {endpoint.host}: {exc}",
            )
        # RFC 5321 §3.8: a dropped connection counts as a 451; before the final "." left
        # (stage DATA_BODY included) the server cannot have the message.
        return DeliveryResult(
            accepted=False,
            error_class=ErrorClass.TRANSIENT,
            stage=stage,
            response="connection lost",
            detail=f"{type(exc).__name__} at {stage.value} with {endpoint.host}: {exc}",
        )
    if reply.code != 250:
        return _refused(stage, reply.code, reply.message)
    return DeliveryResult(accepted=True, code=reply.code, response=reply.message, stage=stage)


#: Content is written in pieces of this size, each once the previous one has left our
#: buffers: one big write goes whole into the socket transport's buffer past the TLS layer's
#: flow control (asyncio's sslproto), and a server that dropped mid-content would then only
#: show after the "." had been written too.
_CONTENT_CHUNK = 64 * 1024


async def _write_content(protocol: Any, body: bytes, timeout: float) -> None:
    """Write the DATA content under flow control; raises (OSError, SMTPServerDisconnected,
    TimeoutError) if the connection breaks or the server stops reading meanwhile."""
    view = memoryview(body)
    for start in range(0, len(view), _CONTENT_CHUNK):
        protocol.write(view[start : start + _CONTENT_CHUNK])
        async with asyncio.timeout(timeout):  # RFC 5321 §4.5.3.2: per data block
            await protocol._drain_helper()
        # A reset the socket transport has met (it then drops further writes quietly)
        # reaches the protocol a loop turn or two later: let it arrive before the next write.
        await asyncio.sleep(0)


#: A plain ASCII addr-spec (dot-atom local part, domain name): `aiosmtplib.email.quote_address`
#: gives `<address>` for it unchanged, so the command line is written directly, without
#: its per-call `email.utils.parseaddr`. Anything else goes through aiosmtplib.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                            r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                            r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*")  # fmt: skip


async def _mail(client: aiosmtplib.SMTP, sender: str) -> None:
    """MAIL FROM, as `client.mail(sender)` (raises SMTPSenderRefused unless 250)."""
    if not _PLAIN_ADDRESS.fullmatch(sender):
        await client.mail(sender)
        return
    response = await client.execute_command(b"MAIL", b"FROM:<" + sender.encode("ascii") + b">")
    if response.code != SMTPStatus.completed:
        raise aiosmtplib.SMTPSenderRefused(response.code, response.message, sender)


async def _rcpt(client: aiosmtplib.SMTP, recipient: str) -> None:
    """RCPT TO, as `client.rcpt(recipient)` (raises SMTPRecipientRefused unless 250/251)."""
    if not _PLAIN_ADDRESS.fullmatch(recipient):
        await client.rcpt(recipient)
        return
    response = await client.execute_command(b"RCPT", b"TO:<" + recipient.encode("ascii") + b">")
    if response.code not in (SMTPStatus.completed, SMTPStatus.will_forward):
        raise aiosmtplib.SMTPRecipientRefused(response.code, response.message, recipient)


def _refused(stage: Stage, code: int, text: str) -> DeliveryResult:
    return DeliveryResult(
        accepted=False,
        code=code,
        response=text,
        error_class=classify_reply(stage, code, text),
        stage=stage,
        detail=f"{code} {text} at {stage.value}",
    )
