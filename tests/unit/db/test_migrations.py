"""Migrations run at start; a database made by the first migration upgrades cleanly."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

from outreach_tui.db import migrate
from outreach_tui.db.session import make_engine, write_tx


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    """An empty database, on each backend (PostgreSQL: a real server on loopback)."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
        yield eng
        eng.dispose()
        return
    server = request.getfixturevalue("postgres_server")
    name = f"migrations_{abs(hash(request.node.nodeid)) % 10**8}"
    eng = make_engine(server.create_database(name))
    yield eng
    eng.dispose()
    server.drop_database(name)


@pytest.fixture
def sqlite_engine(tmp_path):
    eng = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    yield eng
    eng.dispose()


def test_database_from_first_migration_upgrades_to_head_keeping_rows(engine):
    migrate.upgrade(engine, "0001")
    with write_tx(engine) as conn:
        conn.execute(
            sa.text(
                "INSERT INTO suppression (kind, value, reason, source, created_at) "
                "VALUES ('address', 'old@example.com', 'r', 's', :t)"
            ),
            {"t": datetime.now(UTC)},
        )
    migrate.upgrade(engine)
    head = ScriptDirectory.from_config(migrate.alembic_config(engine)).get_current_head()
    assert migrate.current_revision(engine) == head
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT value FROM suppression")).scalar() == "old@example.com"


def test_migrated_schema_matches_the_models(engine):
    migrate.upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == [], f"models changed without a migration: {diff}"


def test_upgrade_twice_is_harmless(engine):
    migrate.upgrade(engine)
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) is not None


def test_sqlite_runs_in_wal_with_foreign_keys_and_a_busy_timeout(sqlite_engine):
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000


def test_write_transactions_take_the_lock_at_begin(tmp_path):
    url = f"sqlite:///{tmp_path / 'lock.db'}"
    first = make_engine(url)
    second = make_engine(url, busy_timeout_ms=0)
    migrate.upgrade(first)
    try:
        # BEGIN IMMEDIATE in the first holds the write lock before any statement ran.
        with (
            write_tx(first),
            pytest.raises(sa.exc.OperationalError, match="locked"),
            write_tx(second),
        ):
            pass
    finally:
        first.dispose()
        second.dispose()
