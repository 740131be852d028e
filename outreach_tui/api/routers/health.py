"""GET /health: no token; 503 when the database does not answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from outreach_tui.api.models.health import Health, OutboxHealth, ProcessBeat
from outreach_tui.api.routers.deps import engine
from outreach_tui.engine import Engine

router = APIRouter(tags=["health"])

#: A process whose heartbeat is older than this is not running the jobs any more.
STALE_SECONDS = 120.0


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "The database does not answer."}},
)
def health(eng: Annotated[Engine, Depends(engine)]) -> JSONResponse:
    """Whether the service can work: the database, the heartbeats of the processes running
    the engine's jobs, one-click unsubscribe's state, the webhook outbox's backlog."""
    # In the thread pool, unlike /policy/validate: a database that does not answer must not
    # stall the event loop while its connection times out.
    report = eng.automation.health()
    now = report.now
    beats = [
        ProcessBeat(
            kind=b.kind, host=b.host, pid=b.pid,
            heartbeat_age_seconds=round(max(0.0, (now - b.at).total_seconds()), 1),
        )
        for b in report.heartbeats
    ]  # fmt: skip
    # The processes that plan and send: workers and consoles (an API process heartbeats too,
    # but sends nothing).
    youngest = min((b.heartbeat_age_seconds for b in beats if b.kind != "api"), default=None)
    outbox = None
    if report.outbox is not None:
        oldest = report.outbox.oldest_pending
        outbox = OutboxHealth(
            pending=report.outbox.pending,
            abandoned=report.outbox.abandoned,
            oldest_pending_age_seconds=None if oldest is None else (now - oldest).total_seconds(),
        )
    if not report.database_ok:
        status = "down"
    elif youngest is None or youngest > STALE_SECONDS:
        status = "degraded"
    else:
        status = "ok"
    body = Health(
        status=status,
        service="outreach-tui",
        version=report.version,
        database="reachable" if report.database_ok else "unreachable",
        backend="postgresql" if report.backend == "postgresql" else "sqlite",
        now=now,
        scheduler_heartbeat_age_seconds=youngest,
        processes=beats,
        one_click_unsubscribe="on" if report.one_click else "off",
        one_click_detail=report.one_click_detail,
        webhooks=outbox,
    )
    return JSONResponse(
        body.model_dump(mode="json"), status_code=200 if report.database_ok else 503
    )
