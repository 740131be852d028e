"""The attempt ledger as the inbox reads and writes it: the attempts a reply may answer, what
a hard bounce and an out-of-office do to them, and settling `unknown` outcomes from a
mailbox's Sent folder (engine/inbox/reconcile.py).

The threading reads take a chunk's worth of Message-IDs or addresses at once
(engine/inbox/reply_lookups.py); the writes a message's effects make are prebuilt
`DriverStatement`s. A WHERE parameter of an UPDATE is never named after a column of the table:
SQLAlchemy reserves those names for the SET clause.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, or_, select, update

from outreach_tui.core.states import AttemptState
from outreach_tui.db import tables as t
from outreach_tui.db.records import AttemptRecord, columns
from outreach_tui.db.repos.attempts_planned import UNSENT_STATES
from outreach_tui.db.session import DriverStatement

_A = t.attempt
_M = t.mailbox


@dataclass(frozen=True, slots=True)
class ThreadAttempt:
    """Our side of a thread: the attempt a reply answers (or a bounce reports on)."""

    id: int
    lead_id: int
    message_id: str
    recipient_email: str
    sender_email: str
    subject: str
    sent_at: datetime | None = None
    """When it went out (or was handed over: `unknown`): a report matched by its recipient
    alone must come within `[replies] report_match_days` of it."""
    campaign_lead_id: int | None = None
    step_position: int | None = None
    state: str = AttemptState.SENT.value
    """A report is believed only about an attempt the server was handed (sent, unknown)."""


_THREAD_COLUMNS: tuple[Any, ...] = (
    _A.c.id,
    _A.c.lead_id,
    _A.c.message_id,
    _A.c.recipient_email,
    _A.c.sender_email,
    _A.c.subject,
    func.coalesce(_A.c.sent_at, _A.c.sending_started_at, _A.c.updated_at),
    _A.c.campaign_lead_id,
    _A.c.step_position,
    _A.c.state,
)
_BY_MESSAGE_ID = select(*_THREAD_COLUMNS).where(
    _A.c.message_id.in_(bindparam("values", expanding=True))
)
_SENT_TO = (
    select(*_THREAD_COLUMNS)
    .where(
        _A.c.recipient_email.in_(bindparam("values", expanding=True)),
        or_(
            _A.c.state == AttemptState.SENT.value,
            _A.c.state == AttemptState.UNKNOWN.value,
        ),
        or_(_A.c.mailbox_id == bindparam("mailbox_id"), _A.c.mailbox_id.is_(None)),
    )
    .order_by(_A.c.id.desc())
)


def attempts_by_message_id(conn: Connection, message_ids: list[str]) -> list[ThreadAttempt]:
    """Our attempts sent with these Message-IDs (angle brackets included), in no order."""
    return [ThreadAttempt(*row) for row in conn.execute(_BY_MESSAGE_ID, {"values": message_ids})]


def attempts_sent_to(
    conn: Connection, addresses: list[str], mailbox_id: int
) -> list[ThreadAttempt]:
    """Attempts sent (or maybe sent: `unknown`) to these addresses from this mailbox (or from
    none recorded), newest first."""
    rows = conn.execute(_SENT_TO, {"values": addresses, "mailbox_id": mailbox_id})
    return [ThreadAttempt(*row) for row in rows]


_SENT_TO_FROM_ANY = (
    select(*_THREAD_COLUMNS)
    .where(
        _A.c.recipient_email == bindparam("address"),
        or_(
            _A.c.state == AttemptState.SENT.value,
            _A.c.state == AttemptState.UNKNOWN.value,
        ),
    )
    .order_by(_A.c.id.desc())
    .limit(bindparam("limit"))
)


def attempts_sent_to_address(conn: Connection, address: str, limit: int = 5) -> list[ThreadAttempt]:
    """The latest attempts sent (or maybe sent) to `address` from any mailbox, newest first:
    what a provider's event about the address is tied to when it names no Message-ID."""
    rows = conn.execute(_SENT_TO_FROM_ANY, {"address": address, "limit": limit})
    return [ThreadAttempt(*row) for row in rows]


_RECIPIENTS_SINCE = (
    select(_A.c.recipient_email)
    .where(
        _A.c.mailbox_id == bindparam("mailbox_id"),
        _A.c.state.in_([AttemptState.SENT.value, AttemptState.UNKNOWN.value]),
        _A.c.sent_at >= bindparam("since", type_=_A.c.sent_at.type),
    )
    .distinct()
)


