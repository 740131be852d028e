"""The write lanes behind `Database.run_write` (db/database.py): write transactions queued
from the event loop, committed without blocking it.

    GroupCommit        SQLite: the units queued while a commit is under way share the next
                       transaction and its one fsync; the COMMIT runs off the loop's thread
    ConcurrentWrites   PostgreSQL: each unit a transaction of its own, several at once on
                       lanes (threads) that keep their connections

Either way a unit `fn(conn)` is pure database work (it may run a second time, alone), and
its caller hears the result only once it is committed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from outreach_tui.db.session import write_connection, write_tx

log = logging.getLogger(__name__)
T = TypeVar("T")


class GroupCommit:
    """Write transactions queued from the event loop, run together: one BEGIN, one COMMIT.

    Every `run(fn)` waits until the transaction that ran `fn(conn)` has COMMITTED, so a caller
    never acts on (or reports) work that is not durable yet. Units queued while a transaction
    is being committed share the next one, so under load several sends share one commit (one
    fsync with `synchronous=FULL`, most of the cost of a small SQLite write transaction).

    The units run one after the other, in the order they were queued, inside one write
    transaction (BEGIN IMMEDIATE on SQLite), so each sees everything the earlier ones wrote
    and no other writer can come between a unit's reads and its writes. If the shared
    transaction fails (a unit raised, or the commit failed), it is rolled back and each
    unit runs again in a transaction of its own, so one unit's failure reaches only its own
    caller. Units must therefore be pure database work (re-running a rolled-back unit is
    safe). A unit whose caller was cancelled before it ran is dropped unrun.

    By default the statements run on the loop's thread (they are short, and a second thread
    running Python code contends with the loop for the GIL) and only the COMMIT, which
    waits for the disk without holding the GIL, runs on a helper thread: the loop keeps
    serving SMTP sessions during the fsync. With `executor` the whole transaction runs there.
    """

    def __init__(
        self,
        engine: Engine,
        executor: Executor | None = None,
        *,
        commit_thread: bool = True,
        on_begin: Callable[[Connection], None] | None = None,
    ) -> None:
        self._engine = engine
        #: Run first in every transaction (e.g. PostgreSQL's per-operator lock, so the
        #: transactions of several workers that touch the same caps queue instead of
        #: deadlocking on each other's row and advisory locks).
        self._on_begin = on_begin
        self._executor = executor
        self._commit_thread = commit_thread
        self._committer: ThreadPoolExecutor | None = None
        self._conn: Connection | None = None  # kept between transactions (no pool round trip)
        self._queue: list[tuple[Callable[[Connection], Any], asyncio.Future[Any]]] = []
        self._task: asyncio.Task[None] | None = None

    async def run(self, fn: Callable[[Connection], T]) -> T:
        """Run `fn(conn)` in a write transaction; return its result once committed."""
        loop = asyncio.get_running_loop()
        if self._task is not None and self._task.get_loop() is not loop:
            # A previous event loop ended without finishing its flush (the one-shot CLI
            # commands each run their own loop): its waiters are gone with it.
            self._task, self._queue = None, []
        future: asyncio.Future[T] = loop.create_future()
        self._queue.append((fn, future))
        if self._task is None:
            self._task = loop.create_task(self._flush())
        return await future

    def close(self) -> None:
        """Stop the commit thread (after the commits under way), release the connection."""
        if self._committer is not None:
            self._committer.shutdown(wait=True)
            self._committer = None
        self._release()

    def _release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _connection(self) -> Connection:
        conn = self._conn
        if conn is None or conn.closed or conn.invalidated:
            conn = self._conn = write_connection(self._engine)
        return conn

    async def _flush(self) -> None:
        try:
            while True:
                jobs, self._queue = self._queue, []
                jobs = [(fn, future) for fn, future in jobs if not future.done()]
                if not jobs:
                    return
                fns = [fn for fn, _ in jobs]
                try:
                    if self._executor is not None:
                        loop = asyncio.get_running_loop()
                        results = await loop.run_in_executor(self._executor, self._execute, fns)
                    else:
                        results = await self._execute_here(fns, jobs)
                except asyncio.CancelledError:
                    for _, future in jobs:
                        future.cancel()
                    raise
                except Exception as exc:  # e.g. the executor was shut down
                    results = [(False, exc)] * len(jobs)
                _settle(jobs, results)
        finally:
            self._task = None

    async def _execute_here(
        self,
        fns: list[Callable[[Connection], Any]],
        jobs: list[tuple[Callable[[Connection], Any], asyncio.Future[Any]]],
    ) -> list[tuple[bool, Any]]:
        """Statements on this thread, COMMIT on the commit thread."""
        failure: Exception
        conn = self._connection()
        try:
            trans = conn.begin()
            try:
                if self._on_begin is not None:
                    self._on_begin(conn)
                results = [(True, fn(conn)) for fn in fns]
            except Exception:
                trans.rollback()
                raise
            if not self._commit_thread:
                trans.commit()
                return results
            if self._committer is None:
                self._committer = ThreadPoolExecutor(1, thread_name_prefix="outreach-commit")
            commit = self._committer.submit(trans.commit)
            try:
                await asyncio.wrap_future(commit)
            except asyncio.CancelledError:
                # The connection must not be used or closed under the commit: wait for it,
                # and tell the waiting callers what became of their work.
                concurrent.futures.wait([commit])
                if commit.exception() is None:
                    _settle(jobs, results)
                raise
            return results
        except Exception as exc:
            failure = exc
            self._release()  # a fresh connection after any failure
        if len(fns) == 1:
            return [(False, failure)]
        return self._isolated(fns)

    def _execute(self, fns: list[Callable[[Connection], Any]]) -> list[tuple[bool, Any]]:
        """The whole transaction on the calling thread."""
        try:
            with write_tx(self._engine) as conn:
                if self._on_begin is not None:
                    self._on_begin(conn)
                results = [(True, fn(conn)) for fn in fns]
        except Exception as exc:
            if len(fns) == 1:
                return [(False, exc)]
            return self._isolated(fns)
        return results

    def _isolated(self, fns: list[Callable[[Connection], Any]]) -> list[tuple[bool, Any]]:
        """After a shared transaction failed: each unit in a transaction of its own."""
        isolated: list[tuple[bool, Any]] = []
        for fn in fns:
            try:
                with write_tx(self._engine) as conn:
                    if self._on_begin is not None:
                        self._on_begin(conn)
                    isolated.append((True, fn(conn)))
            except Exception as exc:
                isolated.append((False, exc))
        return isolated


def _settle(
    jobs: list[tuple[Callable[[Connection], Any], asyncio.Future[Any]]],
    results: list[tuple[bool, Any]],
) -> None:
    for (_, future), (ok, value) in zip(jobs, results, strict=True):
        if future.done():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


#: SQLSTATEs after which a transaction may simply run again: deadlock detected and
#: serialization failure (PostgreSQL aborts one of the transactions involved).
_RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


class ConcurrentWrites:
    """Write transactions for a database server (PostgreSQL): up to `lanes` at once, each
    unit in a transaction of its own, on a connection its lane keeps.

    SQLite admits one writer at a time, so there `GroupCommit` shares one transaction
    between the units that queue. A server runs many transactions side by side, and each
    statement is a network round trip the caller waits for without the GIL: one lane would
    make a worker's sends take turns for the database (about 240 sends a second here,
    whatever the number of workers). Units do not share a transaction, so one unit's
    locks (the operator's cap lock, db/repos/counters.py `lock_scopes`) are held only for its own
    statements. A unit that PostgreSQL aborts as a deadlock victim or for a serialization
    failure runs again (units are pure database work, as for `GroupCommit`).
    """

    def __init__(self, engine: Engine, lanes: int, *, retries: int = 3) -> None:
        self._engine = engine
        self._retries = retries
        self._executor = ThreadPoolExecutor(lanes, thread_name_prefix="outreach-db")
        self._local = threading.local()
        self._open: set[Connection] = set()
        self._open_lock = threading.Lock()

    async def run(self, fn: Callable[[Connection], T]) -> T:
        """Run `fn(conn)` in a transaction of its own; return its result once committed.
        A unit whose caller was cancelled before a lane took it is dropped unrun."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._run, fn)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        with self._open_lock:
            conns, self._open = self._open, set()
        for conn in conns:
            # Closed outright, not checked in: a lane's connection handed back to the pool
            # was seen outliving the engine's dispose(), left open for the garbage collector.
            conn.invalidate()
            conn.close()

    def _run(self, fn: Callable[[Connection], T]) -> T:
        for attempt in range(self._retries + 1):
            conn = self._connection()
            try:
                with conn.begin():
                    return fn(conn)
            except DBAPIError as exc:
                self._drop(conn)  # a fresh connection after a database error
                sqlstate = getattr(exc.orig, "sqlstate", None)
                if attempt == self._retries or sqlstate not in _RETRYABLE_SQLSTATES:
                    raise
                log.warning("write transaction aborted (%s), running it again", sqlstate)
        raise AssertionError("unreachable")  # pragma: no cover

    def _connection(self) -> Connection:
        # Kept by the lane: no pool check-out (a ping) and reset (a ROLLBACK) per unit.
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.invalidated:
            conn = self._local.conn = self._engine.connect()
            with self._open_lock:
                self._open.add(conn)
        return conn

    def _drop(self, conn: Connection) -> None:
        self._local.conn = None
        with self._open_lock:
            self._open.discard(conn)
        conn.close()
