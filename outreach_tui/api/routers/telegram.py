"""POST /telegram/send (scope telegram): a message through the alert channel's retry rules."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import JSONResponse

from outreach_tui.api.auth import Caller, require
from outreach_tui.api.models.base import AUTH_RESPONSES, Problem
from outreach_tui.api.models.misc import TelegramMessage, TelegramResult
from outreach_tui.api.routers.deps import engine
from outreach_tui.engine import Engine

router = APIRouter(tags=["telegram"], responses=AUTH_RESPONSES)


@router.post(
    "/telegram/send",
    response_model=TelegramResult,
    responses={
        409: {"model": Problem, "description": "Telegram is not configured ([alerts])."},
        502: {"model": TelegramResult, "description": "Telegram did not take it."},
    },
)
async def telegram_send(
    body: TelegramMessage,
    caller: Annotated[Caller, Depends(require("telegram"))],
    eng: Annotated[Engine, Depends(engine)],
) -> JSONResponse:
    """Send `message` to the operator's Telegram chat: retried on 429, 5xx and network
    errors with the alert channel's backoff ([alerts] retries, backoff_seconds)."""
    automation = eng.automation
    if not automation.telegram_configured():
        raise HTTPException(409, "Telegram is not configured ([alerts] telegram_bot_token)")
    result = await automation.send_telegram(body.message)
    out = TelegramResult(delivered=result.delivered, tries=result.tries, detail=result.detail)
    return JSONResponse(out.model_dump(), status_code=200 if result.delivered else 502)
