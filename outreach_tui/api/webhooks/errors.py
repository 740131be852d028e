"""Why a provider request was refused: a status and a short reason (logged; the response
says only the status's generic words)."""

from __future__ import annotations


class WebhookRefused(Exception):
    """401: no usable signature (missing, malformed); 403: a signature that does not verify,
    a stale or replayed one, or a sender not allowed."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
