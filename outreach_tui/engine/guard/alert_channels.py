"""Where alerts go besides the console: Telegram (Bot API sendMessage) and a Slack incoming
webhook, each with the same retry rules.

Retries: up to `[alerts] retries` after the first try, waiting `backoff_seconds` times 1, 2, 4
(2 s, 4 s, 8 s by default); a 429 waits at least what the server asked (Telegram's
`parameters.retry_after`, or a Retry-After header); 5xx and network errors are retried;
any other 4xx gives up at once (a wrong token does not get better by asking again).

The token and the webhook URL are secrets: they appear in no log line, no event and no
error text; the channel is named instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from outreach_tui.config import AlertsSettings
from outreach_tui.core.errors import ConfigError
from outreach_tui.secrets import resolve_secret

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
TELEGRAM_MAX_TEXT = 4096


class DeliveryFailed(Exception):
    """One try failed; `retryable` says whether another may succeed."""

    def __init__(self, detail: str, *, retryable: bool, retry_after: float | None = None):
        super().__init__(detail)
        self.detail = detail
        self.retryable = retryable
        self.retry_after = retry_after


@dataclass(frozen=True)
class DeliveryResult:
    channel: str
    delivered: bool
    tries: int
    detail: str = ""
    waits: tuple[float, ...] = ()


def _retry_after(response: httpx.Response) -> float | None:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        params = body.get("parameters")
        if isinstance(params, dict) and isinstance(params.get("retry_after"), int | float):
            return float(params["retry_after"])
    header = response.headers.get("retry-after")
    if header is not None:
        try:
            return float(header)
        except ValueError:
            return None
    return None


def _check(response: httpx.Response) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    if status == 429:
        raise DeliveryFailed(
            "HTTP 429 (rate limited)", retryable=True, retry_after=_retry_after(response)
        )
    if status >= 500:
        raise DeliveryFailed(f"HTTP {status}", retryable=True)
    raise DeliveryFailed(f"HTTP {status}", retryable=False)


class Channel:
    """A destination; `post` makes one try and raises `DeliveryFailed`."""

    name = "channel"

    def __init__(self, min_severity: str) -> None:
        self.min_severity = min_severity

    def wants(self, severity: str) -> bool:
        return SEVERITY_RANK.get(severity, 0) >= SEVERITY_RANK[self.min_severity]

    async def post(self, client: httpx.AsyncClient, text: str) -> None:
        raise NotImplementedError


class TelegramChannel(Channel):
    name = "telegram"

    def __init__(self, settings: AlertsSettings) -> None:
        super().__init__(settings.telegram_min_severity)
        self.token_ref = settings.telegram_bot_token or ""
        self.chat_ref = settings.telegram_chat_id or ""
        self.api_base = settings.telegram_api_base.rstrip("/")

    async def post(self, client: httpx.AsyncClient, text: str) -> None:
        # Resolved per delivery: a rotated token is picked up, and the value is registered
        # with the log redactor before any request can be logged.
        token = resolve_secret(self.token_ref, key="alerts.telegram_bot_token")
        chat_id = resolve_secret(self.chat_ref, key="alerts.telegram_chat_id")
        try:
            response = await client.post(
                f"{self.api_base}/bot{token}/sendMessage",
                json={
                    "chat_id": chat_id,
                    "text": text[:TELEGRAM_MAX_TEXT],
                    "disable_web_page_preview": True,
                },
            )
        except httpx.HTTPError as exc:
            # The exception text may carry the URL (and so the token): name the type only.
            raise DeliveryFailed(type(exc).__name__, retryable=True) from None
        _check(response)


class SlackChannel(Channel):
    name = "slack"

    def __init__(self, settings: AlertsSettings) -> None:
        super().__init__(settings.slack_min_severity)
        self.url_ref = settings.slack_webhook_url or ""

    async def post(self, client: httpx.AsyncClient, text: str) -> None:
        url = resolve_secret(self.url_ref, key="alerts.slack_webhook_url")
        try:
            response = await client.post(url, json={"text": text})
        except httpx.HTTPError as exc:
            raise DeliveryFailed(type(exc).__name__, retryable=True) from None
        _check(response)


def configured_channels(settings: AlertsSettings) -> list[Channel]:
    channels: list[Channel] = []
    if settings.telegram_bot_token and settings.telegram_chat_id:
        channels.append(TelegramChannel(settings))
    if settings.slack_webhook_url:
        channels.append(SlackChannel(settings))
    return channels


async def deliver(
    channel: Channel,
    text: str,
    settings: AlertsSettings,
    *,
    sleep: Sleep = asyncio.sleep,
    transport: httpx.AsyncBaseTransport | None = None,
) -> DeliveryResult:
    """Try `channel` until it takes `text` or the retries run out; never raises."""
    waits: list[float] = []
    detail = ""
    tries = 0
    kwargs: dict[str, Any] = {"timeout": settings.timeout_seconds}
    if transport is not None:
        kwargs["transport"] = transport
    async with httpx.AsyncClient(**kwargs) as client:
        for attempt in range(settings.retries + 1):
            tries = attempt + 1
            try:
                await channel.post(client, text)
            except DeliveryFailed as exc:
                detail = exc.detail
                log.warning(
                    "alert delivery to %s failed (try %d of %d): %s",
                    channel.name,
                    tries,
                    settings.retries + 1,
                    exc.detail,
                )
                if not exc.retryable or attempt == settings.retries:
                    break
                wait = settings.backoff_seconds * 2**attempt
                if exc.retry_after is not None:
                    if exc.retry_after > settings.max_retry_after_seconds:
                        detail += f", asked to wait {exc.retry_after:g} s"
                        break
                    wait = max(wait, exc.retry_after)
                waits.append(wait)
                await sleep(wait)
            except Exception as exc:  # a secret that does not resolve, a bug: never the caller's
                # ConfigError names the key and the variable, never the value.
                detail = str(exc) if isinstance(exc, ConfigError) else type(exc).__name__
                log.warning("alert delivery to %s failed: %s", channel.name, detail)
                break
            else:
                log.info("alert delivered to %s (try %d)", channel.name, tries)
                return DeliveryResult(channel.name, True, tries, "", tuple(waits))
    return DeliveryResult(channel.name, False, tries, detail, tuple(waits))
