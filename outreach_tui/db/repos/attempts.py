"""The attempt ledger (`outreach_attempt`) and its idempotency keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, String, bindparam, cast, exists, literal, select, update

from outreach_tui.core.states import AttemptState
from outreach_tui.db import tables as t
from outreach_tui.db.repos._sql import upsert
from outreach_tui.db.session import DriverStatement

_IDEM_UPSERT: dict[str, DriverStatement] = {}


def record_idempotency(conn: Connection, key: str, attempt_id: int, at: datetime) -> None:
    stmt = _IDEM_UPSERT.get(conn.dialect.name)
    if stmt is None:
        base = upsert(conn, t.idempotency_key).values(
            key=bindparam("key"), attempt_id=bindparam("attempt_id"), sent_at=bindparam("sent_at")
        )
        stmt = DriverStatement(
            base.on_conflict_do_update(
                index_elements=["key"],
                set_={"attempt_id": base.excluded.attempt_id, "sent_at": base.excluded.sent_at},
            )
        )
        _IDEM_UPSERT[conn.dialect.name] = stmt
    stmt.execute(conn, {"key": key, "attempt_id": attempt_id, "sent_at": at})


def mark_interrupted_unknown(
    conn: Connection,
    at: datetime,
    *,
    mailbox_ids: list[int] | None = None,
    unless_leased: bool = False,
) -> list[int]:
    """Attempts left in `sending` by a crash become `unknown` (never re-sent blindly).

    `mailbox_ids`: only those mailboxes' attempts (a dead worker's mailboxes, taken over).
    `unless_leased`: leave the attempts of mailboxes some live process holds: with several
    workers on one database, a worker starting up must not judge another's send in flight.
    """
    query = select(t.attempt.c.id).where(t.attempt.c.state == AttemptState.SENDING.value)
    if mailbox_ids is not None:
        query = query.where(t.attempt.c.mailbox_id.in_(mailbox_ids))
    if unless_leased:
        query = query.where(
            ~exists().where(
                t.lease.c.name == literal("mailbox:") + cast(t.attempt.c.mailbox_id, String),
                t.lease.c.expires_at >= at,
            )
        )
    ids = [int(row[0]) for row in conn.execute(query)]
    if ids:
        conn.execute(
            update(t.attempt)
            .where(t.attempt.c.id.in_(ids), t.attempt.c.state == AttemptState.SENDING.value)
            .values(
                state=AttemptState.UNKNOWN.value,
                error_class="unknown_outcome",
                error_detail="process stopped while sending; check the Sent folder",
                updated_at=at,
            )
        )
    return ids
