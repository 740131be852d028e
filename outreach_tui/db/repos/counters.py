"""Daily counters (sends, bounces, complaints per scope and local day) and the cap locks.

A counter row is `(scope, key, day) -> count` (`core.states.CounterScope` names the scopes).
On PostgreSQL the caps hold across workers by transaction-scoped advisory locks
(`lock_scopes`): see core/cap_locks.py for when a cap's lock may be shared.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, String, bindparam, func, select, text

from outreach_tui.core.states import CounterScope
from outreach_tui.db import tables as t
from outreach_tui.db.repos._sql import upsert
from outreach_tui.db.session import DriverStatement


def counter_value(conn: Connection, scope: CounterScope, key: str, day: date) -> int:
    value = conn.execute(
        select(t.daily_counter.c.count).where(
            t.daily_counter.c.scope == str(scope),
            t.daily_counter.c.key == key,
            t.daily_counter.c.day == day,
        )
    ).scalar()
    return int(value or 0)


_COUNTER_UPSERT: dict[str, DriverStatement] = {}


def increment_counters(
    conn: Connection, keys: list[tuple[CounterScope, str]], day: date, by: int = 1
) -> None:
    """Atomic upsert of several counters: `count = count + by` (SQLite and PostgreSQL)."""
    stmt = _COUNTER_UPSERT.get(conn.dialect.name)
    if stmt is None:
        base = upsert(conn, t.daily_counter).values(
            scope=bindparam("scope"), key=bindparam("key"), day=bindparam("day"),
            count=bindparam("count"),
        )  # fmt: skip
        stmt = DriverStatement(
            base.on_conflict_do_update(
                index_elements=["scope", "key", "day"],
                set_={"count": t.daily_counter.c.count + base.excluded.count},
            )
        )
        _COUNTER_UPSERT[conn.dialect.name] = stmt
    stmt.executemany(conn, [{"scope": str(s), "key": k, "day": day, "count": by} for s, k in keys])


def increment_counter(
    conn: Connection, scope: CounterScope, key: str, day: date, by: int = 1
) -> None:
    increment_counters(conn, [(scope, key)], day, by)


# PostgreSQL: the operator's cap lock and the counters in one round trip. The lock comes
# first: no row is inserted or locked before the (materialised) lock row exists.
def _locked_counters_pg(lock: str) -> Any:
    return text(
        "WITH cap_lock AS MATERIALIZED ("
        f" SELECT {lock}(hashtextextended(:lock_key, 0)))"
        " INSERT INTO daily_counter (scope, key, day, count)"
        " SELECT v.scope, v.key, CAST(:day AS DATE), :by"
        " FROM cap_lock, (VALUES (:s0, :k0), (:s1, :k1), (:s2, :k2)) AS v (scope, key)"
        " ON CONFLICT (scope, key, day) DO UPDATE"
        " SET count = daily_counter.count + excluded.count"
    )


_LOCKED_COUNTERS_PG = {
    False: _locked_counters_pg("pg_advisory_xact_lock"),
    True: _locked_counters_pg("pg_advisory_xact_lock_shared"),
}


def consume_caps(
    conn: Connection,
    operator_id: str,
    recipient_domain: str,
    mailbox_email: str,
    day: date,
    *,
    shared: bool = False,
) -> None:
    """A send's three cap counters (operator, recipient domain, mailbox) after its final
    250; on PostgreSQL under the operator's lock (`lock_scopes`; `shared` as the sends that
    count it take it), taken before the counter rows' own locks, the order every
    transaction that counts or consumes caps keeps."""
    keys = [
        (CounterScope.USER, operator_id),
        (CounterScope.DOMAIN, recipient_domain),
        (CounterScope.MAILBOX, mailbox_email),
    ]
    if conn.dialect.name != "postgresql":
        increment_counters(conn, keys, day)
        return
    params: dict[str, Any] = {"lock_key": operator_scope(operator_id), "day": day, "by": 1}
    for i, (scope, key) in enumerate(keys):
        params[f"s{i}"], params[f"k{i}"] = scope.value, key
    conn.execute(_LOCKED_COUNTERS_PG[shared], params)


def lock_scopes(conn: Connection, *keys: str, shared: Sequence[bool] = ()) -> None:
    """PostgreSQL: take transaction-scoped advisory locks on `keys` (in the order given;
    `shared[i]`: key i's lock in shared mode, see core/cap_locks.py), held until COMMIT; a
    no-op on SQLite, whose BEGIN IMMEDIATE already lets one writer in.

    What makes the caps hold across workers: a policy check counts the sends of today plus
    those in flight, then claims the attempt, in one transaction. Under READ COMMITTED two
    workers could both count 19 of 20 and both claim; with the scope's lock held from before
    the count to the COMMIT, the second one waits, then counts (a fresh snapshot per
    statement) the first one's claim. Taken late (just before the count, and before the
    counters move after a 250) and held to the COMMIT of a transaction of its own
    (db/session.py `ConcurrentWrites`). Far from a cap the lock is shared and nobody waits;
    near it, exclusive, and the sends take turns for it, for a few statements each.
    """
    if conn.dialect.name != "postgresql" or not keys:
        return
    modes = tuple(shared) + (False,) * (len(keys) - len(shared))
    statement = _ADVISORY_LOCKS.get(modes)
    if statement is None:
        statement = _ADVISORY_LOCKS[modes] = _advisory_lock_statement(modes)
    statement.execute(conn, {f"k{i}": key for i, key in enumerate(keys)})


def concurrent_transactions_bound(conn: Connection) -> int:
    """PostgreSQL: the most transactions the server runs at once (connections, plus
    prepared transactions waiting for their COMMIT PREPARED)."""
    return int(
        conn.execute(
            text(
                "SELECT current_setting('max_connections')::int"
                " + current_setting('max_prepared_transactions')::int"
            )
        ).scalar_one()
    )


def operator_scope(operator_id: str) -> str:
    return f"outreach:{CounterScope.USER.value}:{operator_id}"


def cap_scopes(operator_id: str, recipient_domain: str, mailbox_email: str) -> tuple[str, ...]:
    """The lock keys of the caps a send counts against, the operator's first: every
    transaction that counts or consumes caps takes that one before any other, so they
    queue on it and never wait for each other in a cycle."""
    return (
        operator_scope(operator_id),
        f"outreach:{CounterScope.DOMAIN.value}:{recipient_domain}",
        f"outreach:{CounterScope.MAILBOX.value}:{mailbox_email}",
    )


def _advisory_lock_statement(shared: tuple[bool, ...]) -> DriverStatement:
    # Select-list items are evaluated left to right: the locks are taken in the order given.
    return DriverStatement(
        select(
            *(
                (func.pg_advisory_xact_lock_shared if share else func.pg_advisory_xact_lock)(
                    func.hashtextextended(bindparam(f"k{i}", type_=String), 0)
                )
                for i, share in enumerate(shared)
            )
        )
    )


_ADVISORY_LOCKS: dict[tuple[bool, ...], DriverStatement] = {}
