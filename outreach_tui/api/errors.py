"""Error responses. A request the models refuse is a 422 that names the field (`loc`) and
says what is wrong (`msg`), without echoing the value (it may be a secret); an engine
`InputError` is a 422 with its sentence; anything unexpected is a 500 that says only that,
its traceback kept for the log."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from outreach_tui.core.errors import InputError, OutreachError

log = logging.getLogger("outreach_tui.api")


def _clean(errors: list[Any]) -> list[dict[str, Any]]:
    out = []
    for err in errors[:50]:
        loc = [part if isinstance(part, int | str) else str(part) for part in err.get("loc", ())]
        out.append({"loc": loc, "msg": str(err.get("msg", ""))[:300], "type": err.get("type")})
    return out


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": _clean(list(exc.errors()))}, status_code=422)


async def input_error(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)[:1000]}, status_code=422)


async def outreach_error(request: Request, exc: Exception) -> JSONResponse:
    log.info("request refused: %s", exc)
    return JSONResponse({"detail": str(exc)[:1000]}, status_code=400)


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error answering %s %s", request.method, request.url.path)
    return JSONResponse({"detail": "internal error (details in the server's log)"}, 500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(InputError, input_error)
    app.add_exception_handler(OutreachError, outreach_error)
    app.add_exception_handler(Exception, unexpected_error)
