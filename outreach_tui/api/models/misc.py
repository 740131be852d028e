"""Telegram, one-click unsubscribe and the provider webhooks."""

from __future__ import annotations

from pydantic import Field

from outreach_tui.api.models.base import Out, Strict


class TelegramMessage(Strict):
    """A message for the operator's Telegram chat (the alert channel of [alerts])."""

    message: str = Field(min_length=1, max_length=4096)


class TelegramResult(Out):
    """Whether Telegram took it, after the alert channel's retries."""

    delivered: bool
    tries: int
    detail: str
    """Why not, when it was not (never the token)."""


class ProviderResult(Out):
    """What a provider's verified events did."""

    received: int
    applied: int
    duplicates: int
    """Events applied before (a provider's retry)."""
    unmatched: int
    """Events about nothing of ours, and that did nothing."""


class SubscriptionResult(Out):
    """An SNS subscription confirmation."""

    confirmed: bool
