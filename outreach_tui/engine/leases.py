"""Leases in the database: who may dispatch a mailbox (or run a singleton job) until when.

A console and a worker, or two consoles over two SSH sessions, share one database. Only the
holder of `mailbox:<id>` sends from that mailbox; a holder that dies frees it when the lease
expires. The attempt claim (`approved` → `sending`, compare-and-set) is the second line of
defence: even two holders could never send one attempt twice.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from outreach_tui.db import tables as t


def new_holder_id(kind: str = "engine") -> str:
    """Unique per engine instance: host, pid and a random part (pids are reused)."""
    return f"{kind}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def mailbox_lease(mailbox_id: int) -> str:
    return f"mailbox:{mailbox_id}"


def acquire(conn: Connection, name: str, holder: str, now: datetime, ttl_seconds: float) -> bool:
    """Take or renew `name` for `holder`; False when another live holder has it."""
    expires = now + timedelta(seconds=ttl_seconds)
    renewed = conn.execute(
        update(t.lease)
        .where(t.lease.c.name == name, t.lease.c.holder == holder)
        .values(expires_at=expires)
    ).rowcount
    if renewed:
        return True
    taken = conn.execute(
        update(t.lease)
        .where(t.lease.c.name == name, t.lease.c.expires_at < now)
        .values(holder=holder, expires_at=expires, acquired_at=now)
    ).rowcount
    if taken:
        return True
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    created = conn.execute(
        insert(t.lease)
        .values(name=name, holder=holder, expires_at=expires, acquired_at=now)
        .on_conflict_do_nothing(index_elements=["name"])
    ).rowcount
    return bool(created)


def release(conn: Connection, name: str, holder: str) -> None:
    conn.execute(delete(t.lease).where(t.lease.c.name == name, t.lease.c.holder == holder))


def release_all(conn: Connection, holder: str) -> None:
    conn.execute(delete(t.lease).where(t.lease.c.holder == holder))


def holder_of(conn: Connection, name: str, now: datetime) -> str | None:
    """The live holder of `name`, or None."""
    return conn.execute(
        select(t.lease.c.holder).where(t.lease.c.name == name, t.lease.c.expires_at >= now)
    ).scalar()
