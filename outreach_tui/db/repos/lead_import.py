"""The batch statements of a lead import (engine/leads/ingest.py): the insert of new leads
and their enrollment in a campaign, thousands of rows per statement, so their shape is
measured (bench/lead_import.py).

ON CONFLICT DO NOTHING: a lead added by another writer between the import's check and its
insert is left as it is rather than failing the whole batch. On SQLite the statement is
compiled once and handed to the driver's executemany with values already in database form:
the per-row parameter processing of `Connection.execute` cost more than the insert itself.
Elsewhere the ordinary Core path is used.
"""

from __future__ import annotations

from datetime import datetime
from json.encoder import encode_basestring_ascii
from typing import Any

from sqlalchemy import Connection, bindparam, exists, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from outreach_tui.db import tables as t

#: Columns of a new lead, in the order an import holds its rows in memory.
NEW_LEAD_COLUMNS = (
    "email", "domain", "first_name", "last_name", "company", "website", "timezone", "custom",
    "status", "source", "created_at",
)  # fmt: skip
_CUSTOM = NEW_LEAD_COLUMNS.index("custom")


def _json_object(values: dict[str, str]) -> str:
    """`json.dumps` of a str → str dict, byte for byte, at a fraction of its cost per call."""
    quote = encode_basestring_ascii
    return "{" + ", ".join(f"{quote(k)}: {quote(v)}" for k, v in values.items()) + "}"


class LeadInserter:
    """The prebuilt insert of new leads for one connection's dialect."""

    def __init__(self, conn: Connection) -> None:
        dialect = conn.dialect
        self.sqlite = dialect.name == "sqlite"
        maker = sqlite_insert if self.sqlite else pg_insert
        self.stmt = maker(t.lead).on_conflict_do_nothing(index_elements=["email"])
        self.sql = ""
        self.created: Any = None
        if self.sqlite:
            compiled = self.stmt.compile(dialect=dialect, column_keys=list(NEW_LEAD_COLUMNS))
            assert compiled.positiontup == list(NEW_LEAD_COLUMNS)
            self.sql = compiled.string
            created = t.lead.c.created_at.type.dialect_impl(dialect)
            self.created = created.bind_processor(dialect)

    def insert(self, conn: Connection, rows: list[list[Any]]) -> None:
        """Insert `rows` (lists in `NEW_LEAD_COLUMNS` order, `custom` a dict or None; every
        row of one batch has the same `created_at`). The rows are changed in place."""
        if self.sqlite:
            created = self.created
            created_value = created(rows[0][-1]) if created else rows[0][-1]
            params: list[tuple[Any, ...]] = []
            for row in rows:
                if row[_CUSTOM] is not None:
                    row[_CUSTOM] = _json_object(row[_CUSTOM])
                row[-1] = created_value
                params.append(tuple(row))
            conn.exec_driver_sql(self.sql, params)
        else:
            conn.execute(self.stmt, [dict(zip(NEW_LEAD_COLUMNS, row, strict=True)) for row in rows])


_CID = bindparam("cid", type_=t.campaign_lead.c.campaign_id.type)
_ENROL = (
    insert(t.campaign_lead)
    .from_select(
        ["campaign_id", "lead_id", "next_step", "state", "updated_at"],
        select(
            _CID,
            t.lead.c.id,
            bindparam("step"),
            bindparam("state"),
            bindparam("now", type_=t.campaign_lead.c.updated_at.type),
        ).where(
            t.lead.c.email.in_(bindparam("emails", expanding=True)),
            ~exists().where(
                t.campaign_lead.c.campaign_id == _CID, t.campaign_lead.c.lead_id == t.lead.c.id
            ),
        ),
        # psycopg forgets an INSERT's row count once SQLAlchemy closes the cursor: keep it.
    )
    .execution_options(preserve_rowcount=True)
)


def enrol_by_email(
    conn: Connection, campaign_id: int, emails: list[str], *, state: str, at: datetime
) -> int:
    """Enrol the leads with these addresses at step 1 of the campaign, unless enrolled
    already; how many were enrolled."""
    result = conn.execute(
        _ENROL, {"cid": campaign_id, "step": 1, "state": state, "now": at, "emails": emails}
    )
    return max(result.rowcount, 0)
