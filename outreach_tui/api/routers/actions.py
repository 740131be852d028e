"""The console's actions (scope write), audited under the token's name: pause and resume a
campaign, a mailbox, a sending domain; approve and reject sends waiting for approval."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path

from outreach_tui.api.auth import Caller, require
from outreach_tui.api.models.actions import AttemptIds, Changed, Decided, Reason
from outreach_tui.api.models.base import AUTH_RESPONSES, Problem
from outreach_tui.api.routers.deps import engine
from outreach_tui.core.errors import InputError
from outreach_tui.core.states import CampaignStatus
from outreach_tui.engine import ActorServices, Engine

router = APIRouter(
    tags=["actions"],
    responses={**AUTH_RESPONSES, 404: {"model": Problem, "description": "No such thing."}},
)
Writer = Annotated[Caller, Depends(require("write"))]
Eng = Annotated[Engine, Depends(engine)]
Verb = Literal["pause", "resume"]
Id = Annotated[int, Path(ge=1, le=2**62)]


def _as(eng: Engine, caller: Caller) -> ActorServices:
    return eng.automation.as_actor(caller.name)


@router.post("/campaigns/{name}/{verb}", response_model=Changed)
def campaign_status(name: str, verb: Verb, caller: Writer, eng: Eng,
                    body: Reason | None = None) -> Changed:  # fmt: skip
    """Pause or resume a campaign (progress is kept: a resume never restarts the list)."""
    status = CampaignStatus.PAUSED if verb == "pause" else CampaignStatus.ACTIVE
    try:
        changed = _as(eng, caller).campaigns.set_status(
            name, status, reason=body.reason if body else ""
        )
    except InputError as exc:
        raise HTTPException(404, str(exc)) from None
    return Changed(changed=changed)


@router.post("/mailboxes/{mailbox_id}/{verb}", response_model=Changed)
def mailbox_status(mailbox_id: Id, verb: Verb, caller: Writer, eng: Eng,
                   body: Reason | None = None) -> Changed:  # fmt: skip
    """Pause a mailbox (out of rotation), or resume it straight to HEALTHY."""
    actions = _as(eng, caller).actions
    try:
        if verb == "pause":
            reason = (body.reason if body else "") or f"paused by {caller.name}"
            return Changed(changed=actions.pause_mailbox(mailbox_id, reason))
        return Changed(changed=actions.resume_mailbox(mailbox_id))
    except InputError as exc:
        raise HTTPException(404, str(exc)) from None


@router.post("/domains/{domain_id}/{verb}", response_model=Changed)
def domain_status(domain_id: Id, verb: Verb, caller: Writer, eng: Eng,
                  body: Reason | None = None) -> Changed:  # fmt: skip
    """Pause or resume a sending domain (every mailbox on it)."""
    try:
        changed = _as(eng, caller).actions.set_domain_paused(
            domain_id, verb == "pause", body.reason if body else ""
        )
    except InputError as exc:
        raise HTTPException(404, str(exc)) from None
    return Changed(changed=changed)


@router.post("/attempts/approve", response_model=Decided)
def approve(body: AttemptIds, caller: Writer, eng: Eng) -> Decided:
    """Approve sends waiting for approval; the count of those still waiting."""
    return Decided(count=_as(eng, caller).approvals.approve(body.ids))


@router.post("/attempts/reject", response_model=Decided)
def reject(body: AttemptIds, caller: Writer, eng: Eng) -> Decided:
    """Reject sends waiting for approval; the lead's sequence in that campaign stops."""
    return Decided(count=_as(eng, caller).approvals.reject(body.ids, body.reason))
