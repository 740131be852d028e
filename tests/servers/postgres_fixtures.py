"""pytest fixtures for a real PostgreSQL on loopback; import with ``from ... import *``.

``postgres_server``  one server per test session (starting a cluster takes about a second)
``pg_template``      a database migrated to head once per session, the template of the rest
``pg_database``      a fresh database per test, ``CREATE DATABASE ... TEMPLATE`` of the
                     migrated one (a file copy: much faster than running the migrations)

A missing PostgreSQL fails the test (``pytest.fail``), never skips it.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.servers.postgres import PostgresMissing, PostgresServer

__all__ = ["pg_database", "pg_template", "postgres_server"]

TEMPLATE = "outreach_template"
_names = itertools.count(1)
_dropper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-drop")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    try:
        server = PostgresServer().start()
    except PostgresMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        _dropper.shutdown(wait=True)
        server.stop()


@pytest.fixture(scope="session")
def pg_template(postgres_server: PostgresServer) -> str:
    """The name of a database migrated to head (use it as a TEMPLATE, never connect to it
    in a test: CREATE DATABASE refuses a template that has connections)."""
    from outreach_tui.db import migrate
    from outreach_tui.db.session import make_engine

    url = postgres_server.create_database(TEMPLATE)
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    return TEMPLATE


@pytest.fixture
def pg_database(postgres_server: PostgresServer, pg_template: str) -> Iterator[str]:
    """The SQLAlchemy URL of a migrated database made for this test, dropped afterwards."""
    name = f"test_{os.getpid()}_{next(_names)}"
    url = postgres_server.create_database(name, template=pg_template)
    try:
        yield url
    finally:
        # DROP DATABASE waits for a checkpoint (about a second): done in the background so
        # the next test need not wait; the session's teardown waits for the last one.
        _dropper.submit(postgres_server.drop_database, name)
