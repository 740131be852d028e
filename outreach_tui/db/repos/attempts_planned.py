"""The attempt ledger before a send: the planner's batch of new attempts and the
idempotency keys it checks them against, the approval queue (`pending_approval`), and
withdrawing the unsent attempts of a stopped sequence. The send path's statements are in
db/repos/attempts_sending.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import Connection, bindparam, func, insert, select, update

from outreach_tui.core.states import AttemptState
from outreach_tui.db import tables as t
from outreach_tui.db.records import AttemptRecord, columns

_A = t.attempt
_PENDING = AttemptState.PENDING_APPROVAL.value

#: Attempts that have not reached a server yet: a stopped sequence withdraws them.
UNSENT_STATES = (AttemptState.PENDING_APPROVAL.value, AttemptState.APPROVED.value)

# -- the planner's batch ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlannedAttempt:
    """A step of a sequence rendered into the ledger (engine/sending/planner.py)."""

    lead_id: int
    campaign_id: int
    campaign_lead_id: int
    step_position: int
    mailbox_id: int
    operator_id: str
    sender_email: str
    recipient_email: str
    recipient_domain: str
    subject: str
    body: str
    idempotency_key: str
    state: str
    message_id: str
    in_reply_to: str | None
    references: str | None
    policy_result: str
    legal_basis: str
    region: str | None
    retry_count: int
    next_attempt_at: datetime
    approved_by: str | None
    approved_at: datetime | None
    created_at: datetime
    updated_at: datetime


_PLANNED_FIELDS = tuple(f.name for f in fields(PlannedAttempt))
_INSERT_PLANNED = insert(_A)


def insert_planned_attempts(conn: Connection, attempts: Sequence[PlannedAttempt]) -> None:
    """Insert these attempts: one executemany."""
    if attempts:
        conn.execute(
            _INSERT_PLANNED,
            [{name: getattr(a, name) for name in _PLANNED_FIELDS} for a in attempts],
        )


_RECENT_KEYS = select(t.idempotency_key.c.key).where(
    t.idempotency_key.c.key.in_(bindparam("keys", expanding=True)),
    t.idempotency_key.c.sent_at > bindparam("since"),
)


def recent_idempotency_keys(conn: Connection, keys: Sequence[str], since: datetime) -> set[str]:
    """Those of `keys` sent after `since`: one query for the batch."""
    if not keys:
        return set()
    return {
        str(key)
        for key in conn.execute(_RECENT_KEYS, {"keys": list(set(keys)), "since": since}).scalars()
    }


# -- the approval queue -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueueItem:
    """An attempt waiting for approval, as the console's Queue pane shows it."""

    attempt_id: int
    campaign: str | None
    step: int | None
    sender: str
    recipient: str
    subject: str
    body: str
    scheduled_at: datetime | None
    lead_health: str | None
    legal_basis: str | None
    edited_by: str | None


_PENDING_COUNT = select(func.count()).select_from(_A).where(_A.c.state == _PENDING)
_PENDING_PAGE = (
    select(
        _A.c.id,
        t.campaign.c.name,
        _A.c.step_position,
        _A.c.sender_email,
        _A.c.recipient_email,
        _A.c.subject,
        _A.c.body,
        _A.c.next_attempt_at,
        t.lead.c.health,
        _A.c.legal_basis,
        _A.c.edited_by,
    )
    .join(t.lead, t.lead.c.id == _A.c.lead_id)
    .outerjoin(t.campaign, t.campaign.c.id == _A.c.campaign_id)
    .where(_A.c.state == _PENDING)
    .order_by(_A.c.next_attempt_at, _A.c.id)
    .offset(bindparam("offset"))
    .limit(bindparam("limit"))
)
_PENDING_IDS = (
    select(_A.c.id)
    .where(_A.c.state == _PENDING)
    .order_by(_A.c.next_attempt_at, _A.c.id)
    .limit(bindparam("limit"))
)
_ATTEMPT_COLUMNS = columns(AttemptRecord, _A)
_PENDING_BY_ID = select(*_ATTEMPT_COLUMNS).where(
    _A.c.id.in_(bindparam("ids", expanding=True)), _A.c.state == _PENDING
)
_ATTEMPT_BY_ID = select(*_ATTEMPT_COLUMNS).where(_A.c.id == bindparam("id"))


def pending_count(conn: Connection) -> int:
    return int(conn.execute(_PENDING_COUNT).scalar() or 0)


def pending_page(conn: Connection, *, offset: int, limit: int) -> list[QueueItem]:
    """The waiting attempts by scheduled time (then id), `limit` of them from `offset`."""
    return [
        QueueItem(*row) for row in conn.execute(_PENDING_PAGE, {"offset": offset, "limit": limit})
    ]


