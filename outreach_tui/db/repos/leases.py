"""Leases (`lease`: who may dispatch a mailbox, or run a singleton job, until when) and the
worker registry (`worker_process`: the processes sharing one database, by heartbeat).

Why these statements are safe on PostgreSQL under READ COMMITTED: a second transaction's
UPDATE of a row the first one changed waits for it, then re-checks its WHERE on the new
version (a renewed lease is no longer expired); INSERT ... ON CONFLICT DO NOTHING waits for
an uncommitted insert of the same name and then does nothing. So two processes never both
get one lease. What a lease means to the dispatcher is in engine/sending/leases.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BindParameter,
    Connection,
    String,
    bindparam,
    cast,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)

from outreach_tui.core.states import AttemptState
from outreach_tui.db import tables as t
from outreach_tui.db.repos._sql import upsert
from outreach_tui.db.session import DriverStatement

#: A mailbox's lease is `mailbox:<id>`.
MAILBOX_PREFIX = "mailbox:"

_L, _W = t.lease, t.worker_process


def mailbox_lease(mailbox_id: int) -> str:
    """The name of a mailbox's dispatch lease."""
    return f"{MAILBOX_PREFIX}{mailbox_id}"


# -- one lease --------------------------------------------------------------------------

# A WHERE parameter of an UPDATE is never named after a column (SQLAlchemy reserves those
# names for the SET clause): `b_name`, `b_holder`.
_RENEW_ONE = (
    update(_L)
    .where(_L.c.name == bindparam("b_name"), _L.c.holder == bindparam("b_holder"))
    .values(expires_at=bindparam("expires_at"))
)
_TAKE_ONE = (
    update(_L)
    .where(_L.c.name == bindparam("b_name"), _L.c.expires_at < bindparam("now"))
    .values(
        holder=bindparam("b_holder"),
        expires_at=bindparam("expires_at"),
        acquired_at=bindparam("now"),
    )
)
_CREATE_ONE: dict[str, Any] = {}


def acquire(conn: Connection, name: str, holder: str, now: datetime, ttl_seconds: float) -> bool:
    """Take or renew `name` for `holder`; False when another live holder has it."""
    expires_at = now + timedelta(seconds=ttl_seconds)
    params = {"b_name": name, "b_holder": holder, "expires_at": expires_at, "now": now}
    if conn.execute(_RENEW_ONE, params).rowcount:
        return True
    if conn.execute(_TAKE_ONE, params).rowcount:
        return True
    stmt = _CREATE_ONE.get(conn.dialect.name)
    if stmt is None:
        stmt = _CREATE_ONE[conn.dialect.name] = (
            upsert(conn, _L)
            .values(
                name=bindparam("name"),
                holder=bindparam("holder"),
                expires_at=bindparam("expires_at"),
                acquired_at=bindparam("acquired_at"),
            )
            .on_conflict_do_nothing(index_elements=["name"])
            .returning(_L.c.name)
        )
    # RETURNING, not rowcount: psycopg reports -1 for an INSERT once its cursor is closed.
    created = conn.execute(
        stmt, {"name": name, "holder": holder, "expires_at": expires_at, "acquired_at": now}
    ).first()
    return created is not None


_RENEW = DriverStatement(
    update(_L)
    .where(_L.c.name == bindparam("name"), _L.c.holder == bindparam("holder"))
    .values(expires_at=bindparam("expires_at"))
    .returning(_L.c.name)
)


def renew(conn: Connection, name: str, holder: str, now: datetime, ttl_seconds: float) -> bool:
    """Extend `name` if `holder` still has it; False when it was lost (expired and taken)."""
    expires_at = now + timedelta(seconds=ttl_seconds)
    params = {"name": name, "holder": holder, "expires_at": expires_at}
    return _RENEW.execute(conn, params).first() is not None


_RELEASE = delete(_L).where(_L.c.name == bindparam("name"), _L.c.holder == bindparam("holder"))
_RELEASE_ALL = delete(_L).where(_L.c.holder == bindparam("holder"))


def release(conn: Connection, name: str, holder: str) -> None:
    conn.execute(_RELEASE, {"name": name, "holder": holder})


def release_all(conn: Connection, holder: str) -> None:
    conn.execute(_RELEASE_ALL, {"holder": holder})


_HOLDER_OF = select(_L.c.holder).where(
    _L.c.name == bindparam("name"), _L.c.expires_at >= bindparam("now")
)
_HOLDERS = select(_L.c.holder).distinct()


def holder_of(conn: Connection, name: str, now: datetime) -> str | None:
    """The live holder of `name`, or None."""
    value = conn.execute(_HOLDER_OF, {"name": name, "now": now}).scalar()
    return None if value is None else str(value)


def lease_holders(conn: Connection) -> list[str]:
    """Every holder with a lease, live or expired."""
    return [str(holder) for holder in conn.execute(_HOLDERS).scalars()]


# -- many mailboxes' leases at once (a dispatcher tick) ---------------------------------

