"""The journal: the audit log (one row per decision, field names a contract) and the event
stream (what the operator should see: health events, alerts, suggestions)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

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
    _EVENT_INSERT.execute(
        conn,
        {
            "kind": kind,
            "severity": severity,
            "subject_type": subject_type,
            "subject_id": None if subject_id is None else str(subject_id),
            "message": message,
            "data": data,
            "created_at": at,
            "acknowledged": False,
        },
    )


# Prebuilt: a reply's effects may write one per message.
_EVENT_INSERT = DriverStatement(
    insert(t.event).values(
        {
            name: bindparam(name)
            for name in ("kind", "severity", "subject_type", "subject_id", "message", "data",
                         "created_at", "acknowledged")
        }
    )
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """An audit row held back to be written with others (`write_audits`)."""

    user_id: str
    policy_result: str
    reason: str
    at: datetime
    lead_email: str | None = None
    sender_email: str | None = None
    subject: str | None = None
    legal_basis: str | None = None
    attempt_id: int | None = None


def write_audits(conn: Connection, entries: Sequence[AuditEntry]) -> None:
    """Several audit rows in one round trip, in the order given."""
    if not entries:
        return
    _AUDIT_INSERT.executemany(
        conn,
        [
            {
                "user_id": e.user_id,
                "lead_email": e.lead_email,
                "sender_email": e.sender_email,
                "subject": e.subject,
                "policy_result": e.policy_result,
                "reason": e.reason,
                "legal_basis": e.legal_basis,
                "timestamp": e.at,
                "attempt_id": e.attempt_id,
            }
            for e in entries
        ],
    )


_LAST_EVENT_MESSAGE = (
    select(t.event.c.message)
    .where(
        t.event.c.subject_type == bindparam("subject_type"),
        t.event.c.subject_id == bindparam("subject_id"),
    )
    .order_by(t.event.c.id.desc())
    .limit(1)
)


def last_event_message(conn: Connection, subject_type: str, subject_id: str | int) -> str | None:
    """What the latest event about this subject said (to say a thing once, not every cycle)."""
    value = conn.execute(
        _LAST_EVENT_MESSAGE, {"subject_type": subject_type, "subject_id": str(subject_id)}
    ).scalar()
    return None if value is None else str(value)


# -- reading the event stream back (the guard's modes, suggestions and once-a-day notes) ---

_E = t.event
_LATEST_DATA = (
    select(_E.c.data).where(_E.c.kind == bindparam("kind")).order_by(_E.c.id.desc()).limit(1)
)
_KEYS_SINCE = select(_E.c.data).where(
    _E.c.kind == bindparam("kind"),
    _E.c.created_at >= bindparam("since", type_=_E.c.created_at.type),
    _E.c.subject_id.in_(bindparam("subject_ids", expanding=True)),
)
_OPEN_KEYS = select(_E.c.data).where(
    _E.c.kind == bindparam("kind"),
    _E.c.acknowledged.is_(False),
    _E.c.created_at >= bindparam("since", type_=_E.c.created_at.type),
)
_KEY_AFTER = (
    select(_E.c.id)
    .where(
        _E.c.kind == bindparam("kind"),
        _E.c.created_at > bindparam("after", type_=_E.c.created_at.type),
        _E.c.data["key"].as_string() == bindparam("key"),
    )
    .limit(1)
)


def latest_event_data(conn: Connection, kind: str) -> dict[str, Any] | None:
    """The data of the newest event of `kind` (None without one, or without data)."""
    data = conn.execute(_LATEST_DATA, {"kind": kind}).scalar()
    return data if isinstance(data, dict) else None


def _keys(rows: Any) -> set[str]:
    return {str(data["key"]) for (data,) in rows if isinstance(data, dict) and "key" in data}


def event_keys_since(
    conn: Connection, *, kind: str, since: datetime, subject_ids: Sequence[str]
) -> set[str]:
    """The `key`s in the data of the events of `kind` about these subjects since `since`."""
    params = {"kind": kind, "since": since, "subject_ids": list(subject_ids)}
    return _keys(conn.execute(_KEYS_SINCE, params))


def open_event_keys(conn: Connection, *, kind: str, since: datetime) -> set[str]:
    """The `key`s in the data of the events of `kind` since `since` nobody acknowledged."""
    return _keys(conn.execute(_OPEN_KEYS, {"kind": kind, "since": since}))


def event_with_key_after(conn: Connection, *, kind: str, key: str, after: datetime) -> bool:
    """An event of `kind` whose data's `key` is `key` was written after `after`."""
    return conn.execute(_KEY_AFTER, {"kind": kind, "key": key, "after": after}).first() is not None


@dataclass(frozen=True, slots=True)
class SubjectEvent:
    """An event as a count over a span reads it: whom it is about, when, and its data."""

    subject_id: str | None
    created_at: datetime
    message: str
    data: dict[str, Any] | None


_OF_KIND_SINCE = (
    select(_E.c.subject_id, _E.c.created_at, _E.c.message, _E.c.data)
    .where(
        _E.c.kind == bindparam("kind"),
        _E.c.created_at >= bindparam("since", type_=_E.c.created_at.type),
    )
    .order_by(_E.c.id)
)


def events_of_kind_since(conn: Connection, *, kind: str, since: datetime) -> list[SubjectEvent]:
    """The events of `kind` since `since`, oldest first (index (kind, created_at))."""
    rows = conn.execute(_OF_KIND_SINCE, {"kind": kind, "since": since})
    return [SubjectEvent(*row) for row in rows]


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: int
    created_at: datetime
    message: str
    data: dict[str, Any] | None
    acknowledged: bool


_STORED = select(_E.c.id, _E.c.created_at, _E.c.message, _E.c.data, _E.c.acknowledged)
_OPEN_OF_KIND = (
    _STORED.where(_E.c.kind == bindparam("kind"), _E.c.acknowledged.is_(False))
    .order_by(_E.c.id.desc())
    .limit(bindparam("limit"))
)
_BY_ID_AND_KIND = _STORED.where(_E.c.id == bindparam("id"), _E.c.kind == bindparam("kind"))
_ACKNOWLEDGE = update(_E).where(_E.c.id == bindparam("where_id"), _E.c.acknowledged.is_(False))


def open_events(conn: Connection, kind: str, limit: int) -> list[StoredEvent]:
    """The events of `kind` nobody acknowledged yet, newest first."""
    return [
        StoredEvent(*row) for row in conn.execute(_OPEN_OF_KIND, {"kind": kind, "limit": limit})
    ]


def event_of_kind(conn: Connection, event_id: int, kind: str) -> StoredEvent | None:
    row = conn.execute(_BY_ID_AND_KIND, {"id": event_id, "kind": kind}).first()
    return None if row is None else StoredEvent(*row)


def acknowledge_event(conn: Connection, event_id: int, by: str) -> bool:
    """Compare-and-set: acknowledge the event unless someone did first (then False)."""
    params = {"where_id": event_id, "acknowledged": True, "acknowledged_by": by}
    return bool(conn.execute(_ACKNOWLEDGE, params).rowcount)
