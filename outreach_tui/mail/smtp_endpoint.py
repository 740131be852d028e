"""How to reach a submission server and what one delivery comes to: the values the send
pipeline and the SMTP transport (mail/smtp.py) agree on, and the TLS context both SMTP and
IMAP clients verify with."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal, Protocol

from outreach_tui.core.smtp_reply import Stage
from outreach_tui.core.states import ErrorClass


@dataclass(frozen=True, slots=True)
class SmtpEndpoint:
    """How to reach one mailbox's submission server.

    `password` returns the password when called, just before a connection opens: the caller
    passes a resolver of the mailbox's secret reference (`outreach_tui.secrets.secret_getter`),
    so the value is read only then and a rotated secret is picked up. It raises
    `ConfigError` when the reference cannot be resolved (the result's response is then
    `SECRET_UNREADABLE` and nothing was connected)."""

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


#: The response of a delivery that never connected because the mailbox's password could not
#: be read; its detail names the secret's key (never its value).
SECRET_UNREADABLE = "the mailbox's password cannot be read"


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


__all__ = [
    "SECRET_UNREADABLE",
    "DeliveryResult",
    "MailSender",
    "SmtpEndpoint",
    "client_tls_context",
]
