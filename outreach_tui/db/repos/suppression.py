"""The suppression list: addresses and whole domains (a domain covers its subdomains)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, and_, bindparam, delete, insert, or_, select

from outreach_tui.core.region import domain_of, parent_domains
from outreach_tui.db import tables as t
from outreach_tui.db.records import SuppressionRecord, columns
from outreach_tui.db.session import DriverStatement


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


_SUPPRESSED_AMONG = select(t.suppression.c.kind, t.suppression.c.value).where(
    or_(
        (t.suppression.c.kind == "address")
        & t.suppression.c.value.in_(bindparam("addresses", expanding=True)),
        (t.suppression.c.kind == "domain")
        & t.suppression.c.value.in_(bindparam("domains", expanding=True)),
    )
)


def suppressed_among(
    conn: Connection, addresses: Iterable[str], domains: Iterable[str]
) -> tuple[set[str], set[str]]:
    """(suppressed addresses, suppressed domains) of these, in one query for a batch."""
    rows = conn.execute(_SUPPRESSED_AMONG, {"addresses": list(addresses), "domains": list(domains)})
    found: dict[str, set[str]] = {"address": set(), "domain": set()}
    for kind, value in rows:
        found[kind].add(value)
    return found["address"], found["domain"]


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
    """Insert unless present; True when a new entry was made (prebuilt statements: a reply's
    effects may add one per message)."""
    value = value.strip().lower()
    if _SUPPRESSION_EXISTS.execute(conn, {"kind": kind, "value": value}).first() is not None:
        return False
    _INSERT_SUPPRESSION.execute(
        conn,
        {
            "kind": kind,
            "value": value,
            "reason": reason,
            "source": source,
            "created_at": at,
            "created_by": created_by,
        },
    )
    return True


_SUPPRESSION_EXISTS = DriverStatement(
    select(t.suppression.c.id).where(
        t.suppression.c.kind == bindparam("kind"), t.suppression.c.value == bindparam("value")
    )
)
_INSERT_SUPPRESSION = DriverStatement(
    insert(t.suppression).values(
        {
            name: bindparam(name)
            for name in ("kind", "value", "reason", "source", "created_at", "created_by")
        }
    )
)
_REMOVE_BY_SOURCE = delete(t.suppression).where(t.suppression.c.source == bindparam("source"))


def remove_suppressions_by_source(conn: Connection, source: str) -> int:
    """Take back the entries that `source` (e.g. `reply:<id>`) made; how many."""
    return int(conn.execute(_REMOVE_BY_SOURCE, {"source": source}).rowcount)


_REMOVE = delete(t.suppression).where(
    t.suppression.c.kind == bindparam("kind"), t.suppression.c.value == bindparam("value")
)


def remove_suppression(conn: Connection, *, kind: str, value: str) -> bool:
    """Delete the entry; False when there was none."""
    return bool(conn.execute(_REMOVE, {"kind": kind, "value": value}).rowcount)


_ANY_SUPPRESSION = select(t.suppression.c.id).limit(1)
_MATCHES = select(t.suppression.c.kind, t.suppression.c.value).where(
    t.suppression.c.value.in_(bindparam("values", expanding=True))
)


def any_suppression(conn: Connection) -> bool:
    """The list has at least one entry (an import skips its look-ups when it has none)."""
    return conn.execute(_ANY_SUPPRESSION).first() is not None


def suppression_matches(conn: Connection, values: list[str]) -> list[tuple[str, str]]:
    """(kind, value) of the entries whose value is one of `values` (addresses and domains
    alike; at most a few thousand values a call)."""
    return [(str(kind), str(value)) for kind, value in conn.execute(_MATCHES, {"values": values})]


_PAGE = (
    select(*columns(SuppressionRecord, t.suppression))
    .order_by(t.suppression.c.id)
    .offset(bindparam("offset"))
    .limit(bindparam("limit"))
)
_PAGE_SEARCH = _PAGE.where(t.suppression.c.value.contains(bindparam("search")))


def suppressions_page(
    conn: Connection, *, offset: int, limit: int, search: str
) -> list[SuppressionRecord]:
    """Entries in id order (only those whose value contains `search`, when given)."""
    stmt = _PAGE_SEARCH if search else _PAGE
    params = {"offset": offset, "limit": limit, "search": search}
    return [SuppressionRecord(*row) for row in conn.execute(stmt, params)]
