"""SMTP delivery with pinned TLS, verified certificates and connection reuse per mailbox.

`SmtpTransport` keeps one authenticated connection per mailbox and delivers through it; the
parts live beside it, one responsibility each:

    smtp_endpoint.py     SmtpEndpoint, DeliveryResult, MailSender, client_tls_context
    smtp_session.py      opening a session (TLS pinned, EHLO, AUTH) and closing one for good
    smtp_transaction.py  MAIL, RCPT and DATA driven by hand, so a broken connection is known
                         to have come before the final "." (a retry) or after it (unknown)

Everything a caller needs is importable from here.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import aiosmtplib

from outreach_tui.core.smtp_reply import Stage, is_refusal
from outreach_tui.core.states import ErrorClass
from outreach_tui.mail.smtp_endpoint import (
    SECRET_UNREADABLE,
    DeliveryResult,
    MailSender,
    SmtpEndpoint,
    client_tls_context,
)
from outreach_tui.mail.smtp_session import CLOSE_GRACE_SECONDS, SetupFailed, open_session
from outreach_tui.mail.smtp_transaction import transaction


@dataclass
class _Slot:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    client: aiosmtplib.SMTP | None = None
    protocol: Any = None  # kept: client.close() forgets it, and we wait on it


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
            except SetupFailed as failed:
                return failed.result
            result = await transaction(client, endpoint, envelope_from, recipient, payload)
            if reused and _stale_connection(result):
                # The server closed an idle connection before our MAIL: nothing was sent.
                await _drop(slot, polite=_in_step(result))
                try:
                    client = await self._client(slot, endpoint)
                except SetupFailed as failed:
                    return failed.result
                result = await transaction(client, endpoint, envelope_from, recipient, payload)
            if not result.accepted or not self._reuse:
                await _drop(slot, polite=_in_step(result))
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


def _in_step(result: DeliveryResult) -> bool:
    """The session may still be spoken to (a QUIT before the close): not after an unknown
    outcome, nor after a reply that was no 4xx/5xx where a 2xx/354 was due (the server and
    the client no longer agree on which reply answers which command)."""
    if result.accepted:
        return True
    return result.error_class is not ErrorClass.UNKNOWN_OUTCOME and is_refusal(result.code)


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
    deadline = loop.time() + CLOSE_GRACE_SECONDS
    while sock.fileno() != -1:
        if loop.time() > deadline:
            if isinstance(transport, asyncio.WriteTransport):
                transport.abort()
            return
        await asyncio.sleep(0.005)


__all__ = [
    "SECRET_UNREADABLE",
    "DeliveryResult",
    "MailSender",
    "SmtpEndpoint",
    "SmtpTransport",
    "client_tls_context",
    "open_session",
]
