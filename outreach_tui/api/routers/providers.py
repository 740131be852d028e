"""Provider event webhooks, no token: each request's signature is verified
(outreach_tui/api/webhooks/) before anything in it is believed; unsigned, stale, replayed or
forged requests are refused with 401/403 and logged, never applied.

    POST /webhooks/ses        Amazon SES notifications through Amazon SNS (and the SNS
                              subscription confirmation)
    POST /webhooks/sendgrid   SendGrid's signed Event Webhook
    POST /webhooks/mailgun    Mailgun's webhooks
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from outreach_tui.api.models.base import Problem
from outreach_tui.api.models.misc import ProviderResult, SubscriptionResult
from outreach_tui.api.routers.deps import api_state
from outreach_tui.api.state import ApiState
from outreach_tui.api.webhooks.errors import WebhookRefused
from outreach_tui.api.webhooks.sendgrid import SIGNATURE_HEADER, TIMESTAMP_HEADER
from outreach_tui.core.provider_events import (
    ProviderEvent,
    mailgun_events,
    sendgrid_events,
    ses_events,
)

log = logging.getLogger("outreach_tui.api")
router = APIRouter(
    prefix="/webhooks",
    tags=["provider webhooks"],
    responses={
        401: {"model": Problem, "description": "Unsigned, or not the provider's format."},
        403: {"model": Problem, "description": "Forged, stale, replayed, or not allowed."},
        413: {"model": Problem, "description": "The body is larger than the limit."},
    },
)
State = Annotated[ApiState, Depends(api_state)]
_WORDS = {401: "unsigned request refused", 403: "request refused"}


def _refused(provider: str, exc: WebhookRefused, request: Request) -> JSONResponse:
    client = request.client.host if request.client else "?"
    log.warning("%s webhook from %s refused (%d): %s", provider, client, exc.status, exc.reason)
    return JSONResponse({"detail": _WORDS.get(exc.status, "refused")}, status_code=exc.status)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise WebhookRefused(401, "the body is not JSON") from None


async def _apply(state: ApiState, events: list[ProviderEvent]) -> ProviderResult:
    outcome = await run_in_threadpool(state.engine.automation.apply_provider_events, events)
    return ProviderResult(received=outcome.received, applied=outcome.applied,
                          duplicates=outcome.duplicates, unmatched=outcome.unmatched)  # fmt: skip


@router.post("/ses", response_model=ProviderResult | SubscriptionResult)
async def ses(request: Request, state: State) -> Any:
    """An SNS message (its body is JSON sent as text/plain): a Notification carrying an SES
    bounce, complaint or delivery, or a SubscriptionConfirmation (confirmed when
    `[esp] sns_confirm_subscriptions`)."""
    try:
        message = await state.sns().verify(_json(await request.body()))
    except WebhookRefused as exc:
        return _refused("SNS", exc, request)
    if message.type == "SubscriptionConfirmation":
        confirmed = False
        if state.settings.esp.sns_confirm_subscriptions and message.subscribe_url:
            confirmed = await state.sns().confirm(message.subscribe_url)
        log.info("SNS subscription to %s: confirmed=%s", message.topic_arn, confirmed)
        return SubscriptionResult(confirmed=confirmed)
    if message.type != "Notification":
        return ProviderResult(received=0, applied=0, duplicates=0, unmatched=0)
    return await _apply(state, ses_events(message.message))


@router.post("/sendgrid", response_model=ProviderResult)
async def sendgrid(request: Request, state: State) -> Any:
    """A batch of SendGrid events (a JSON array), signed with ECDSA."""
    body = await request.body()
    try:
        state.sendgrid().verify(
            body, request.headers.get(SIGNATURE_HEADER), request.headers.get(TIMESTAMP_HEADER)
        )
        payload = _json(body)
    except WebhookRefused as exc:
        return _refused("SendGrid", exc, request)
    return await _apply(state, sendgrid_events(payload))


@router.post("/mailgun", response_model=ProviderResult)
async def mailgun(request: Request, state: State) -> Any:
    """One Mailgun event (JSON: `signature` and `event-data`), signed with HMAC-SHA256."""
    try:
        data = state.mailgun().verify(_json(await request.body()))
    except WebhookRefused as exc:
        return _refused("Mailgun", exc, request)
    return await _apply(state, mailgun_events(data))
