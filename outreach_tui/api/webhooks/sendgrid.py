"""SendGrid's signed Event Webhook: an ECDSA (P-256, SHA-256) signature over the timestamp
header's text followed by the raw request body, checked with the verification key from
SendGrid's mail settings (base64 DER SubjectPublicKeyInfo, or PEM). Headers:
`X-Twilio-Email-Event-Webhook-Signature` (base64 DER signature) and
`X-Twilio-Email-Event-Webhook-Timestamp` (Unix seconds)."""

from __future__ import annotations

import base64
import binascii
import time
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from outreach_tui.api.webhooks.errors import WebhookRefused
from outreach_tui.api.webhooks.replay import ReplayGuard

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"


def load_public_key(text: str) -> ec.EllipticCurvePublicKey:
    """The verification key: PEM, or the base64 DER SendGrid shows."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
        else:
            key = serialization.load_der_public_key(base64.b64decode(text, validate=True))
    except (ValueError, binascii.Error, TypeError) as exc:
        raise ValueError(f"not an EC public key: {type(exc).__name__}") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("not an EC public key")
    return key


class SendGridVerifier:
    def __init__(self, public_key: str, *, max_age_seconds: int, clock: Any = time.time) -> None:
        self.key = load_public_key(public_key)
        self.max_age = max_age_seconds
        self.clock = clock
        self.replays = ReplayGuard(max_age_seconds * 2)

    def verify(self, body: bytes, signature: str | None, timestamp: str | None) -> None:
        """Raises `WebhookRefused` unless `body` carries a fresh, valid, first-seen signature."""
        if not signature or not timestamp:
            raise WebhookRefused(401, "SendGrid event without signature headers")
        try:
            raw = base64.b64decode(signature, validate=True)
            sent = int(timestamp)
        except (binascii.Error, ValueError):
            raise WebhookRefused(401, "SendGrid signature headers are malformed") from None
        age = self.clock() - sent
        if abs(age) > self.max_age:
            raise WebhookRefused(403, f"SendGrid event is stale ({age:.0f} s old)")
        try:
            self.key.verify(raw, timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise WebhookRefused(403, "SendGrid signature does not verify") from None
        if not self.replays.first_time(f"sendgrid:{signature}"):
            raise WebhookRefused(403, "SendGrid event was seen already (replay)")
