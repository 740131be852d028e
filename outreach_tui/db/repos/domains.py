"""Recipient domains: the verifier's `domain_insight` cache (MX answer, catch-all, one RCPT
per session, a refused probe), read and written by engine/leads/domain_insight_db.py."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from sqlalchemy import Connection, bindparam, select

from outreach_tui.db import tables as t
from outreach_tui.db.records import DomainInsightRecord, columns
from outreach_tui.db.repos._sql import upsert

_I = t.domain_insight
_INSIGHT = select(*columns(DomainInsightRecord, _I)).where(_I.c.domain == bindparam("domain"))
_INSIGHT_COLUMNS = tuple(c.name for c in _I.columns)
_SAVE: dict[str, Any] = {}


def domain_insight(conn: Connection, domain: str) -> DomainInsightRecord | None:
    """The stored insight of `domain`, expired or not (the caller judges)."""
    row = conn.execute(_INSIGHT, {"domain": domain}).first()
    return None if row is None else DomainInsightRecord(*row)


def save_domain_insight(conn: Connection, insight: DomainInsightRecord) -> None:
    """Insert the domain's insight, or replace every column of the stored one."""
    stmt = _SAVE.get(conn.dialect.name)
    if stmt is None:
        base = upsert(conn, _I)
        stmt = base.on_conflict_do_update(
            index_elements=["domain"],
            set_={name: base.excluded[name] for name in _INSIGHT_COLUMNS if name != "domain"},
        )
        _SAVE[conn.dialect.name] = stmt
    conn.execute(stmt, {f.name: getattr(insight, f.name) for f in fields(insight)})
