"""The journal: the audit log (one row per decision, field names a contract) and the event
stream (what the operator should see: health events, alerts, suggestions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert

from outreach_tui.db import tables as t
from outreach_tui.db.session import DriverStatement

_AUDIT_INSERT = DriverStatement(
    insert(t.audit_log).values(
        {
            name: bindparam(name)
            for name in ("user_id", "lead_email", "sender_email", "subject", "policy_result",
                         "reason", "legal_basis", "timestamp", "attempt_id")
        }
    )
)  # fmt: skip


def write_audit(
    conn: Connection,
    *,
    user_id: str,
    policy_result: str,
    reason: str,
    at: datetime,
    lead_email: str | None = None,
    sender_email: str | None = None,
    subject: str | None = None,
    legal_basis: str | None = None,
    attempt_id: int | None = None,
) -> None:
    _AUDIT_INSERT.execute(
        conn,
        {
            "user_id": user_id,
            "lead_email": lead_email,
            "sender_email": sender_email,
            "subject": subject,
            "policy_result": policy_result,
            "reason": reason,
            "legal_basis": legal_basis,
            "timestamp": at,
            "attempt_id": attempt_id,
        },
    )


def write_event(
    conn: Connection,
    *,
    kind: str,
    message: str,
    at: datetime,
    severity: str = "info",
    subject_type: str | None = None,
    subject_id: str | int | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        insert(t.event).values(
            kind=kind,
            severity=severity,
            subject_type=subject_type,
            subject_id=None if subject_id is None else str(subject_id),
            message=message,
            data=data,
            created_at=at,
            acknowledged=False,
        )
    )
