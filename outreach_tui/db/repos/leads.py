"""Leads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, select, update

from outreach_tui.core.region import domain_of
from outreach_tui.core.states import CampaignStatus, EnrollmentState, LeadStatus
from outreach_tui.db import tables as t
from outreach_tui.db.records import LeadRecord, columns
from outreach_tui.db.repos._sql import upsert
from outreach_tui.db.session import DriverStatement

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


def lead_by_email(conn: Connection, email: str) -> LeadRecord | None:
    """The lead with this (normalised) address, or None."""
    row = conn.execute(_LEAD_BY_EMAIL, {"email": email}).first()
    return None if row is None else LeadRecord(*row)


_LEAD_ID_BY_EMAIL = select(t.lead.c.id).where(t.lead.c.email == bindparam("email"))


def lead_id_by_email(conn: Connection, email: str) -> int | None:
    """The id of the lead with this (normalised) address, or None."""
    value = conn.execute(_LEAD_ID_BY_EMAIL, {"email": email}).scalar()
    return None if value is None else int(value)


_LEAD_IDS_BY_EMAIL = select(t.lead.c.id, t.lead.c.email).where(
    t.lead.c.email.in_(bindparam("values", expanding=True))
)


def lead_ids_by_email(conn: Connection, emails: list[str]) -> dict[str, int]:
    """The ids of the leads with these (normalised) addresses; absent ones are left out."""
    return {
        str(email): int(id_) for id_, email in conn.execute(_LEAD_IDS_BY_EMAIL, {"values": emails})
    }


# A WHERE parameter of an UPDATE is never named after a column (SQLAlchemy reserves those
# names for the SET clause).
_SET_STATUS_UNLESS_FINAL = DriverStatement(
    update(t.lead)
    .where(
        t.lead.c.email == bindparam("for_email"),
        and_(*(t.lead.c.status != s.value for s in LeadStatus if s.final)),
    )
    .values(status=bindparam("status"), updated_at=bindparam("updated_at"))
)


def set_status_unless_final(conn: Connection, email: str, status: LeadStatus, at: datetime) -> None:
    """The lead with this address gets `status`, unless its status is already final."""
    _SET_STATUS_UNLESS_FINAL.execute(
        conn, {"for_email": email, "status": status.value, "updated_at": at}
    )


_UNDONE_STATUSES = (LeadStatus.UNSUBSCRIBED, LeadStatus.SUPPRESSED, LeadStatus.BOUNCED)
_UNDO_FINAL_STATUS = (
    update(t.lead)
    .where(
        t.lead.c.email == bindparam("for_email"),
        t.lead.c.status.in_([s.value for s in _UNDONE_STATUSES]),
    )
    .values(status=bindparam("status"), updated_at=bindparam("updated_at"))
)


def undo_final_status(conn: Connection, email: str, status: LeadStatus, at: datetime) -> None:
    """A lead unsubscribed, suppressed or bounced by mistake gets `status` back (a reply the
    operator relabelled)."""
    conn.execute(_UNDO_FINAL_STATUS, {"for_email": email, "status": status.value, "updated_at": at})


# After a final 250: a `new` lead becomes `contacted` (a statement of every send).
_CONTACTED = DriverStatement(
    update(t.lead)
    .where(t.lead.c.id == bindparam("lead_id"), t.lead.c.status == LeadStatus.NEW.value)
    .values(status=bindparam("status"), updated_at=bindparam("updated_at"))
)


def mark_contacted(conn: Connection, lead_id: int, at: datetime) -> None:
    """A `new` lead is `contacted` (a lead further along keeps its status)."""
    _CONTACTED.execute(
        conn, {"lead_id": lead_id, "status": LeadStatus.CONTACTED.value, "updated_at": at}
    )


_BOUNCED = (
    update(t.lead)
    .where(t.lead.c.id == bindparam("lead_id"))
    .values(status=LeadStatus.BOUNCED.value, updated_at=bindparam("updated_at"))
)


def mark_bounced(conn: Connection, lead_id: int, at: datetime) -> None:
    """The server rejected the lead's address (a hard bounce)."""
    conn.execute(_BOUNCED, {"lead_id": lead_id, "updated_at": at})


_STATUS_BY_EMAIL = select(t.lead.c.status).where(t.lead.c.email == bindparam("email"))


def lead_status_by_email(conn: Connection, email: str) -> str | None:
    """The status of the lead with this (normalised) address, or None when there is none."""
    value = conn.execute(_STATUS_BY_EMAIL, {"email": email}).scalar()
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True)
class LeadStanding:
    """A lead's domain and status: what stopping its sequences needs."""

    id: int
    domain: str
    status: str


