"""`ConcurrentWrites` on a real PostgreSQL: several units in flight at once, each in a
transaction of its own, and a unit PostgreSQL aborts as a deadlock victim runs again."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Connection, Engine, text

from outreach_tui.db.session import make_engine
from outreach_tui.db.write_lanes import ConcurrentWrites


@pytest.fixture
def db(pg_database: str) -> Iterator[Engine]:
    engine = make_engine(pg_database)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE pair (id int PRIMARY KEY, n int NOT NULL)"))
        conn.execute(text("INSERT INTO pair VALUES (1, 0), (2, 0)"))
    yield engine
    engine.dispose()


def test_units_run_side_by_side_each_in_its_own_transaction(db: Engine) -> None:
    writes = ConcurrentWrites(db, lanes=3)
    both_inside = threading.Barrier(3, timeout=10)

    def unit(conn: Connection) -> int:
        both_inside.wait()  # all three units are inside a transaction at the same time
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())

    async def main() -> list[int]:
        return await asyncio.gather(*(writes.run(unit) for _ in range(3)))

    try:
        pids = asyncio.run(main())
    finally:
        writes.close()
    assert len(set(pids)) == 3  # three connections, not one transaction shared


def test_a_deadlock_victim_runs_again_and_both_units_commit(db: Engine) -> None:
    writes = ConcurrentWrites(db, lanes=2)
    first_locks = threading.Barrier(2, timeout=10)
    runs: list[str] = []

    def locker(first: int, second: int, name: str) -> Callable[[Connection], str]:
        def unit(conn: Connection) -> str:
            runs.append(name)
            conn.execute(text("UPDATE pair SET n = n + 1 WHERE id = :id"), {"id": first})
            if runs.count(name) == 1:  # only the first time: both hold one row, want the other
                first_locks.wait()
            conn.execute(text("UPDATE pair SET n = n + 1 WHERE id = :id"), {"id": second})
            return name

        return unit

    async def main() -> list[str]:
        return await asyncio.gather(writes.run(locker(1, 2, "a")), writes.run(locker(2, 1, "b")))

    try:
        assert asyncio.run(main()) == ["a", "b"]
    finally:
        writes.close()
    assert len(runs) >= 3  # one ran again after PostgreSQL chose it as the deadlock victim
    with db.connect() as conn:
        # Each unit's two increments, once: the victim's first try was rolled back.
        assert dict(conn.execute(text("SELECT id, n FROM pair")).all()) == {1: 2, 2: 2}


def test_a_unit_that_fails_for_its_own_reasons_is_not_run_again(db: Engine) -> None:
    writes = ConcurrentWrites(db, lanes=1)
    runs: list[int] = []

    def unit(conn: Connection) -> None:
        runs.append(1)
        conn.execute(text("INSERT INTO pair VALUES (1, 0)"))  # duplicate key

    try:
        with pytest.raises(Exception, match="duplicate key"):
            asyncio.run(writes.run(unit))
    finally:
        writes.close()
    assert runs == [1]
