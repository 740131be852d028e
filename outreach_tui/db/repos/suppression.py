"""The suppression list: addresses and whole domains (a domain covers its subdomains)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, and_, insert, or_, select

from outreach_tui.core.region import domain_of, parent_domains
from outreach_tui.db import tables as t


def suppression_hits(conn: Connection, recipient: str) -> tuple[bool, str | None]:
    """(address suppressed, suppressed domain or None) for a recipient."""
    domain = domain_of(recipient)
    rows = conn.execute(
        select(t.suppression.c.kind, t.suppression.c.value).where(
            or_(
                and_(t.suppression.c.kind == "address", t.suppression.c.value == recipient),
                and_(
                    t.suppression.c.kind == "domain",
                    t.suppression.c.value.in_(parent_domains(domain)),
                ),
            )
        )
    ).all()
    address = any(kind == "address" for kind, _ in rows)
    domains = [value for kind, value in rows if kind == "domain"]
    return address, (max(domains, key=len) if domains else None)


def add_suppression(
    conn: Connection,
    *,
    kind: str,
    value: str,
    reason: str,
    source: str,
    at: datetime,
    created_by: str | None,
) -> bool:
    """Insert unless present; True when a new entry was made."""
    value = value.strip().lower()
    exists = conn.execute(
        select(t.suppression.c.id).where(
            t.suppression.c.kind == kind, t.suppression.c.value == value
        )
    ).first()
    if exists is not None:
        return False
    conn.execute(
        insert(t.suppression).values(
            kind=kind,
            value=value,
            reason=reason,
            source=source,
            created_at=at,
            created_by=created_by,
        )
    )
    return True
