"""Engine factory, transactions, and `DriverStatement` for the statements of every send.

SQLite: WAL, a busy timeout, foreign keys on, and write transactions that begin with
BEGIN IMMEDIATE so two writers queue on the lock instead of failing half-way with
"database is locked" when a read transaction tries to upgrade.

PostgreSQL (psycopg 3, `postgresql+psycopg://`): READ COMMITTED, a connection pool sized
for the engine's concurrent users; what BEGIN IMMEDIATE gives SQLite (no writer between a
policy check and the row it allows) comes from row locks and transaction-scoped advisory
locks taken by the code that needs them (db/repos/counters.py `lock_scopes`,
db/repos/leases.py).

The write transactions the event loop queues (SQLite's group commit, PostgreSQL's lanes)
are db/write_lanes.py; the engine opens all of these through db/database.py `Database`.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from sqlalchemy import Connection, CursorResult, Dialect, Engine, Executable, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

_BEGIN_OPTION = "outreach_begin"


def make_engine(
    url: str,
    *,
    synchronous: Literal["FULL", "NORMAL"] = "FULL",
    busy_timeout_ms: int = 10000,
    echo: bool = False,
) -> Engine:
    """Create the SQLAlchemy engine for a database URL (SQLite file or PostgreSQL)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, echo=echo, pool_pre_ping=True, future=True)

    database = parsed.database
    if database and database != ":memory:":
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        echo=echo,
        future=True,
        connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN is ours to emit.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def write_connection(engine: Engine) -> Connection:
    """A new connection whose transactions are write transactions (BEGIN IMMEDIATE on
    SQLite; a plain connection elsewhere)."""
    conn = engine.connect()
    if is_sqlite(engine):
        conn = conn.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
    return conn


@contextmanager
def write_tx(engine: Engine) -> Iterator[Connection]:
    """A write transaction: BEGIN IMMEDIATE on SQLite, a plain transaction elsewhere."""
    with write_connection(engine) as conn, conn.begin():
        yield conn


@contextmanager
def read_tx(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction (deferred on SQLite: no lock until needed)."""
    with engine.connect() as conn, conn.begin():
        yield conn


class DriverStatement:
    """A Core statement compiled once per dialect and run with `exec_driver_sql`.

    For the hottest statements of the send pipeline: SQLAlchemy's per-execution work (cache
    key, parameter processing, execution context and result set-up) costs several times what
    SQLite needs to run a short indexed statement. The SQL text, the parameter order and the
    conversion of each value (through its type's bind processor, e.g. aware UTC datetimes to
    SQLite's stored text) are SQLAlchemy's own, so the database receives what
    `conn.execute(statement, params)` would send; execution still goes through the
    Connection (same transaction, error wrapping, `echo`). Statements that need more than a
    fixed parameter list (expanding IN lists, defaults computed at execution time) simply
    run through `conn.execute`. Positional (SQLite's `?`) and named (psycopg's `%(name)s`)
    paramstyles both work.
    """

    __slots__ = ("_plans", "statement")

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._plans: weakref.WeakKeyDictionary[Dialect, _Plan | None] = weakref.WeakKeyDictionary()

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> CursorResult[Any]:
        plan = self._plan(conn.dialect)
        if plan is None:
            return conn.execute(self.statement, dict(params))
        return conn.exec_driver_sql(plan.sql, plan.args(params))

    def executemany(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        plan = self._plan(conn.dialect)
        if plan is None:
            conn.execute(self.statement, [dict(row) for row in rows])
        elif len(rows) == 1:
            conn.exec_driver_sql(plan.sql, plan.args(rows[0]))
        else:
            conn.exec_driver_sql(plan.sql, [plan.args(row) for row in rows])

    def _plan(self, dialect: Dialect) -> _Plan | None:
        try:
            return self._plans[dialect]
        except KeyError:
            plan = self._plans[dialect] = _Plan.build(self.statement, dialect)
            return plan


_MISSING = object()


@dataclass(frozen=True, slots=True)
class _Plan:
    sql: str
    #: Per parameter: the key in the caller's parameters, the value when the caller gives
    #: none (a literal bound in the statement, or _MISSING), the processor.
    slots: tuple[tuple[str, Any, Callable[[Any], Any] | None], ...]
    #: A named paramstyle (psycopg's `%(name)s`): each slot's name in the SQL text;
    #: None for a positional one (SQLite's `?`).
    names: tuple[str, ...] | None = None

    @classmethod
    def build(cls, statement: Executable, dialect: Dialect) -> _Plan | None:
        compiled = cast(ClauseElement, statement).compile(dialect=dialect)
        if (
            not isinstance(compiled, SQLCompiler)
            or compiled.post_compile_params
            or compiled.literal_execute_params
            or compiled.insert_prefetch
            or compiled.update_prefetch
        ):
            return None
        if compiled.positional:
            if compiled.positiontup is None:
                return None
            order, names = list(compiled.positiontup), None
        else:
            order = list(compiled.binds)
            names = tuple(order)
        slots = []
        for name in order:
            bind = compiled.binds[name]
            if bind.callable is not None or bind.expanding:
                return None
            default = _MISSING if bind.required else bind.value
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            slots.append((bind.key, default, processor))
        return cls(compiled.string, tuple(slots), names)

    def args(self, params: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        out = []
        for key, default, processor in self.slots:
            value = params.get(key, default)
            if value is _MISSING:
                raise KeyError(f"missing SQL parameter {key!r}")
            out.append(value if processor is None else processor(value))
        if self.names is not None:
            return dict(zip(self.names, out, strict=True))
        return tuple(out)