# Prebuilt: the reply poller and the dispatcher stop a lead for nearly every message.
_STANDING = DriverStatement(
    select(t.lead.c.id, t.lead.c.domain, t.lead.c.status).where(t.lead.c.id == bindparam("lead_id"))
)
_SET_STATUS = DriverStatement(
    update(t.lead)
    .where(t.lead.c.id == bindparam("lead_id"))
    .values(status=bindparam("status"), updated_at=bindparam("updated_at"))
)


def lead_standing(conn: Connection, lead_id: int) -> LeadStanding | None:
    row = _STANDING.execute(conn, {"lead_id": lead_id}).first()
    return None if row is None else LeadStanding(int(row.id), str(row.domain), str(row.status))


def set_lead_status(conn: Connection, lead_id: int, status: str, at: datetime) -> None:
    _SET_STATUS.execute(conn, {"lead_id": lead_id, "status": status, "updated_at": at})


# -- lead import, listing, verification, suppression ---------------------------------------

_MAX_LEAD_ID = select(func.coalesce(func.max(t.lead.c.id), 0))


def max_lead_id(conn: Connection) -> int:
    """The highest lead id so far (0 without leads): later leads have higher ids."""
    return int(conn.execute(_MAX_LEAD_ID).scalar() or 0)


_PAGE = (
    select(*_LEAD_COLUMNS)
    .order_by(t.lead.c.id)
    .offset(bindparam("offset"))
    .limit(bindparam("limit"))
)
_PAGE_OF_STATUS = _PAGE.where(t.lead.c.status == bindparam("status"))


def leads_page(
    conn: Connection, *, status: str | None, limit: int, offset: int
) -> list[LeadRecord]:
    """Leads in id order (only those with `status`, when given), a page at a time."""
    stmt = _PAGE_OF_STATUS if status else _PAGE
    params = {"offset": offset, "limit": limit, "status": status}
    return [LeadRecord(*row) for row in conn.execute(stmt, params)]


@dataclass(frozen=True, slots=True)
class LeadToVerify:
    id: int
    email: str


def _to_verify(by_name: bool, limited: bool) -> Any:
    enrolled = (
        select(t.campaign_lead.c.lead_id)
        .join(t.campaign, t.campaign.c.id == t.campaign_lead.c.campaign_id)
        .where(
            t.campaign_lead.c.state == EnrollmentState.ACTIVE.value,
            t.campaign.c.name == bindparam("campaign")
            if by_name
            else t.campaign.c.status == CampaignStatus.ACTIVE.value,
        )
    )
    query = (
        select(t.lead.c.id, t.lead.c.email)
        .where(t.lead.c.health.is_(None))
        .where(t.lead.c.id.in_(enrolled))
        .order_by(t.lead.c.id)
    )
    return query.limit(bindparam("limit")) if limited else query


_TO_VERIFY = {(n, lim): _to_verify(n, lim) for n in (False, True) for lim in (False, True)}


def leads_to_verify(
    conn: Connection, *, campaign: str | None, limit: int | None
) -> list[LeadToVerify]:
    """Leads not verified yet (`health` NULL) with an active enrollment in an active
    campaign (or in the campaign named), oldest first."""
    stmt = _TO_VERIFY[(campaign is not None, limit is not None)]
    params = {"campaign": campaign, "limit": limit}
    return [LeadToVerify(int(id_), str(email)) for id_, email in conn.execute(stmt, params)]


@dataclass(frozen=True, slots=True)
class LeadVerification:
    """A verifier's verdict on one lead."""

    lead_id: int
    status: str
    score: int
    health: str


_VERIFIED = update(t.lead).where(t.lead.c.id == bindparam("where_id"))


def record_verifications(
    conn: Connection, verdicts: Sequence[LeadVerification], at: datetime
) -> None:
    """Write each lead's verification status, score and health, verified `at`."""
    conn.execute(
        _VERIFIED,
        [
            {"where_id": v.lead_id, "verification_status": v.status,
             "verification_score": v.score, "health": v.health, "verified_at": at,
             "updated_at": at}
            for v in verdicts
        ],
    )  # fmt: skip


_SUPPRESSIBLE = [LeadStatus.NEW.value, LeadStatus.CONTACTED.value]
_SUPPRESS_LEADS = {
    kind: update(t.lead)
    .where(column == bindparam("where_value"), t.lead.c.status.in_(_SUPPRESSIBLE))
    .values(status=LeadStatus.SUPPRESSED.value)
    for kind, column in (("address", t.lead.c.email), ("domain", t.lead.c.domain))
}


def mark_leads_suppressed(conn: Connection, *, kind: str, value: str, at: datetime) -> None:
    """The leads at a new suppression entry (an address, or a whole domain) that are new or
    contacted become suppressed."""
    conn.execute(_SUPPRESS_LEADS[kind], {"where_value": value, "updated_at": at})
