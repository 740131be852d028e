"""Which database the functional tests run on: SQLite (default) or a real PostgreSQL.

`OUTREACH_TEST_DB=postgresql pytest tests/functional` runs the engine tests against the
loopback PostgreSQL of `tests/servers/postgres.py`, a fresh migrated database per test
(`make test` does both runs). Helpers that build settings ask `database_url(tmp_path)`.
"""

from __future__ import annotations

import os
from pathlib import Path

BACKEND = os.environ.get("OUTREACH_TEST_DB", "sqlite").strip().lower() or "sqlite"
if BACKEND not in ("sqlite", "postgresql"):
    raise RuntimeError(f"OUTREACH_TEST_DB must be sqlite or postgresql, not {BACKEND!r}")

_urls: dict[Path, str] = {}


def database_url(tmp_path: Path) -> str:
    """The URL of this test's database (the `db_url` fixture's value)."""
    return _urls.get(Path(tmp_path), f"sqlite:///{Path(tmp_path) / 'outreach.db'}")


def register(tmp_path: Path, url: str) -> None:
    _urls[Path(tmp_path)] = url


def forget(tmp_path: Path) -> None:
    _urls.pop(Path(tmp_path), None)
