"""CSV exports: streamed from the database, formula cells neutralised, written atomically."""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, Table, select

from outreach_tui.core.csvsafe import neutralise_cell
from outreach_tui.core.errors import InputError
from outreach_tui.db import tables as t
from outreach_tui.db.session import read_tx

EXPORTS: dict[str, tuple[Table, Sequence[str]]] = {
    "audit": (
        t.audit_log,
        ("id", "timestamp", "user_id", "lead_email", "sender_email", "subject", "policy_result",
         "reason", "legal_basis", "attempt_id"),
    ),
    "attempts": (
        t.attempt,
        ("id", "state", "campaign_id", "step_position", "operator_id", "sender_email",
         "recipient_email", "subject", "message_id", "legal_basis", "region", "policy_result",
         "smtp_code", "smtp_response", "error_class", "retry_count", "next_attempt_at",
         "created_at", "sending_started_at", "sent_at", "approved_by"),
    ),
    "suppression": (
        t.suppression,
        ("id", "kind", "value", "reason", "source", "created_by", "created_at"),
    ),
    "leads": (
        t.lead,
        ("id", "email", "first_name", "last_name", "company", "website", "timezone", "status",
         "verification_status", "verification_score", "health", "created_at"),
    ),
}  # fmt: skip


def _cell(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return neutralise_cell(value)


def _rows(db: Engine, table: Table, columns: Sequence[str]) -> Iterator[list[str]]:
    query = select(*(table.c[name] for name in columns)).order_by(table.c[columns[0]])
    with read_tx(db) as conn:
        for row in conn.execution_options(yield_per=1000).execute(query):
            yield [_cell(value) for value in row]


def export_csv(db: Engine, what: str, output: Path) -> int:
    """Write one export to `output`; the file appears complete or not at all."""
    if what not in EXPORTS:
        raise InputError(f"unknown export {what!r}; choose one of {', '.join(EXPORTS)}")
    table, columns = EXPORTS[what]
    output = output.expanduser()
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
    count = 0
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(columns)
            for values in _rows(db, table, columns):
                writer.writerow(values)
                count += 1
        os.replace(tmp_name, output)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return count
