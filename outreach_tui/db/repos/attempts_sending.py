"""The attempt ledger on the send path: an attempt's insert or claim, its outcome, and the
dispatcher's queue of due attempts (the rest of the ledger is in db/repos/attempts.py).

The statements run for every send are `DriverStatement`s; the reads whose values need their
types' result processing (UTC datetimes) go through `conn.execute`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    String,
    bindparam,
    cast,
    exists,
    insert,
    literal,
    or_,
    select,
    update,
)

from outreach_tui.core.states import AttemptState, CampaignStatus, MailboxPhase
from outreach_tui.db import tables as t
from outreach_tui.db.records import AttemptRecord, AttemptToSend, columns
from outreach_tui.db.repos.leases import MAILBOX_PREFIX
from outreach_tui.db.session import DriverStatement

# -- a send (engine/sending/attempt_store.py, engine/sending/outcomes.py) -----------------

#: The columns a one-off send's attempt is inserted with (`insert_attempt`).
NEW_ATTEMPT_COLUMNS = (
    "lead_id", "campaign_id", "mailbox_id", "operator_id", "sender_email", "recipient_email",
    "recipient_domain", "subject", "body", "idempotency_key", "state", "message_id",
    "in_reply_to", "references", "legal_basis", "region", "policy_result", "retry_count",
    "first_tried_at", "sending_started_at", "approved_by", "approved_at", "created_at",
    "updated_at",
)  # fmt: skip
_INSERT = DriverStatement(
    insert(t.attempt)
    .values({name: bindparam(name) for name in NEW_ATTEMPT_COLUMNS})
    .returning(t.attempt.c.id)
)


def insert_attempt(conn: Connection, values: Mapping[str, Any]) -> int:
    """A new attempt (`values` keyed by `NEW_ATTEMPT_COLUMNS`, every one given); its id."""
    return int(_INSERT.execute(conn, values).scalar_one())


# With the campaign's postal address (the footer a campaign sets for its messages) and the
# lead's address and status, which the policy needs: one round trip, not two.
_TO_SEND = (
    select(
        *columns(
            AttemptToSend,
            t.attempt,
            postal_address=t.campaign.c.postal_address,
            lead_email=t.lead.c.email,
            lead_status=t.lead.c.status,
            lead_first_name=t.lead.c.first_name,
            lead_last_name=t.lead.c.last_name,
        )
    )
    .select_from(
        t.attempt.join(t.lead, t.lead.c.id == t.attempt.c.lead_id).outerjoin(
            t.campaign, t.campaign.c.id == t.attempt.c.campaign_id
        )
    )
    .where(t.attempt.c.id == bindparam("id"))
)
# PostgreSQL's claim: the row is locked from the read to the COMMIT, and a row another
# worker is claiming right now is skipped, not waited for (it is theirs).
_TO_CLAIM = _TO_SEND.where(t.attempt.c.state == AttemptState.APPROVED.value).with_for_update(
    of=t.attempt, skip_locked=True
)


def attempt_to_send(conn: Connection, attempt_id: int) -> AttemptToSend | None:
    """The attempt with what its send needs. On PostgreSQL (several writers) only an
    `approved` one, locked until the COMMIT, and None when another transaction holds it."""
    query = _TO_SEND if conn.dialect.name == "sqlite" else _TO_CLAIM
    row = conn.execute(query, {"id": attempt_id}).first()
    return None if row is None else AttemptToSend(*row)


# The claim: approved to sending, the row as it now is returned (no second read). Not a
# DriverStatement: the row's values need their types' result processing (UTC datetimes).
_CLAIM = (
    update(t.attempt)
    .where(
        t.attempt.c.id == bindparam("attempt_id"),
        t.attempt.c.state == AttemptState.APPROVED.value,
    )
    .values(
        {
            name: bindparam(name)
            for name in ("state", "sending_started_at", "first_tried_at", "legal_basis",
                         "region", "policy_result", "updated_at")
        }
    )
    .returning(*columns(AttemptRecord, t.attempt))
)  # fmt: skip


def claim_attempt(
    conn: Connection,
    attempt: AttemptToSend,
    *,
    at: datetime,
    legal_basis: str | None,
    region: str | None,
) -> AttemptToSend | None:
    """`approved` to `sending` (compare-and-set), allowed by the policy; the attempt as it
    now is, or None when another sender claimed it first."""
    row = conn.execute(
        _CLAIM,
        {
            "attempt_id": attempt.id,
            "state": AttemptState.SENDING.value,
            "sending_started_at": at,
            "first_tried_at": attempt.first_tried_at or at,
            "legal_basis": legal_basis,
            "region": region,
            "policy_result": "allowed",
            "updated_at": at,
        },
    ).first()
    if row is None:
        return None
    return AttemptToSend(
        *[
            *row,
            attempt.postal_address,
            attempt.lead_email,
            attempt.lead_status,
            attempt.lead_first_name,
            attempt.lead_last_name,
        ]
    )


_SENT = DriverStatement(
    update(t.attempt)
    .where(t.attempt.c.id == bindparam("attempt_id"))
    .values(
        {
            name: bindparam(name)
            for name in ("state", "sent_at", "smtp_code", "smtp_response", "error_class",
                         "error_detail", "updated_at")
        }
    )
)  # fmt: skip


def mark_attempt_sent(
    conn: Connection, attempt_id: int, *, at: datetime, smtp_code: int | None, smtp_response: str
) -> None:
    """The server's final 250: the attempt `sent`, its error fields cleared."""
    _SENT.execute(
        conn,
        {
            "attempt_id": attempt_id,
            "state": AttemptState.SENT.value,
            "sent_at": at,
            "smtp_code": smtp_code,
            "smtp_response": smtp_response,
            "error_class": None,
            "error_detail": None,
            "updated_at": at,
        },
    )


