"""Amazon SNS message signatures (how Amazon SES bounce and complaint notifications arrive).

A message is believed only when its signature verifies against the certificate named in
`SigningCertURL`, and that URL is HTTPS on a host `[esp] sns_cert_host_pattern` allows
(by default `sns.<region>.amazonaws.com`): anyone can sign a message with a certificate
of their own, so where the certificate comes from is the whole trust. Certificates are
fetched with TLS verified (the system's CAs and `[tls] ca_file`), no redirects followed,
at most 64 KiB, and kept for a day. The signed string is the message's fields, each as
"Name\\nvalue\\n", in the order SNS documents; SignatureVersion 1 is RSA over SHA-1, 2 over
SHA-256. A `SubscriptionConfirmation` is confirmed by fetching its SubscribeURL, which must
pass the same host check.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import ssl
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from outreach_tui.api.webhooks.errors import WebhookRefused
from outreach_tui.api.webhooks.replay import ReplayGuard
from outreach_tui.config import EspSettings

log = logging.getLogger(__name__)

_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type",
    ),
    "UnsubscribeConfirmation": (
        "Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type",
    ),
}  # fmt: skip
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}
MAX_CERT_BYTES = 64 * 1024
CERT_CACHE_SECONDS = 24 * 3600.0
_CACHE_SIZE = 32


@dataclass(frozen=True, slots=True)
class SnsMessage:
    """A verified SNS message."""

    type: str
    message_id: str
    topic_arn: str
    message: str
    subscribe_url: str | None


def string_to_sign(message: dict[str, Any]) -> bytes:
    """The canonical string SNS signs for `message` (its Type picks the fields)."""
    names = _FIELDS[str(message.get("Type"))]
    parts = []
    for name in names:
        value = message.get(name)
        if value is None:
            if name == "Subject":  # optional; every other field is required
                continue
            raise WebhookRefused(401, f"SNS message without {name}")
        if not isinstance(value, str):
            raise WebhookRefused(401, f"SNS field {name} is not a string")
        parts.append(f"{name}\n{value}\n")
    return "".join(parts).encode("utf-8")


class SnsVerifier:
    """Verifies SNS messages; one per process (it holds the certificate cache)."""

    def __init__(
        self,
        settings: EspSettings,
        *,
        ca_file: Path | None = None,
        timeout: float = 10.0,
        clock: Any = time.time,
    ) -> None:
        self.settings = settings
        self.host_pattern = re.compile(settings.sns_cert_host_pattern)
        self.topics = frozenset(settings.sns_topic_arns)
        self.timeout = timeout
        self.clock = clock
        self.replays = ReplayGuard(settings.max_age_seconds * 2)
        self._context = ssl.create_default_context()
        if ca_file is not None:
            self._context.load_verify_locations(cafile=str(ca_file))
        self._certs: OrderedDict[str, tuple[float, rsa.RSAPublicKey]] = OrderedDict()

    # -- the checks ---------------------------------------------------------------------

    def allowed_url(self, url: str) -> bool:
        """HTTPS, no user info, and a host the pattern allows in full (the certificate the
        host presents is verified: the name is the trust, not the port)."""
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018  (raises for a port that is not a number)
        except ValueError:
            return False
        host = (parts.hostname or "").lower()
        return (
            parts.scheme == "https"
            and not parts.username
            and not parts.password
            and bool(host)
            and self.host_pattern.fullmatch(host) is not None
        )

    async def verify(self, message: Any) -> SnsMessage:
        """The message, verified; raises `WebhookRefused` otherwise."""
        if not isinstance(message, dict) or message.get("Type") not in _FIELDS:
            raise WebhookRefused(401, "not an SNS message")
        version = message.get("SignatureVersion")
        signature_b64 = message.get("Signature")
        cert_url = message.get("SigningCertURL") or message.get("SigningCertUrl")
        if version not in _HASHES or not isinstance(signature_b64, str) or not cert_url:
            raise WebhookRefused(401, "SNS message without a usable signature")
        try:
            signature = base64.b64decode(signature_b64, validate=True)
        except (binascii.Error, ValueError):
            raise WebhookRefused(401, "SNS signature is not base64") from None
        data = string_to_sign(message)
        topic = str(message["TopicArn"])
        if self.topics and topic not in self.topics:
            raise WebhookRefused(403, f"SNS topic {topic[:200]!r} is not in [esp] sns_topic_arns")
        if not isinstance(cert_url, str) or not self.allowed_url(cert_url):
            raise WebhookRefused(403, "SNS SigningCertURL is not on an allowed host")
        self._check_fresh(str(message["Timestamp"]))
        key = await self._public_key(cert_url)
        try:
            key.verify(signature, data, padding.PKCS1v15(), _HASHES[str(version)]())
        except InvalidSignature:
            raise WebhookRefused(403, "SNS signature does not verify") from None
        message_id = str(message["MessageId"])
        if not self.replays.first_time(f"sns:{message_id}"):
            raise WebhookRefused(403, f"SNS message {message_id[:80]} was seen already")
        subscribe = message.get("SubscribeURL")
        return SnsMessage(
            type=str(message["Type"]),
            message_id=message_id,
            topic_arn=topic,
            message=str(message["Message"]),
            subscribe_url=subscribe if isinstance(subscribe, str) else None,
        )

    def _check_fresh(self, stamp: str) -> None:
        try:
            at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            raise WebhookRefused(401, "SNS Timestamp is not a date") from None
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        age = self.clock() - at.timestamp()
        if abs(age) > self.settings.max_age_seconds:
            raise WebhookRefused(403, f"SNS message is stale ({age:.0f} s old)")

    # -- certificates -------------------------------------------------------------------

    async def _public_key(self, url: str) -> rsa.RSAPublicKey:
        now = time.monotonic()
        cached = self._certs.get(url)
        if cached is not None and cached[0] > now:
            self._certs.move_to_end(url)
            return cached[1]
        pem = await self._fetch(url)
        try:
            cert = x509.load_pem_x509_certificate(pem)
        except ValueError:
            raise WebhookRefused(403, "the SNS signing certificate is not PEM") from None
        wall = datetime.now(UTC)
        if not cert.not_valid_before_utc <= wall <= cert.not_valid_after_utc:
            raise WebhookRefused(403, "the SNS signing certificate is not valid now")
        key = cert.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise WebhookRefused(403, "the SNS signing certificate has no RSA key")
        self._certs[url] = (now + CERT_CACHE_SECONDS, key)
        while len(self._certs) > _CACHE_SIZE:
            self._certs.popitem(last=False)
        return key

    async def _fetch(self, url: str) -> bytes:
        try:
            async with (
                httpx.AsyncClient(
                    verify=self._context, timeout=self.timeout, follow_redirects=False
                ) as client,
                client.stream("GET", url) as response,
            ):
                if response.status_code != 200:
                    raise WebhookRefused(
                        403, f"fetching the SNS signing certificate: HTTP {response.status_code}"
                    )
                body = b""
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_CERT_BYTES:
                        raise WebhookRefused(403, "the SNS signing certificate is too large")
                return body
        except httpx.HTTPError as exc:
            raise WebhookRefused(
                403, f"fetching the SNS signing certificate failed: {type(exc).__name__}"
            ) from None

    async def confirm(self, subscribe_url: str) -> bool:
        """Confirm a subscription (GET its SubscribeURL, an allowed host only)."""
        if not self.allowed_url(subscribe_url):
            log.warning("SNS SubscribeURL on a host not allowed; subscription not confirmed")
            return False
        try:
            async with httpx.AsyncClient(
                verify=self._context, timeout=self.timeout, follow_redirects=False
            ) as client:
                response = await client.get(subscribe_url)
        except httpx.HTTPError as exc:
            log.warning("SNS subscription confirmation failed: %s", type(exc).__name__)
            return False
        if response.status_code != 200:
            log.warning("SNS subscription confirmation answered HTTP %d", response.status_code)
            return False
        return True
