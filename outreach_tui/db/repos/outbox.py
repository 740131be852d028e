"""The webhook outbox: reading new events and replies, queueing deliveries, and their state.

The outbox is filled by reading the `event` and `reply` tables past a cursor; a row is
queued once per receiver (unique on endpoint and source), so the reader may go back over
rows it has seen (engine/runtime/outbox.py re-reads a margin below its cursor, because on
PostgreSQL a lower id can commit after a higher one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, select, update

from outreach_tui.db import tables as t
from outreach_tui.db.repos._sql import upsert

# -- the cursor --------------------------------------------------------------------------

_CURSOR = select(t.webhook_cursor.c.last_id).where(t.webhook_cursor.c.source == bindparam("s"))
_MAX_EVENT = select(func.max(t.event.c.id))
_MAX_REPLY = select(func.max(t.reply.c.id))


def cursor(conn: Connection, source: str) -> int | None:
    """The highest id of `source` read so far; None before the first pass."""
    value = conn.execute(_CURSOR, {"s": source}).scalar_one_or_none()
    return None if value is None else int(value)


def set_cursor(conn: Connection, source: str, last_id: int, at: datetime) -> None:
    stmt = upsert(conn, t.webhook_cursor).values(source=source, last_id=last_id, updated_at=at)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["source"],
            set_={"last_id": stmt.excluded.last_id, "updated_at": stmt.excluded.updated_at},
        )
    )


def max_source_id(conn: Connection, source: str) -> int:
    """The highest id in `source` ("event" or "reply") now; 0 when it is empty."""
    query = _MAX_EVENT if source == "event" else _MAX_REPLY
    return int(conn.execute(query).scalar_one() or 0)


# -- what is read -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceEvent:
    """An `event` row the outbox may turn into webhooks."""

    id: int
    kind: str
    severity: str
    subject_type: str | None
    subject_id: str | None
    message: str
    data: dict[str, Any] | None
    created_at: datetime


_EVENTS_AFTER = (
    select(
        t.event.c.id,
        t.event.c.kind,
        t.event.c.severity,
        t.event.c.subject_type,
        t.event.c.subject_id,
        t.event.c.message,
        t.event.c.data,
        t.event.c.created_at,
    )
    .where(
        t.event.c.id > bindparam("after"), t.event.c.kind.in_(bindparam("kinds", expanding=True))
    )
    .order_by(t.event.c.id)
    .limit(bindparam("limit"))
)


def events_after(
    conn: Connection, after_id: int, kinds: list[str], limit: int
) -> list[SourceEvent]:
    rows = conn.execute(_EVENTS_AFTER, {"after": after_id, "kinds": kinds, "limit": limit})
    return [SourceEvent(*row) for row in rows]


@dataclass(frozen=True, slots=True)
class SourceReply:
    """A stored inbound message with what a `reply.*` webhook tells about it."""

    id: int
    classification: str | None
    from_email: str | None
    affected_email: str | None
    subject: str | None
    snippet: str | None
    received_at: datetime | None
    created_at: datetime
    mailbox_email: str
    attempt_id: int | None
    campaign: str | None


_REPLIES_AFTER = (
    select(
        t.reply.c.id,
        t.reply.c.classification,
        t.reply.c.from_email,
        t.reply.c.affected_email,
        t.reply.c.subject,
        t.reply.c.snippet,
        t.reply.c.received_at,
        t.reply.c.created_at,
        t.mailbox.c.email,
        t.reply.c.attempt_id,
        t.campaign.c.name,
    )
    .select_from(
        t.reply.join(t.mailbox, t.mailbox.c.id == t.reply.c.mailbox_id)
        .outerjoin(t.attempt, t.attempt.c.id == t.reply.c.attempt_id)
        .outerjoin(t.campaign, t.campaign.c.id == t.attempt.c.campaign_id)
    )
    .where(t.reply.c.id > bindparam("after"))
    .order_by(t.reply.c.id)
    .limit(bindparam("limit"))
)


def replies_after(conn: Connection, after_id: int, limit: int) -> list[SourceReply]:
    rows = conn.execute(_REPLIES_AFTER, {"after": after_id, "limit": limit})
    return [SourceReply(*row) for row in rows]


# -- deliveries ---------------------------------------------------------------------------


def enqueue(conn: Connection, rows: list[dict[str, Any]]) -> int:
    """Queue deliveries (keys: endpoint, source, event, delivery_id, payload, created_at,
    next_attempt_at); one already queued for the same endpoint and source is left alone.
    Returns how many were new."""
    if not rows:
        return 0
    values = [{**row, "state": "pending", "attempts": 0} for row in rows]
    stmt = upsert(conn, t.webhook_delivery).on_conflict_do_nothing(
        index_elements=["endpoint", "source"]
    )
    return int(conn.execute(stmt, values).rowcount or 0)


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    endpoint: str
    event: str
    delivery_id: str
    payload: str
    attempts: int
    created_at: datetime


_DUE = (
    select(
        t.webhook_delivery.c.id,
        t.webhook_delivery.c.endpoint,
        t.webhook_delivery.c.event,
        t.webhook_delivery.c.delivery_id,
        t.webhook_delivery.c.payload,
        t.webhook_delivery.c.attempts,
        t.webhook_delivery.c.created_at,
    )
    .where(
        t.webhook_delivery.c.state == "pending",
        t.webhook_delivery.c.next_attempt_at <= bindparam("now"),
    )
    .order_by(t.webhook_delivery.c.next_attempt_at, t.webhook_delivery.c.id)
    .limit(bindparam("limit"))
)


def due_deliveries(conn: Connection, now: datetime, limit: int) -> list[Delivery]:
    """Pending deliveries whose time has come, the longest-waiting first."""
    return [Delivery(*row) for row in conn.execute(_DUE, {"now": now, "limit": limit})]


_W = t.webhook_delivery
_DELIVERED = (
    update(_W)
    .where(_W.c.id == bindparam("i"), _W.c.state == "pending")
    .values(
        state="delivered",
        attempts=bindparam("attempts"),
        delivered_at=bindparam("at"),
        last_error=None,
    )
)
_RETRY = (
    update(_W)
    .where(_W.c.id == bindparam("i"), _W.c.state == "pending")
    .values(
        attempts=bindparam("attempts"),
        next_attempt_at=bindparam("next_at"),
        last_error=bindparam("error"),
    )
)
_ABANDON = (
    update(_W)
    .where(_W.c.id == bindparam("i"), _W.c.state == "pending")
    .values(
        state="abandoned",
        attempts=bindparam("attempts"),
        last_error=bindparam("error"),
        delivered_at=bindparam("at"),
    )
)


def mark_delivered(conn: Connection, delivery_id: int, attempts: int, at: datetime) -> None:
    conn.execute(_DELIVERED, {"i": delivery_id, "attempts": attempts, "at": at})


def mark_retry(
    conn: Connection, delivery_id: int, attempts: int, next_at: datetime, error: str
) -> None:
    conn.execute(
        _RETRY, {"i": delivery_id, "attempts": attempts, "next_at": next_at, "error": error}
    )


def mark_abandoned(
    conn: Connection, delivery_id: int, attempts: int, error: str, at: datetime
) -> None:
    conn.execute(_ABANDON, {"i": delivery_id, "attempts": attempts, "error": error, "at": at})


_PURGE = delete(_W).where(_W.c.state != "pending", _W.c.delivered_at < bindparam("before"))


def purge_finished(conn: Connection, before: datetime) -> int:
    """Delete deliveries delivered or abandoned before `before`; how many."""
    return int(conn.execute(_PURGE, {"before": before}).rowcount or 0)


_COUNTS = select(_W.c.state, func.count()).group_by(_W.c.state)
_OLDEST_PENDING = select(func.min(_W.c.created_at)).where(_W.c.state == "pending")


@dataclass(frozen=True, slots=True)
class OutboxState:
    pending: int
    delivered: int
    abandoned: int
    oldest_pending: datetime | None


def outbox_state(conn: Connection) -> OutboxState:
    counts = {str(state): int(n) for state, n in conn.execute(_COUNTS)}
    oldest = conn.execute(_OLDEST_PENDING).scalar_one_or_none()
    return OutboxState(
        pending=counts.get("pending", 0),
        delivered=counts.get("delivered", 0),
        abandoned=counts.get("abandoned", 0),
        oldest_pending=oldest,
    )


# -- what a webhook says about the rows it came from --------------------------------------

_REPLY_ADDRESSES = select(t.reply.c.id, t.reply.c.affected_email, t.reply.c.from_email).where(
    t.reply.c.id.in_(bindparam("ids", expanding=True))
)
_MAILBOX_EMAILS = select(t.mailbox.c.id, t.mailbox.c.email).where(
    t.mailbox.c.id.in_(bindparam("ids", expanding=True))
)
_CAMPAIGN_NAMES = select(t.campaign.c.id, t.campaign.c.name).where(
    t.campaign.c.id.in_(bindparam("ids", expanding=True))
)


def reply_addresses(conn: Connection, ids: list[int]) -> dict[int, str | None]:
    """Reply id → the address its effects were about (else its sender)."""
    if not ids:
        return {}
    rows = conn.execute(_REPLY_ADDRESSES, {"ids": ids})
    return {int(i): affected or sender for i, affected, sender in rows}


def mailbox_emails(conn: Connection, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {int(i): str(e) for i, e in conn.execute(_MAILBOX_EMAILS, {"ids": ids})}


def campaign_names(conn: Connection, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {int(i): str(n) for i, n in conn.execute(_CAMPAIGN_NAMES, {"ids": ids})}


_ATTEMPT_RECIPIENTS = select(t.attempt.c.id, t.attempt.c.recipient_email).where(
    t.attempt.c.id.in_(bindparam("ids", expanding=True))
)


def attempt_recipients(conn: Connection, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {int(i): str(e) for i, e in conn.execute(_ATTEMPT_RECIPIENTS, {"ids": ids})}