def pending_ids(conn: Connection, *, limit: int) -> list[int]:
    """The ids of the waiting attempts, in the queue's order."""
    return [int(i) for i in conn.execute(_PENDING_IDS, {"limit": limit}).scalars()]


def pending_attempts(conn: Connection, attempt_ids: Sequence[int]) -> list[AttemptRecord]:
    """Those of these attempts still waiting for approval."""
    return [AttemptRecord(*row) for row in conn.execute(_PENDING_BY_ID, {"ids": list(attempt_ids)})]


def attempt_by_id(conn: Connection, attempt_id: int) -> AttemptRecord | None:
    row = conn.execute(_ATTEMPT_BY_ID, {"id": attempt_id}).first()
    return None if row is None else AttemptRecord(*row)


_APPROVE = (
    update(_A)
    .where(_A.c.id.in_(bindparam("ids", expanding=True)), _A.c.state == _PENDING)
    .values(
        state=AttemptState.APPROVED.value,
        updated_at=bindparam("at"),
        approved_by=bindparam("by"),
        approved_at=bindparam("at"),
    )
)
_REJECT = (
    update(_A)
    .where(_A.c.id.in_(bindparam("ids", expanding=True)), _A.c.state == _PENDING)
    .values(
        state=AttemptState.REJECTED.value,
        updated_at=bindparam("at"),
        policy_result="rejected",
        error_detail=bindparam("reason"),
    )
)
# A WHERE parameter of an UPDATE is never named after a column (SQLAlchemy reserves those
# names for the SET clause).
_EDIT = (
    update(_A)
    .where(_A.c.id == bindparam("for_id"))
    .values(
        subject=bindparam("subject"),
        body=bindparam("body"),
        idempotency_key=bindparam("idempotency_key"),
        edited_by=bindparam("by"),
        edited_at=bindparam("at"),
        updated_at=bindparam("at"),
    )
)


def approve_attempts(
    conn: Connection, attempt_ids: Sequence[int], *, by: str, at: datetime
) -> None:
    """Those of these attempts still waiting are approved by `by`."""
    conn.execute(_APPROVE, {"ids": list(attempt_ids), "by": by, "at": at})


def reject_attempts(
    conn: Connection, attempt_ids: Sequence[int], *, reason: str, at: datetime
) -> None:
    """Those of these attempts still waiting are rejected, with `reason`."""
    conn.execute(_REJECT, {"ids": list(attempt_ids), "reason": reason[:300], "at": at})


def edit_attempt(
    conn: Connection,
    attempt_id: int,
    *,
    subject: str,
    body: str,
    idempotency_key: str,
    by: str,
    at: datetime,
) -> None:
    """A waiting attempt's new text (and the idempotency key of its new subject)."""
    conn.execute(
        _EDIT,
        {
            "for_id": attempt_id,
            "subject": subject,
            "body": body,
            "idempotency_key": idempotency_key,
            "by": by,
            "at": at,
        },
    )


# -- withdrawing a stopped sequence's attempts --------------------------------------------


@dataclass(frozen=True, slots=True)
class UnsentAttempt:
    """What the audit says of a withdrawn attempt."""

    id: int
    recipient_email: str
    sender_email: str
    subject: str


_UNSENT_OF_ENROLLMENTS = select(
    _A.c.id, _A.c.recipient_email, _A.c.sender_email, _A.c.subject
).where(
    _A.c.campaign_lead_id.in_(bindparam("enrollment_ids", expanding=True)),
    _A.c.state.in_(UNSENT_STATES),
)


def unsent_attempts(conn: Connection, enrollment_ids: Sequence[int]) -> list[UnsentAttempt]:
    """The attempts of these enrollments that have not reached a server."""
    rows = conn.execute(_UNSENT_OF_ENROLLMENTS, {"enrollment_ids": list(enrollment_ids)})
    return [UnsentAttempt(*row) for row in rows]


_WITHDRAW = (
    update(_A)
    .where(_A.c.id.in_(bindparam("ids", expanding=True)), _A.c.state.in_(UNSENT_STATES))
    .values(
        state=AttemptState.REJECTED.value,
        policy_result="withdrawn",
        error_detail=bindparam("reason"),
        updated_at=bindparam("at"),
    )
)


def withdraw_attempts(
    conn: Connection, attempt_ids: Sequence[int], *, reason: str, at: datetime
) -> None:
    """Those of these attempts still unsent are rejected as `withdrawn`."""
    conn.execute(_WITHDRAW, {"ids": list(attempt_ids), "reason": reason[:300], "at": at})
