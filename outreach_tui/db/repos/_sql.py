"""Small pieces the repositories share."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Table, literal
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert


def upsert(conn: Connection, table: Table) -> Any:
    """`INSERT ... ON CONFLICT` in the connection's dialect (SQLite or PostgreSQL)."""
    return (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(table)


def in_bound(column: Any, values: Iterable[str]) -> Any:
    """`column IN (?, ?)` with each value bound (not an expanding, re-rendered list), so a
    statement that uses it can be a `DriverStatement`."""
    return column.in_([literal(v) for v in values])
