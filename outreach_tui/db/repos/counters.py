"""Daily counters (sends, bounces, complaints per scope and local day) and the cap locks.

A counter row is `(scope, key, day) -> count` (`core.states.CounterScope` names the scopes).
On PostgreSQL the caps hold across workers by transaction-scoped advisory locks
(`lock_scopes`): see core/cap_locks.py for when a cap's lock may be shared.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Float, String, and_, bindparam, func, or_, select, text

from outreach_tui.core.states import CounterScope, MailboxPhase
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


_COUNTERS_OF = select(t.daily_counter.c.key, t.daily_counter.c.count).where(
    t.daily_counter.c.scope == bindparam("scope"),
    t.daily_counter.c.key.in_(bindparam("keys", expanding=True)),
    t.daily_counter.c.day == bindparam("day"),
)


def counter_values(
    conn: Connection, scope: CounterScope, keys: Sequence[str], day: date
) -> dict[str, int]:
    """The counters `scope` of these keys on `day`; keys without one are left out."""
    rows = conn.execute(_COUNTERS_OF, {"scope": str(scope), "keys": list(keys), "day": day})
    return {str(key): int(count) for key, count in rows}


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


# -- a mailbox's health: sends, failures and complaints (the guard's rate reads) -------------

#: The counters a mailbox's health is read from, in `core.recovery.Rates` order: accepted
#: sends, hard refusals at SMTP time, complaints, policy refusals at SMTP time, hard and
#: policy reports that came later. Each event is counted in exactly one of them.
HEALTH_SCOPES = (
    CounterScope.MAILBOX,
    CounterScope.MAILBOX_BOUNCE,
    CounterScope.MAILBOX_COMPLAINT,
    CounterScope.MAILBOX_POLICY,
    CounterScope.MAILBOX_BOUNCE_REPORT,
    CounterScope.MAILBOX_POLICY_REPORT,
)
#: SMTP-time refusals: attempts that never got a 250 (with the accepted sends, the attempts).
REFUSED_SCOPES = (CounterScope.MAILBOX_BOUNCE, CounterScope.MAILBOX_POLICY)
#: Later reports about accepted sends: failures, never attempts.
REPORTED_SCOPES = (CounterScope.MAILBOX_BOUNCE_REPORT, CounterScope.MAILBOX_POLICY_REPORT)

_DC = t.daily_counter
_M = t.mailbox
_HEALTH_COUNTERS_FROM = select(_DC.c.scope, _DC.c.key, _DC.c.day, _DC.c.count).where(
    _DC.c.scope.in_(HEALTH_SCOPES),
    _DC.c.key.in_(bindparam("keys", expanding=True)),
    _DC.c.day >= bindparam("start", type_=_DC.c.day.type),
)


def health_counter_sums(conn: Connection, starts: Mapping[str, date]) -> dict[tuple[str, str], int]:
    """(scope, mailbox email) → the sum of its `HEALTH_SCOPES` counters from the mailbox's
    own start day on; one read of the counters' primary key for all of them. A pair that
    counted nothing is absent (the mapping returns 0 for it)."""
    sums: dict[tuple[str, str], int] = defaultdict(int)
    if not starts:
        return sums
    params = {"keys": list(starts), "start": min(starts.values())}
    for scope, key, day, count in conn.execute(_HEALTH_COUNTERS_FROM, params):
        if day >= starts[key]:
            sums[(scope, key)] += int(count)
    return sums


def _window_sum(*scopes: CounterScope) -> Any:
    """A correlated subquery: this mailbox's counters `scopes` summed over the window (a few
    seeks on the counters' primary key (scope, key, day), whatever the history's length)."""
    scope = _DC.c.scope == scopes[0] if len(scopes) == 1 else _DC.c.scope.in_(scopes)
    return (
        select(func.coalesce(func.sum(_DC.c.count), 0))
        .where(
            scope,
            _DC.c.key == _M.c.email,
            _DC.c.day >= bindparam("since", type_=_DC.c.day.type),
        )
        .scalar_subquery()
    )


_WINDOW = (
    select(
        _M.c.id,
        _M.c.email,
        _window_sum(CounterScope.MAILBOX).label("sent"),
        _window_sum(*REFUSED_SCOPES).label("refused"),
        _window_sum(*REPORTED_SCOPES).label("reported"),
        _window_sum(CounterScope.MAILBOX_COMPLAINT).label("complaints"),
    )
    .where(
        _M.c.phase == MailboxPhase.HEALTHY.value,
        or_(
            _M.c.phase_changed_at.is_(None),
            _M.c.phase_changed_at < bindparam("cutoff", type_=_M.c.phase_changed_at.type),
        ),
    )
    # Materialized: inlined, the filter below would run each sum again per reference
    # (SQLite flattens the subquery; twice the index seeks).
    .cte("w")
    .prefix_with("MATERIALIZED")
)
# Attempts: accepted sends and SMTP-time refusals; failures: those refusals and the later
# reports (core.recovery.Rates, which decides on what comes back).
_ATTEMPTED = _WINDOW.c.sent + _WINDOW.c.refused
_FAILED = _WINDOW.c.refused + _WINDOW.c.reported
_WINDOW_CANDIDATES = select(_WINDOW).where(
    or_(
        _WINDOW.c.complaints >= bindparam("complaints"),
        and_(
            bindparam("min_sends") <= _ATTEMPTED,
            _ATTEMPTED * bindparam("rate_floor", type_=Float()) < _FAILED,
        ),
    )
)


@dataclass(frozen=True, slots=True)
class WindowFigures:
    """A HEALTHY mailbox's counters summed over the monitor's window: accepted sends,
    refusals at SMTP time and later reports (hard and policy each), complaints."""

    id: int
    email: str
    sent: int
    refused: int
    reported: int
    complaints: int


def window_candidates(
    conn: Connection,
    *,
    since: date,
    cutoff: datetime,
    complaints: int,
    min_sends: int,
    rate_floor: float,
) -> list[WindowFigures]:
    """The mailboxes HEALTHY since before `cutoff` whose counters from `since` on may warn or
    pause: at least `complaints` complaints, or at least `min_sends` attempts with more
    failures than `rate_floor` of them. One statement: per mailbox a few seeks on the
    counters' primary key, summed in the database, which hands back only these."""
    params = {
        "since": since,
        "cutoff": cutoff,
        "complaints": complaints,
        "min_sends": min_sends,
        "rate_floor": rate_floor,
    }
    return [
        WindowFigures(mid, email, int(sent), int(refused), int(reported), int(complained))
        for mid, email, sent, refused, reported, complained in conn.execute(
            _WINDOW_CANDIDATES, params
        )
    ]
