"""Operators: the people (OS logins) and worker identities that act."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select

from outreach_tui.db import tables as t


def ensure_operator(conn: Connection, operator_id: str, at: datetime) -> None:
    """The operator's row, made on first sight (its id is the display name)."""
    if conn.execute(select(t.operator.c.id).where(t.operator.c.id == operator_id)).first():
        return
    conn.execute(insert(t.operator).values(id=operator_id, display_name=operator_id, created_at=at))
