"""The tables `outreach-tui export` writes to CSV, and their rows streamed in key order
(`engine/views/exports.py` neutralises the cells and writes the file)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import Connection, Select, Table, select

from outreach_tui.db import tables as t

#: Export name → (table, the columns written, in order; the first is the sort key).
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


def _query(table: Table, names: Sequence[str]) -> Select[tuple[object, ...]]:
    return select(*(table.c[name] for name in names)).order_by(table.c[names[0]])


_QUERIES = {what: _query(table, names) for what, (table, names) in EXPORTS.items()}


def export_rows(conn: Connection, what: str) -> Iterator[tuple[object, ...]]:
    """The rows of the export `what` (a key of `EXPORTS`), a thousand fetched at a time."""
    for row in conn.execution_options(yield_per=1000).execute(_QUERIES[what]):
        yield tuple(row)
