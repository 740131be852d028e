"""Opening an SMTP session: connect, pin TLS (STARTTLS required on 587, implicit TLS on 465),
EHLO, AUTH; and closing one so that its socket is really gone.

A failure of the set-up is a `DeliveryResult` (`SetupFailed.result`) whose class says who pays:
a refused or silent server, a greeting that cannot be read and a missing STARTTLS are the
mailbox's server's (CONNECTION, TLS), a refused login the mailbox's (AUTH).
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import aiosmtplib

from outreach_tui.core.errors import ConfigError
from outreach_tui.core.smtp_reply import Stage, classify_reply, is_refusal
from outreach_tui.core.states import ErrorClass
from outreach_tui.mail.smtp_endpoint import (
    SECRET_UNREADABLE,
    DeliveryResult,
    SmtpEndpoint,
    client_tls_context,
)


class SetupFailed(Exception):
    """The session could not be opened; `result` says how and who pays."""

    def __init__(self, result: DeliveryResult) -> None:
        super().__init__(result.detail)
        self.result = result


#: How long a closing connection may take before its transport is aborted.
CLOSE_GRACE_SECONDS = 2.0


async def _closed(client: aiosmtplib.SMTP, protocol: Any) -> None:
    """Close `client` and wait until its socket is really gone.

    `close()` only starts a TLS shutdown; returning before it finishes leaves sockets for
    the garbage collector (ResourceWarning) when the caller's event loop ends right after,
    as it does for the one-shot CLI commands. A peer that never answers the close_notify
    gets the transport aborted after a short grace.
    """
    transport = getattr(protocol, "transport", None)
    client.close()
    deadline = asyncio.get_running_loop().time() + CLOSE_GRACE_SECONDS
    while protocol is not None and protocol.transport is not None:
        if asyncio.get_running_loop().time() > deadline:
            if isinstance(transport, asyncio.WriteTransport):
                transport.abort()
            break
        await asyncio.sleep(0.005)


async def open_session(endpoint: SmtpEndpoint) -> aiosmtplib.SMTP:
    """Read the password, then connect, pin TLS (STARTTLS required on 587, implicit TLS on
    465), EHLO, AUTH."""
    password = _password(endpoint)
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
        await _open(client, endpoint, implicit, opened, password)
    except SetupFailed:
        await _closed(client, opened[0] if opened else None)
        raise
    return client


def _password(endpoint: SmtpEndpoint) -> str:
    """The password, read before any connection: a secret that cannot be read (unset, a
    missing or non-UTF-8 file) is the mailbox's configuration error, named by its key, and
    costs the server nothing."""
    try:
        return endpoint.password()
    except ConfigError as exc:
        raise SetupFailed(
            DeliveryResult(
                accepted=False,
                error_class=ErrorClass.AUTH,
                stage=Stage.AUTH,
                response=SECRET_UNREADABLE,
                detail=str(exc),
            )
        ) from None


async def _open(
    client: aiosmtplib.SMTP,
    endpoint: SmtpEndpoint,
    implicit: bool,
    opened: list[Any],
    password: str,
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
                raise SetupFailed(
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
        await client.login(endpoint.username, password)
    except SetupFailed:
        raise
    except aiosmtplib.SMTPAuthenticationError as exc:
        # Only a 4xx/5xx refuses the login; any other answer is the server's trouble.
        text = exc.message[:500]
        refused = is_refusal(exc.code)
        raise SetupFailed(
            DeliveryResult(
                accepted=False,
                code=exc.code if exc.code >= 0 else None,
                response=text,
                error_class=ErrorClass.AUTH if refused else ErrorClass.CONNECTION,
                stage=Stage.AUTH,
                detail=f"authentication failed for {endpoint.username}: {exc.code} {text[:200]}",
            )
        ) from None
    except aiosmtplib.SMTPResponseException as exc:
        # A reply that cannot be read (code -1) is the server's trouble, never a refused login.
        text = exc.message[:500]
        klass = classify_reply(stage, exc.code, text)
        if stage is not Stage.AUTH and klass is ErrorClass.TRANSIENT:
            klass = ErrorClass.CONNECTION
        raise SetupFailed(
            DeliveryResult(
                accepted=False,
                code=exc.code if exc.code >= 0 else None,
                response=text,
                error_class=klass,
                stage=stage,
                detail=f"{endpoint.host}:{endpoint.port} answered {exc.code} {text[:200]} "
                f"at {stage.value}",
            )
        ) from None
    except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
        raise SetupFailed(_setup_error(endpoint, stage, exc)) from None


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


__all__ = ["CLOSE_GRACE_SECONDS", "SetupFailed", "open_session"]
