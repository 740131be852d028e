"""Fixtures shared by the functional tests: a database file per test, the CLI against it."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from outreach_tui.cli import cli
from outreach_tui.db import migrate
from outreach_tui.db.session import make_engine
from tests.functional import backend


@pytest.fixture(autouse=True)
def db_url(request, tmp_path):
    """This test's database: a SQLite file, or with OUTREACH_TEST_DB=postgresql a fresh
    migrated database on the loopback PostgreSQL (see tests/functional/backend.py)."""
    if backend.BACKEND == "postgresql":
        url = request.getfixturevalue("pg_database")
    else:
        url = f"sqlite:///{tmp_path / 'outreach.db'}"
    backend.register(tmp_path, url)
    yield url
    backend.forget(tmp_path)


@pytest.fixture
def db(db_url):
    """The database at `db_url`, migrated, disposed of afterwards."""
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def run_cli(db_url, *args, input=None):
    """`outreach-tui --db URL ARGS...` in-process, as an operator would type it."""
    return CliRunner().invoke(cli, ["--db", db_url, *args], input=input, catch_exceptions=False)
