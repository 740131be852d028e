"""The suppression list and lead ingestion."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from outreach_tui.api.models.base import Out, Strict

#: A lead's field value as JSON may carry it.
Scalar = str | int | float | bool | None


class SuppressionEntry(Out):
    """An address or a whole domain that is never written to."""

    id: int
    kind: Literal["address", "domain"]
    value: str
    reason: str
    source: str
    """Where it came from: manual, api:<token>, one-click, reply:<id>, import:<file>, ..."""
    created_at: datetime


class SuppressionPage(Out):
    """A page of entries in id order."""

    items: list[SuppressionEntry]
    next_after_id: int | None
    """Pass it as `after_id` for the next page (None: this was the last)."""


class SuppressionAdd(Strict):
    """Suppress an address or a domain (audited under the token's name)."""

    value: str = Field(min_length=1, max_length=320, description="An address or a domain.")
    kind: Literal["address", "domain"] | None = Field(
        None, description="Default: address when the value has an @, else domain."
    )
    reason: str = Field("", max_length=300, description="Why (kept with the entry).")
    source: str | None = Field(
        None, max_length=100, description="Where it came from (default: api:<token name>)."
    )


class SuppressionChange(Out):
    """What an add or a removal did."""

    changed: bool
    """True when the entry was added (or removed); False when it already was (or was not)."""
    kind: str
    value: str


class LeadsRequest(Strict):
    """Leads to add: the same fields and checks as a CSV for `leads import` (email,
    first_name, last_name, company, website, timezone; other fields are kept as custom
    fields). Known addresses are counted, not changed: posting a lead twice is harmless."""

    leads: list[dict[str, Scalar]] = Field(min_length=1, description="One object per lead.")
    campaign: str | None = Field(
        None, max_length=200, description="Also enrol every lead in this campaign."
    )


class RowError(Out):
    """A lead that was refused, and why."""

    row: int
    """Its position in the request, from 1."""
    error: str


class LeadsResult(Out):
    """What the ingestion did (the fields of `leads import`'s summary)."""

    imported: int
    duplicates: int
    """Repeats of an address within the request."""
    already_known: int
    enrolled: int
    rejected: int
    errors: list[RowError]
