"""/suppression (GET read or suppression; POST and DELETE suppression) and POST /leads,
POST /leads/enrichment (scope leads)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Query

from outreach_tui.api.auth import Caller, require
from outreach_tui.api.models.base import AUTH_RESPONSES
from outreach_tui.api.models.lists import (
    LeadsRequest,
    LeadsResult,
    RowError,
    SuppressionAdd,
    SuppressionChange,
    SuppressionEntry,
    SuppressionPage,
)
from outreach_tui.api.routers.deps import api_state
from outreach_tui.api.state import ApiState
from outreach_tui.core.addresses import normalize_address, normalize_domain
from outreach_tui.engine import LeadImportReport

router = APIRouter(responses=AUTH_RESPONSES)
State = Annotated[ApiState, Depends(api_state)]
Kind = Literal["address", "domain"]


@router.get("/suppression", response_model=SuppressionPage, tags=["suppression"])
def suppression_page(
    caller: Annotated[Caller, Depends(require("read", "suppression"))],
    state: State,
    after_id: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    search: Annotated[str, Query(max_length=320)] = "",
) -> SuppressionPage:
    """Entries in id order, a page at a time (`search`: whose value contains it)."""
    page = state.engine.queries.suppression(after_id=after_id, limit=limit, search=search)
    items = [
        SuppressionEntry(id=r.id, kind=r.kind, value=r.value, reason=r.reason,
                         source=r.source, created_at=r.created_at)
        for r in page.rows
    ]  # fmt: skip
    return SuppressionPage(items=items, next_after_id=items[-1].id if page.more and items else None)


@router.post("/suppression", response_model=SuppressionChange, tags=["suppression"])
def suppression_add(
    body: SuppressionAdd,
    caller: Annotated[Caller, Depends(require("suppression"))],
    state: State,
) -> SuppressionChange:
    """Suppress an address or a whole domain; its leads become suppressed (audited under
    the token's name). `changed` is False when it was suppressed already."""
    service = state.engine.automation.as_actor(caller.name).suppression
    kind, value = _entry(body.value, body.kind)
    added = service.add(
        value, kind=kind, reason=body.reason, source=body.source or f"api:{caller.name}"
    )
    return SuppressionChange(changed=added, kind=kind, value=value)


@router.delete("/suppression", response_model=SuppressionChange, tags=["suppression"])
def suppression_remove(
    caller: Annotated[Caller, Depends(require("suppression"))],
    state: State,
    value: Annotated[str, Query(min_length=1, max_length=320)],
    kind: Kind | None = None,
) -> SuppressionChange:
    """Remove an entry (audited); `changed` is False when it was not on the list."""
    service = state.engine.automation.as_actor(caller.name).suppression
    kind_, normalised = _entry(value, kind)
    return SuppressionChange(changed=service.remove(normalised, kind=kind_), kind=kind_,
                             value=normalised)  # fmt: skip


def _entry(value: str, kind: str | None) -> tuple[str, str]:
    value = value.strip()
    kind = kind or ("address" if "@" in value else "domain")
    return kind, normalize_address(value) if kind == "address" else normalize_domain(value)


# -- leads -------------------------------------------------------------------------------


def _report(report: LeadImportReport) -> LeadsResult:
    errors = []
    for line in report.errors:
        where, _, why = line.partition(": ")
        number = where.removeprefix("row ")
        errors.append(RowError(row=int(number) if number.isdigit() else 0, error=why))
    return LeadsResult(
        imported=report.imported, duplicates=report.duplicates_in_file,
        already_known=report.already_known, enrolled=report.enrolled,
        rejected=report.rejected, errors=errors,
    )  # fmt: skip


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@router.post("/leads", response_model=LeadsResult, tags=["leads"])
def post_leads(
    body: LeadsRequest,
    caller: Annotated[Caller, Depends(require("leads"))],
    state: State,
) -> LeadsResult:
    """Add leads through the same ingestion function, validation and per-row errors as
    `outreach-tui leads import`; with `campaign`, enrol them (once)."""
    api = state.settings.api
    if len(body.leads) > api.leads_max_rows:
        raise HTTPException(422, f"at most {api.leads_max_rows} leads per request")
    rows = [{str(k): _cell(v) for k, v in lead.items()} for lead in body.leads]
    report = state.engine.automation.ingest_leads(
        rows, campaign=body.campaign, source=f"api:{caller.name}", actor=caller.name
    )
    return _report(report)


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(inner, f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix] = value


def map_enrichment(item: dict[str, Any], field_map: dict[str, str]) -> dict[str, str]:
    """An enrichment tool's object as a lead row: `field_map`'s dotted paths onto lead
    fields, every other leaf kept under its dotted path (a custom field)."""
    flat: dict[str, Any] = {}
    _flatten(item, "", flat)
    row: dict[str, str] = {}
    for path, field in field_map.items():
        if path in flat and flat[path] not in (None, ""):
            row[field] = _cell(flat.pop(path))
    for path, value in flat.items():
        if path and path not in row:
            row[path] = _cell(value)
    return row


@router.post("/leads/enrichment", response_model=LeadsResult, tags=["leads"])
def post_enrichment(
    caller: Annotated[Caller, Depends(require("leads"))],
    state: State,
    payload: Annotated[
        dict[str, Any] | list[dict[str, Any]],
        Body(description="One enriched record (a JSON object) or a list of them."),
    ],
    campaign: Annotated[str | None, Query(max_length=200)] = None,
) -> LeadsResult:
    """An enrichment tool's webhook (Clay-style JSON): each object is mapped onto lead
    fields by `[api] lead_field_map` (e.g. "person.email" = "email"), then ingested exactly
    as POST /leads."""
    items = payload if isinstance(payload, list) else [payload]
    api = state.settings.api
    if not items or len(items) > api.leads_max_rows:
        raise HTTPException(422, f"between 1 and {api.leads_max_rows} records per request")
    rows = [map_enrichment(item, api.lead_field_map) for item in items]
    report = state.engine.automation.ingest_leads(
        rows, campaign=campaign, source=f"enrichment:{caller.name}", actor=caller.name
    )
    return _report(report)