def recipients_sent_since(conn: Connection, mailbox_id: int, since: datetime) -> set[str]:
    """The addresses this mailbox sent to since `since` (what a report naming several
    recipients is read against: mail.inbound.analyse's `sent_recipients`)."""
    rows = conn.execute(_RECIPIENTS_SINCE, {"mailbox_id": mailbox_id, "since": since})
    return {str(address) for address in rows.scalars()}


# -- what a message's effects write ---------------------------------------------------------

_MARK_REPORTED = DriverStatement(
    update(_A)
    .where(_A.c.id == bindparam("attempt_id"))
    .values(
        error_class=bindparam("error_class"),
        error_detail=bindparam("error_detail"),
        updated_at=bindparam("updated_at"),
    )
)
_POSTPONE_UNSENT = DriverStatement(
    update(_A)
    .where(
        _A.c.lead_id == bindparam("for_lead"),
        or_(*(_A.c.state == s for s in UNSENT_STATES)),
        or_(_A.c.next_attempt_at.is_(None), _A.c.next_attempt_at < bindparam("resume")),
    )
    .values(next_attempt_at=bindparam("resume"), updated_at=bindparam("updated_at"))
)


def mark_attempt_reported(
    conn: Connection, attempt_id: int, error_class: str, detail: str, at: datetime
) -> None:
    """A report came back about this accepted attempt (a hard bounce, or returned
    undelivered): its error class and the report's words. It stays `sent`: the server did
    accept it."""
    params = {
        "attempt_id": attempt_id,
        "error_class": error_class,
        "error_detail": detail,
        "updated_at": at,
    }
    _MARK_REPORTED.execute(conn, params)


def postpone_unsent_attempts(conn: Connection, lead_id: int, resume: datetime, at: datetime) -> int:
    """The lead's queued attempts (not sent yet) wait until `resume`; how many moved."""
    params = {"for_lead": lead_id, "resume": resume, "updated_at": at}
    return int(_POSTPONE_UNSENT.execute(conn, params).rowcount)


# -- settling unknown outcomes from the Sent folder -----------------------------------------


@dataclass(frozen=True, slots=True)
class UnknownAttempt:
    """An attempt whose outcome is unknown (the connection broke after DATA)."""

    id: int
    message_id: str
    mailbox_id: int


_UNKNOWN_TO_SETTLE = (
    select(_A.c.id, _A.c.message_id, _A.c.mailbox_id)
    .join(_M, _M.c.id == _A.c.mailbox_id)
    .where(
        _A.c.state == AttemptState.UNKNOWN.value,
        _A.c.updated_at <= bindparam("cutoff"),
        _M.c.imap_host.is_not(None),
        _M.c.imap_host != "",
    )
    .order_by(_A.c.mailbox_id, _A.c.id)
)
_LAST_SENT_MESSAGE_ID = (
    select(_A.c.message_id)
    .where(_A.c.mailbox_id == bindparam("mailbox_id"), _A.c.state == AttemptState.SENT.value)
    .order_by(_A.c.id.desc())
    .limit(1)
)
_UNKNOWN_ATTEMPT = select(*columns(AttemptRecord, _A)).where(
    _A.c.id == bindparam("attempt_id"), _A.c.state == AttemptState.UNKNOWN.value
)
_FAIL = (
    update(_A)
    .where(_A.c.id == bindparam("attempt_id"))
    .values(
        state=AttemptState.FAILED.value,
        error_detail=bindparam("error_detail"),
        updated_at=bindparam("updated_at"),
    )
)


def unknown_attempts_to_settle(conn: Connection, cutoff: datetime) -> list[UnknownAttempt]:
    """`unknown` attempts last touched at or before `cutoff`, of mailboxes with an IMAP
    server, by mailbox then id."""
    rows = conn.execute(_UNKNOWN_TO_SETTLE, {"cutoff": cutoff})
    return [UnknownAttempt(int(id_), str(mid), int(box)) for id_, mid, box in rows]


def last_sent_message_id(conn: Connection, mailbox_id: int) -> str | None:
    """The Message-ID of the mailbox's latest attempt certainly sent, or None."""
    value = conn.execute(_LAST_SENT_MESSAGE_ID, {"mailbox_id": mailbox_id}).scalar()
    return None if value is None else str(value)


def unknown_attempt(conn: Connection, attempt_id: int) -> AttemptRecord | None:
    """The attempt, if its outcome is still `unknown`."""
    row = conn.execute(_UNKNOWN_ATTEMPT, {"attempt_id": attempt_id}).first()
    return None if row is None else AttemptRecord(*row)


def fail_attempt(conn: Connection, attempt_id: int, detail: str, at: datetime) -> None:
    """The attempt did not go out: `failed`, and why."""
    conn.execute(_FAIL, {"attempt_id": attempt_id, "error_detail": detail, "updated_at": at})
