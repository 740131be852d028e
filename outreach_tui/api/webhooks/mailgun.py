"""Mailgun webhooks: `signature.signature` is the hex HMAC-SHA256, under the webhook signing
key, of `signature.timestamp` followed by `signature.token`. The timestamp must be fresh and
a token is accepted once (Mailgun's own advice against replays)."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

from outreach_tui.api.webhooks.errors import WebhookRefused
from outreach_tui.api.webhooks.replay import ReplayGuard


def mailgun_signature(key: str, timestamp: str, token: str) -> str:
    return hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()


class MailgunVerifier:
    def __init__(self, signing_key: str, *, max_age_seconds: int, clock: Any = time.time) -> None:
        self.key = signing_key
        self.max_age = max_age_seconds
        self.clock = clock
        self.replays = ReplayGuard(max_age_seconds * 2)

    def verify(self, payload: Any) -> dict[str, Any]:
        """The payload's `event-data`, once its signature is verified."""
        block = payload.get("signature") if isinstance(payload, dict) else None
        if not isinstance(block, dict):
            raise WebhookRefused(401, "Mailgun event without a signature")
        timestamp, token, signature = (
            block.get("timestamp"), block.get("token"), block.get("signature"),
        )  # fmt: skip
        if not all(isinstance(v, str) and v for v in (timestamp, token, signature)):
            raise WebhookRefused(401, "Mailgun signature is incomplete")
        assert isinstance(timestamp, str) and isinstance(token, str) and isinstance(signature, str)
        try:
            sent = float(timestamp)
        except ValueError:
            raise WebhookRefused(401, "Mailgun timestamp is not a number") from None
        age = self.clock() - sent
        if abs(age) > self.max_age:
            raise WebhookRefused(403, f"Mailgun event is stale ({age:.0f} s old)")
        expected = mailgun_signature(self.key, timestamp, token)
        if not hmac.compare_digest(expected, signature.lower()):
            raise WebhookRefused(403, "Mailgun signature does not verify")
        if not self.replays.first_time(f"mailgun:{token}"):
            raise WebhookRefused(403, "Mailgun token was used already (replay)")
        data = payload.get("event-data")
        if not isinstance(data, dict):
            raise WebhookRefused(401, "Mailgun event without event-data")
        return data