_UPDATE = update(t.attempt).where(t.attempt.c.id == bindparam("attempt_id"))


def record_attempt_failure(
    conn: Connection,
    attempt_id: int,
    *,
    state: AttemptState,
    smtp_code: int | None,
    smtp_response: str,
    error_class: str,
    error_detail: str,
    at: datetime,
    retry_count: int | None = None,
    next_attempt_at: datetime | None = None,
) -> None:
    """A send that did not end in a 250: its new state and the server's answer; a retry's
    count and time when given."""
    values: dict[str, Any] = {
        "attempt_id": attempt_id,
        "state": state.value,
        "smtp_code": smtp_code,
        "smtp_response": smtp_response,
        "error_class": error_class,
        "error_detail": error_detail,
        "updated_at": at,
    }
    if retry_count is not None:
        values["retry_count"] = retry_count
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    conn.execute(_UPDATE, values)


_REJECT = _UPDATE.values(
    state=AttemptState.REJECTED.value,
    policy_result="blocked",
    error_detail=bindparam("reason"),
    updated_at=bindparam("at"),
)
_DEFER = _UPDATE.values(
    next_attempt_at=bindparam("until"), policy_result="deferred", updated_at=bindparam("at")
)


def reject_attempt(conn: Connection, attempt_id: int, reason: str, at: datetime) -> None:
    """The policy (or the message check) refused the attempt for good: `rejected`."""
    conn.execute(_REJECT, {"attempt_id": attempt_id, "reason": reason, "at": at})


def defer_attempt(conn: Connection, attempt_id: int, until: datetime, at: datetime) -> None:
    """A temporary block (a cap reached, a pause): the attempt waits until `until`."""
    conn.execute(_DEFER, {"attempt_id": attempt_id, "until": until, "at": at})


# -- the dispatcher's queue (engine/sending/dispatcher.py) -------------------------------


@dataclass(frozen=True, slots=True)
class DueAttempt:
    """An approved attempt whose time has come, with what the dispatcher checks first."""

    id: int
    mailbox_id: int
    campaign_id: int | None
    campaign_lead_id: int | None
    next_attempt_at: datetime | None
    lead_timezone: str | None
    lead_status: str
    lead_id: int


