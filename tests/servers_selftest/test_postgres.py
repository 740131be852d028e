"""The PostgreSQL test server: loopback only, unprivileged, a migrated database per test."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from outreach_tui.db import migrate
from outreach_tui.db.session import make_engine
from tests.servers.postgres import PostgresServer


def test_server_listens_on_loopback_only_with_the_test_speed_settings(postgres_server):
    with psycopg.connect(postgres_server.dsn()) as conn:
        assert conn.execute("SELECT inet_server_addr()::text").fetchone()[0] in (
            "127.0.0.1",
            "127.0.0.1/32",
        )
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == "127.0.0.1"
        assert conn.execute("SHOW fsync").fetchone()[0] == "off"
        assert int(conn.execute("SHOW server_version_num").fetchone()[0]) >= 130000


def test_server_runs_as_an_unprivileged_user(postgres_server):
    with psycopg.connect(postgres_server.dsn()) as conn:
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    # The backend runs as the postmaster's user.
    status = Path(f"/proc/{pid}/status").read_text()
    uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
    assert uid != 0
    if os.geteuid() != 0:
        assert uid == os.geteuid()


def test_each_test_database_is_migrated_and_isolated(postgres_server, pg_template, pg_database):
    engine = make_engine(pg_database)
    try:
        assert migrate.current_revision(engine) is not None
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO operator (id, display_name, created_at) "
                                 "VALUES ('only-here', '', now())"))  # fmt: skip
    finally:
        engine.dispose()
    other = postgres_server.create_database("selftest_other", template=pg_template)
    engine = make_engine(other)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM operator")).scalar() == 0
    finally:
        engine.dispose()
        postgres_server.drop_database("selftest_other")


def test_a_row_locked_by_one_transaction_is_skipped_by_another(pg_database):
    engine = make_engine(pg_database)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE job (id int PRIMARY KEY)"))
            conn.execute(sa.text("INSERT INTO job VALUES (1), (2)"))
        with engine.connect() as first, engine.connect() as second, first.begin():
            locked = first.execute(
                sa.text("SELECT id FROM job ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED")
            ).scalar()
            with second.begin():
                skipped = second.execute(
                    sa.text("SELECT id FROM job ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED")
                ).scalar()
        assert (locked, skipped) == (1, 2)
    finally:
        engine.dispose()


def test_stop_removes_the_cluster_directory():
    server = PostgresServer().start()
    base = server.base
    assert base is not None and (base / "data" / "PG_VERSION").exists()
    server.stop()
    assert not base.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(server.dsn(), connect_timeout=2)
