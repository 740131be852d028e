"""POST /policy/validate, POST /validate and GET /validate/{job} (scope validate)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import JSONResponse

from outreach_tui.api.auth import Caller, require
from outreach_tui.api.models.base import AUTH_RESPONSES, Problem
from outreach_tui.api.models.checks import (
    PolicyRequest,
    PolicyResult,
    ValidateJob,
    ValidateJobStarted,
    ValidateRequest,
    ValidateResponse,
    ValidationResult,
)
from outreach_tui.api.routers.deps import api_state
from outreach_tui.api.state import ApiState
from outreach_tui.core.addresses import normalize_address
from outreach_tui.engine import collect

router = APIRouter(tags=["checks"], responses=AUTH_RESPONSES)
Validator = Annotated[Caller, Depends(require("validate"))]
State = Annotated[ApiState, Depends(api_state)]


@router.post("/policy/validate", response_model=PolicyResult)
async def policy_validate(
    body: PolicyRequest, caller: Validator, state: State
) -> dict[str, object]:
    """The send policy's decision for this sender, recipient and subject now: caps, the
    suppression list, pauses, idempotency, the legal basis by region."""
    # On the event loop, not the thread pool: the decision is one indexed read of well under
    # a millisecond, and handing it to a thread costs more (the GIL's switch interval is
    # 5 ms) than it ever blocks the loop: p99 at 200 requests/s (bench/api.py).
    recipient = normalize_address(body.to)
    sender = normalize_address(body.from_)
    return state.engine.automation.check_policy(sender, recipient, body.subject).as_dict()


def _result(r: Any) -> ValidationResult:
    return ValidationResult(
        email=r.email, status=r.status.value, valid=r.status.value == "VALID",
        details=r.detail, mx_host=r.mx_host, smtp_code=r.smtp_code, score=r.score,
        health=r.health.value,
    )  # fmt: skip


@router.post(
    "/validate",
    response_model=ValidateResponse,
    responses={
        202: {"model": ValidateJobStarted, "description": "A long list: a job was started."},
        503: {"model": Problem, "description": "Too many validate jobs are running."},
    },
)
async def validate(body: ValidateRequest, caller: Validator, state: State) -> Any:
    """Verify addresses. Up to `[api] validate_inline_max` are answered at once; a longer
    list becomes a job (202, then GET /validate/{job})."""
    api = state.settings.api
    if len(body.emails) > api.validate_max_emails:
        raise HTTPException(422, f"at most {api.validate_max_emails} addresses per request")
    automation = state.engine.automation

    def factory() -> Any:
        return automation.verifier(smtp=body.smtp, rate_limit=body.rate_limit)

    if len(body.emails) <= api.validate_inline_max:
        verifier = factory()
        try:
            found = {r.email: r for r in await collect(verifier, body.emails)}
        finally:
            await verifier.aclose()
        results = [_result(found[e.strip()]) for e in body.emails if e.strip() in found]
        return ValidateResponse(total=len(body.emails), results=results)
    job = state.jobs.start(list(body.emails), factory)
    if job is None:
        raise HTTPException(503, "too many validate jobs are running; try again later")
    started = ValidateJobStarted(job=job.id, total=job.total, status_url=f"/validate/{job.id}")
    return JSONResponse(started.model_dump(), status_code=202)


@router.get(
    "/validate/{job}",
    response_model=ValidateJob,
    responses={404: {"model": Problem, "description": "No such job (or forgotten)."}},
)
def validate_job(
    job: str,
    caller: Validator,
    state: State,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ValidateJob:
    """A job's progress and a page of its results, in the order the addresses were given
    (a page stops at the first address still being verified)."""
    found = state.jobs.get(job)
    if found is None:
        raise HTTPException(404, "no such validate job")
    page = []
    for r in found.results[offset : offset + limit]:
        if r is None:
            break
        page.append(_result(r))
    end = offset + len(page)
    return ValidateJob(
        job=found.id, status=found.status, total=found.total, done=found.done,
        results=page, next_offset=end if end < found.total else None,
    )  # fmt: skip