_NAMES: BindParameter[list[str]] = bindparam("names", expanding=True)
_RELEASE_MANY = delete(_L).where(_L.c.name.in_(_NAMES), _L.c.holder == bindparam("b_holder"))
_RENEW_MANY = (
    update(_L)
    .where(_L.c.name.in_(_NAMES), _L.c.holder == bindparam("b_holder"))
    .values(expires_at=bindparam("expires"))
    .returning(_L.c.name)
)
_TAKE_EXPIRED_MANY = (
    update(_L)
    .where(_L.c.name.in_(_NAMES), _L.c.expires_at < bindparam("now"))
    .values(
        holder=bindparam("b_holder"), expires_at=bindparam("expires"), acquired_at=bindparam("now")
    )
    .returning(_L.c.name)
)
_CREATE_MANY: dict[str, Any] = {}


def release_leases(conn: Connection, names: list[str], holder: str) -> None:
    """Give up `holder`'s leases among `names`."""
    conn.execute(_RELEASE_MANY, {"names": names, "b_holder": holder})


def renew_leases(conn: Connection, names: list[str], holder: str, expires: datetime) -> list[str]:
    """Extend those of `names` that `holder` has; their names."""
    params = {"names": names, "b_holder": holder, "expires": expires}
    return [str(name) for name in conn.execute(_RENEW_MANY, params).scalars()]


def take_expired_leases(
    conn: Connection, names: list[str], holder: str, expires: datetime, now: datetime
) -> list[str]:
    """Take over those of `names` whose holder let them expire; their names."""
    params = {"names": names, "b_holder": holder, "expires": expires, "now": now}
    return [str(name) for name in conn.execute(_TAKE_EXPIRED_MANY, params).scalars()]


def create_leases(
    conn: Connection, names: list[str], holder: str, expires: datetime, now: datetime
) -> list[str]:
    """Create the leases of `names` that nobody has (one multi-row INSERT ... ON CONFLICT
    DO NOTHING); the names created."""
    base = _CREATE_MANY.get(conn.dialect.name)
    if base is None:
        base = _CREATE_MANY[conn.dialect.name] = upsert(conn, _L)
    rows = [{"name": n, "holder": holder, "expires_at": expires, "acquired_at": now} for n in names]
    stmt = base.values(rows).on_conflict_do_nothing(index_elements=["name"]).returning(_L.c.name)
    return [str(name) for name in conn.execute(stmt).scalars()]


_HELD_ELSEWHERE = (
    select(func.count())
    .select_from(_L)
    .where(
        _L.c.name.startswith(MAILBOX_PREFIX),
        _L.c.holder != bindparam("holder"),
        _L.c.expires_at >= bindparam("now"),
    )
)


def mailboxes_held_elsewhere(conn: Connection, holder: str, now: datetime) -> int:
    """Live mailbox leases of other holders."""
    return int(conn.execute(_HELD_ELSEWHERE, {"holder": holder, "now": now}).scalar_one())


_A = t.attempt
_DUE_HELD_ELSEWHERE = (
    select(_A.c.id)
    .where(
        _A.c.state == AttemptState.APPROVED.value,
        or_(_A.c.next_attempt_at.is_(None), _A.c.next_attempt_at <= bindparam("now")),
        exists().where(
            _L.c.name == literal(MAILBOX_PREFIX) + cast(_A.c.mailbox_id, String),
            _L.c.holder != bindparam("holder"),
            _L.c.expires_at >= bindparam("now"),
        ),
    )
    .limit(1)
)


def due_attempt_held_elsewhere(conn: Connection, holder: str, now: datetime) -> bool:
    """An approved attempt is due of a mailbox another live holder leases."""
    return conn.execute(_DUE_HELD_ELSEWHERE, {"holder": holder, "now": now}).first() is not None


# -- the worker registry (several processes on one PostgreSQL) --------------------------

_HEARTBEAT: dict[str, Any] = {}


def register_worker(
    conn: Connection, holder: str, *, host: str, pid: int, kind: str, at: datetime
) -> None:
    """Insert the process into `worker_process`, or refresh its heartbeat."""
    stmt = _HEARTBEAT.get(conn.dialect.name)
    if stmt is None:
        base = upsert(conn, _W).values(
            id=bindparam("id"),
            host=bindparam("host"),
            pid=bindparam("pid"),
            kind=bindparam("kind"),
            started_at=bindparam("at"),
            heartbeat_at=bindparam("at"),
        )
        stmt = _HEARTBEAT[conn.dialect.name] = base.on_conflict_do_update(
            index_elements=["id"], set_={"heartbeat_at": base.excluded.heartbeat_at}
        )
    conn.execute(stmt, {"id": holder, "host": host, "pid": pid, "kind": kind, "at": at})


_UNREGISTER = delete(_W).where(_W.c.id == bindparam("id"))
_LIVE_WORKERS = select(func.count()).select_from(_W).where(_W.c.heartbeat_at >= bindparam("since"))


def unregister(conn: Connection, holder: str) -> None:
    conn.execute(_UNREGISTER, {"id": holder})


def live_workers(conn: Connection, now: datetime, ttl_seconds: float) -> int:
    """Processes whose heartbeat is younger than a lease: the ones sharing the mailboxes."""
    since = now - timedelta(seconds=ttl_seconds)
    return int(conn.execute(_LIVE_WORKERS, {"since": since}).scalar_one())
