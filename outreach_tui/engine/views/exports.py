"""CSV exports: streamed from the database, formula cells neutralised, written atomically."""

from __future__ import annotations

import csv
import os
import tempfile
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine as SAEngine

from outreach_tui.core.csvsafe import neutralise_cell
from outreach_tui.core.errors import InputError
from outreach_tui.db.database import Database
from outreach_tui.db.repos.exports import EXPORTS, export_rows

__all__ = ["EXPORTS", "EXPORT_NAMES", "export_csv"]


#: The exports by name, for a command's choices.
EXPORT_NAMES: tuple[str, ...] = tuple(EXPORTS)


def _cell(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return neutralise_cell(value)


def export_csv(db: Database | SAEngine, what: str, output: Path) -> int:
    """Write one export to `output`; the file appears complete or not at all.

    `db`: the engine's `Database` (`engine.ctx.db`), or a bare SQLAlchemy engine (scripts
    and tests that have only that)."""
    if what not in EXPORTS:
        raise InputError(f"unknown export {what!r}; choose one of {', '.join(EXPORTS)}")
    _, columns = EXPORTS[what]
    database = db if isinstance(db, Database) else Database(db)
    output = output.expanduser()
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
    count = 0
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(columns)
            with database.read() as conn:
                for row in export_rows(conn, what):
                    writer.writerow([_cell(value) for value in row])
                    count += 1
        os.replace(tmp_name, output)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return count
