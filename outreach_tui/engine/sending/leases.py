"""Leases in the database: who may dispatch a mailbox (or run a singleton job) until when.

A console and a worker, or two consoles over two SSH sessions, or several workers on
several machines (PostgreSQL), share one database. Only the holder of `mailbox:<id>` sends
from that mailbox; a holder that dies frees it when the lease expires. The attempt claim
(`approved` → `sending`, compare-and-set) is the second line of defence: even two holders
could never send one attempt twice.

Why these statements are safe on PostgreSQL under READ COMMITTED: a second transaction's
UPDATE of a row the first one changed waits for it, then re-checks its WHERE on the new
version (a renewed lease is no longer expired); INSERT ... ON CONFLICT DO NOTHING waits for
an uncommitted insert of the same name and then does nothing. So two processes never both
get one lease.
"""

from __future__ import annotations

import os
import re
import socket
import uuid
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from outreach_tui.db import tables as t
from outreach_tui.db.session import DriverStatement

_HOLDER = re.compile(r"^[^@]+@(?P<host>.+):(?P<pid>\d+):[0-9a-f]+$")


MAILBOX_PREFIX = "mailbox:"


def new_holder_id(kind: str = "engine") -> str:
    """Unique per engine instance: host, pid and a random part (pids are reused)."""
    return f"{kind}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def mailbox_lease(mailbox_id: int) -> str:
    return f"{MAILBOX_PREFIX}{mailbox_id}"


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
    # RETURNING, not rowcount: psycopg reports -1 for an INSERT once its cursor is closed.
    created = conn.execute(
        insert(t.lease)
        .values(name=name, holder=holder, expires_at=expires, acquired_at=now)
        .on_conflict_do_nothing(index_elements=["name"])
        .returning(t.lease.c.name)
    ).first()
    return created is not None


def release(conn: Connection, name: str, holder: str) -> None:
    conn.execute(delete(t.lease).where(t.lease.c.name == name, t.lease.c.holder == holder))


def release_all(conn: Connection, holder: str) -> None:
    conn.execute(delete(t.lease).where(t.lease.c.holder == holder))


def holder_of(conn: Connection, name: str, now: datetime) -> str | None:
    """The live holder of `name`, or None."""
    return conn.execute(
        select(t.lease.c.holder).where(t.lease.c.name == name, t.lease.c.expires_at >= now)
    ).scalar()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, under another user
        return True
    return True


def release_dead_local(conn: Connection) -> list[str]:
    """Free the leases of processes on this host that no longer exist (killed, crashed).

    Without this a worker restarted after a SIGKILL or an OOM kill waits out the dead
    process's leases (`lease_seconds`, 2 minutes by default) before it sends again. Only
    holders on this host are judged, by their pid; a pid that is alive (possibly reused by
    another program) keeps its lease until it expires, which is the safe side.
    """
    host = socket.gethostname()
    dead = set()
    for holder in conn.execute(select(t.lease.c.holder).distinct()).scalars():
        match = _HOLDER.match(holder)
        if (
            match
            and match["host"] == host
            and int(match["pid"]) != os.getpid()
            and not _process_alive(int(match["pid"]))
        ):
            dead.add(holder)
    for holder in dead:
        release_all(conn, holder)
    return sorted(dead)


_RENEW = DriverStatement(
    update(t.lease)
    .where(t.lease.c.name == bindparam("name"), t.lease.c.holder == bindparam("holder"))
    .values(expires_at=bindparam("expires_at"))
    .returning(t.lease.c.name)
)


def renew(conn: Connection, name: str, holder: str, now: datetime, ttl_seconds: float) -> bool:
    """Extend `name` if `holder` still has it; False when it was lost (expired and taken)."""
    expires_at = now + timedelta(seconds=ttl_seconds)
    params = {"name": name, "holder": holder, "expires_at": expires_at}
    return _RENEW.execute(conn, params).first() is not None


# -- worker presence (several processes on one PostgreSQL) ------------------------------


def holder_kind(holder: str) -> str:
    """`worker` or `console`: the first part of a holder id (see `new_holder_id`)."""
    return holder.split("@", 1)[0]


def heartbeat(conn: Connection, holder: str, now: datetime) -> None:
    """Register this process in `worker_process` (host, pid) or refresh its heartbeat."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(t.worker_process).values(
        id=holder,
        host=socket.gethostname(),
        pid=os.getpid(),
        kind=holder_kind(holder),
        started_at=now,
        heartbeat_at=now,
    )
    conn.execute(stmt.on_conflict_do_update(index_elements=["id"], set_={"heartbeat_at": now}))


def unregister(conn: Connection, holder: str) -> None:
    conn.execute(delete(t.worker_process).where(t.worker_process.c.id == holder))


def live_workers(conn: Connection, now: datetime, ttl_seconds: float) -> int:
    """Processes whose heartbeat is younger than a lease: the ones sharing the mailboxes."""
    since = now - timedelta(seconds=ttl_seconds)
    return int(
        conn.execute(
            select(func.count())
            .select_from(t.worker_process)
            .where(t.worker_process.c.heartbeat_at >= since)
        ).scalar_one()
    )


def mailboxes_held_elsewhere(conn: Connection, holder: str, now: datetime) -> int:
    """Live mailbox leases of other holders."""
    return int(
        conn.execute(
            select(func.count())
            .select_from(t.lease)
            .where(
                t.lease.c.name.startswith(MAILBOX_PREFIX),
                t.lease.c.holder != holder,
                t.lease.c.expires_at >= now,
            )
        ).scalar_one()
    )


def fair_share(candidates: int, held_elsewhere: int, workers: int) -> int:
    """How many mailboxes one process should hold: an even split of those with work."""
    workers = max(1, workers)
    return max(1, -(-(candidates + held_elsewhere) // workers))
