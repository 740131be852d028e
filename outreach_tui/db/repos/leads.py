"""Leads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from outreach_tui.core.region import domain_of
from outreach_tui.db import tables as t
from outreach_tui.db.records import LeadRecord, columns
from outreach_tui.db.repos._sql import upsert

_LEAD_COLUMNS = columns(LeadRecord, t.lead)
_LEAD_BY_EMAIL = select(*_LEAD_COLUMNS).where(t.lead.c.email == bindparam("email"))
_LEAD_CREATE: dict[str, Any] = {}


def get_or_create_lead(conn: Connection, email: str, *, source: str, at: datetime) -> LeadRecord:
    """The lead with this address, created (status `new`) if there is none.

    One statement for a new lead: INSERT ... ON CONFLICT (email) DO NOTHING RETURNING the
    row; an existing lead returns nothing there and is read by its address.
    """
    email = email.strip().lower()
    stmt = _LEAD_CREATE.get(conn.dialect.name)
    if stmt is None:
        stmt = (
            upsert(conn, t.lead)
            .on_conflict_do_nothing(index_elements=["email"])
            .returning(*_LEAD_COLUMNS)
        )
        _LEAD_CREATE[conn.dialect.name] = stmt
    created = conn.execute(
        stmt,
        {"email": email, "domain": domain_of(email), "status": "new", "source": source,
         "created_at": at},
    ).first()  # fmt: skip
    if created is not None:
        return LeadRecord(*created)
    row = conn.execute(_LEAD_BY_EMAIL, {"email": email}).one()
    return LeadRecord(*row)


_LEAD_ID_BY_EMAIL = select(t.lead.c.id).where(t.lead.c.email == bindparam("email"))


def lead_id_by_email(conn: Connection, email: str) -> int | None:
    """The id of the lead with this (normalised) address, or None."""
    value = conn.execute(_LEAD_ID_BY_EMAIL, {"email": email}).scalar()
    return None if value is None else int(value)