_A, _M, _D = t.attempt, t.mailbox, t.sending_domain
_DUE = (
    select(
        _A.c.id,
        _A.c.mailbox_id,
        _A.c.campaign_id,
        _A.c.campaign_lead_id,
        _A.c.next_attempt_at,
        t.lead.c.timezone.label("lead_timezone"),
        t.lead.c.status.label("lead_status"),
        t.lead.c.id.label("lead_id"),
    )
    .join(t.lead, t.lead.c.id == _A.c.lead_id)
    .join(_M, _M.c.id == _A.c.mailbox_id)
    .outerjoin(_D, _D.c.id == _M.c.domain_id)
    .outerjoin(t.campaign, t.campaign.c.id == _A.c.campaign_id)
    .where(
        _A.c.state == AttemptState.APPROVED.value,
        or_(_A.c.campaign_id.is_(None), t.campaign.c.status == CampaignStatus.ACTIVE.value),
        or_(_A.c.next_attempt_at.is_(None), _A.c.next_attempt_at <= bindparam("now")),
        # Only mailboxes that may send now (the mailbox pool's `blocked_reason` and the
        # pacing gap, in SQL), so attempts of a paused or resting mailbox never crowd the
        # front of the batch. The dispatcher checks the same in Python on the rows it reads.
        _M.c.phase != MailboxPhase.PAUSED.value,
        _M.c.phase != MailboxPhase.QUARANTINE.value,
        _D.c.paused.is_not(True),
        or_(_M.c.cooldown_until.is_(None), _M.c.cooldown_until <= bindparam("now")),
        or_(_M.c.next_send_at.is_(None), _M.c.next_send_at <= bindparam("now")),
    )
    .order_by(_A.c.next_attempt_at, _A.c.id)
    .limit(bindparam("limit", type_=Integer))
)
# Several workers: only attempts of mailboxes no other live process holds, so each worker's
# batch is work it may do (anti-join on the lease's primary key).
_DUE_UNLEASED = _DUE.where(
    ~exists().where(
        t.lease.c.name == literal(MAILBOX_PREFIX) + cast(_A.c.mailbox_id, String),
        t.lease.c.holder != bindparam("holder"),
        t.lease.c.expires_at >= bindparam("now"),
    )
)


def due_attempts(
    conn: Connection, now: datetime, limit: int, *, holder: str | None = None
) -> list[DueAttempt]:
    """The first `limit` approved attempts due at `now` whose mailbox may send now, oldest
    due first. `holder`: leave out the mailboxes another live process holds."""
    if holder is None:
        rows = conn.execute(_DUE, {"now": now, "limit": limit})
    else:
        rows = conn.execute(_DUE_UNLEASED, {"now": now, "limit": limit, "holder": holder})
    return [DueAttempt(*row) for row in rows]


_NEXT_DUE = (
    select(_A.c.next_attempt_at)
    .where(_A.c.state == AttemptState.APPROVED.value)
    .order_by(_A.c.next_attempt_at)
    .limit(1)
)


def next_due_at(conn: Connection) -> datetime | None:
    """When the earliest approved attempt may go (None: now, or nothing is approved)."""
    value: datetime | None = conn.execute(_NEXT_DUE).scalar()
    return value


_RESCHEDULE = DriverStatement(
    update(_A)
    .where(_A.c.id == bindparam("attempt_id"), _A.c.state == AttemptState.APPROVED.value)
    .values(next_attempt_at=bindparam("next_attempt_at"), updated_at=bindparam("updated_at"))
)


def reschedule_attempt(conn: Connection, attempt_id: int, when: datetime, at: datetime) -> None:
    """An approved attempt waits until `when` (its campaign's window is closed)."""
    _RESCHEDULE.execute(conn, {"attempt_id": attempt_id, "next_attempt_at": when, "updated_at": at})


_ENROLLMENTS_OF = select(_A.c.campaign_lead_id).where(
    _A.c.id.in_(bindparam("ids", expanding=True)), _A.c.campaign_lead_id.is_not(None)
)


def enrollments_of(conn: Connection, attempt_ids: list[int]) -> list[int]:
    """The campaign enrollments (`campaign_lead` ids) these attempts belong to."""
    return [int(value) for value in conn.execute(_ENROLLMENTS_OF, {"ids": attempt_ids}).scalars()]
