"""`Database`: the engine's one door to the database.

    with db.read() as conn: ...          a read transaction (from a thread)
    with db.write() as conn: ...         a write transaction (from a thread)
    await db.run_write(fn)               a write transaction from the event loop

`run_write` is the same write transaction for code on the event loop (db/write_lanes.py):
on SQLite a `GroupCommit` (units queued while a commit is under way share the next
transaction and its one fsync, the COMMIT off the loop's thread); on PostgreSQL
`ConcurrentWrites` (each unit a transaction of its own, several at once on lanes). Either
way `fn(conn)` must be pure database work, since it may run a second time alone, and the
caller hears its result only once it is committed.

`shared` says whether several processes may write at once (PostgreSQL): the code that
needs database locks (caps, claims, leases) asks it here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Connection, Engine

from outreach_tui.db.session import read_tx, write_tx
from outreach_tui.db.write_lanes import ConcurrentWrites, GroupCommit

T = TypeVar("T")


def is_shared(engine: Engine) -> bool:
    """Several processes write to this database at once (PostgreSQL), so caps, claims and
    leases need database locks; SQLite's BEGIN IMMEDIATE admits one writer at a time."""
    return engine.dialect.name != "sqlite"


class Database:
    def __init__(self, engine: Engine, *, write_lanes: int = 2, db_thread: bool = False) -> None:
        """`write_lanes`: PostgreSQL write transactions at once (`[scheduler] db_connections`).
        `db_thread`: SQLite's group commit runs its statements on a thread of its own too
        (by default only the COMMIT leaves the loop's thread: a second thread doing CPU work
        fights the event loop for the GIL)."""
        self.engine = engine
        self.shared = is_shared(engine)
        self._write_lanes = write_lanes
        self._db_thread = db_thread
        self._executor: ThreadPoolExecutor | None = None
        self._writes: GroupCommit | ConcurrentWrites | None = None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (deferred on SQLite: no lock until needed)."""
        with read_tx(self.engine) as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: BEGIN IMMEDIATE on SQLite, a plain transaction elsewhere."""
        with write_tx(self.engine) as conn:
            yield conn

    async def run_write(self, fn: Callable[[Connection], T]) -> T:
        """Run `fn(conn)` in a write transaction from the event loop; its result once it is
        committed. `fn` must be pure database work: it may run a second time, alone."""
        return await self._lanes().run(fn)

    def _lanes(self) -> GroupCommit | ConcurrentWrites:
        if self._writes is None:
            if self.shared:
                # PostgreSQL: every statement is a round trip the caller waits for, so the
                # transactions run on lanes of their own, several at once.
                self._writes = ConcurrentWrites(self.engine, self._write_lanes)
            else:
                if self._db_thread:
                    self._executor = ThreadPoolExecutor(1, thread_name_prefix="outreach-db")
                self._writes = GroupCommit(self.engine, self._executor)
        return self._writes

    def close_writes(self) -> None:
        """Finish the commits under way and release the write lanes' connections."""
        writes, self._writes = self._writes, None
        if writes is not None:
            writes.close()
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)

    def dispose(self) -> None:
        self.close_writes()
        self.engine.dispose()
