"""Inbound messages (`reply`): the poller's lookups and writes, the operator's review.

A reply row is unique by where the message sits (mailbox, folder, UIDVALIDITY, UID); a
message seen again under another location is found by its Message-ID (or, without one,
the SHA-256 of its bytes) and only moved. The statements the poller runs for every message
are prebuilt `DriverStatement`s; their SQL is what the Core expressions compile to, so every
backend keeps its behaviour. A WHERE parameter of an UPDATE is never named after a column of
the table: SQLAlchemy reserves those names for the SET clause (PostgreSQL runs some of these
through `conn.execute`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime

from sqlalchemy import Connection, bindparam, insert, select, update

from outreach_tui.db import tables as t
from outreach_tui.db.session import DriverStatement

_R = t.reply


@dataclass(frozen=True, slots=True)
class StoredReply:
    """A reply already stored: what applying its message again would answer."""

    id: int
    classification: str


@dataclass(frozen=True, slots=True)
class NewReply:
    """A reply row to insert (`insert_reply`), its columns in the order of `reply`."""

    mailbox_id: int
    folder: str
    uidvalidity: int
    uid: int
    attempt_id: int | None
    lead_id: int | None
    message_id: str | None
    from_email: str | None
    subject: str | None
    received_at: datetime
    classification: str
    classified_by: str
    return_date: date | None
    snippet: str | None
    raw: bytes
    handled: bool
    created_at: datetime
    reason: str | None
    problem: str | None
    affected_email: str | None
    digest: str
    review: str | None
    bounce_class: str | None = None
    delivery_status: str | None = None
    expired: bool = False
    report_match: str | None = None
    counted: str | None = None
    effect: str | None = None


_NEW_REPLY_FIELDS = tuple(f.name for f in fields(NewReply))

# -- the poller's lookups, once per chunk of messages ---------------------------------------

_REPLIES_AT = DriverStatement(
    select(_R.c.uid, _R.c.id, _R.c.classification).where(
        _R.c.mailbox_id == bindparam("mailbox_id"),
        _R.c.folder == bindparam("folder"),
        _R.c.uidvalidity == bindparam("uidvalidity"),
        _R.c.uid >= bindparam("low"),
        _R.c.uid <= bindparam("high"),
    )
)
_REPLIES_BY_MESSAGE_ID = select(_R.c.id, _R.c.classification, _R.c.message_id).where(
    _R.c.mailbox_id == bindparam("mailbox_id"),
    _R.c.message_id.in_(bindparam("values", expanding=True)),
)
_REPLIES_BY_DIGEST = select(_R.c.id, _R.c.classification, _R.c.digest).where(
    _R.c.mailbox_id == bindparam("mailbox_id"),
    _R.c.digest.in_(bindparam("values", expanding=True)),
)


def replies_at(
    conn: Connection, mailbox_id: int, folder: str, uidvalidity: int, low: int, high: int
) -> list[tuple[int, StoredReply]]:
    """(UID, reply) of the replies stored at UIDs `low`..`high` of a folder."""
    found = _REPLIES_AT.execute(
        conn,
        {
            "mailbox_id": mailbox_id,
            "folder": folder,
            "uidvalidity": uidvalidity,
            "low": low,
            "high": high,
        },
    )
    return [(int(row.uid), StoredReply(int(row.id), str(row.classification))) for row in found]


def replies_by_message_id(
    conn: Connection, mailbox_id: int, message_ids: list[str]
) -> list[tuple[str, StoredReply]]:
    """(Message-ID, reply) of a mailbox's replies with these Message-IDs, in no order."""
    rows = conn.execute(_REPLIES_BY_MESSAGE_ID, {"mailbox_id": mailbox_id, "values": message_ids})
    return [(str(key), StoredReply(int(id_), str(kind))) for id_, kind, key in rows]


def replies_by_digest(
    conn: Connection, mailbox_id: int, digests: list[str]
) -> list[tuple[str, StoredReply]]:
    """(digest, reply) of a mailbox's replies whose bytes have these SHA-256s, in no order."""
    rows = conn.execute(_REPLIES_BY_DIGEST, {"mailbox_id": mailbox_id, "values": digests})
    return [(str(key), StoredReply(int(id_), str(kind))) for id_, kind, key in rows]


# -- storing --------------------------------------------------------------------------------

_INSERT_REPLY = DriverStatement(
    insert(_R).values({name: bindparam(name) for name in _NEW_REPLY_FIELDS}).returning(_R.c.id)
)
_MOVE_REPLY = DriverStatement(
    update(_R)
    .where(_R.c.id == bindparam("reply_id"))
    .values(folder=bindparam("folder"), uidvalidity=bindparam("uidvalidity"), uid=bindparam("uid"))
)


def insert_reply(conn: Connection, reply: NewReply) -> int:
    """Store a reply; its id."""
    params = {name: getattr(reply, name) for name in _NEW_REPLY_FIELDS}
    return int(_INSERT_REPLY.execute(conn, params).scalar_one())


def move_reply(conn: Connection, reply_id: int, folder: str, uidvalidity: int, uid: int) -> None:
    """Point a stored reply at where its message is now (a re-scan, a copy)."""
    _MOVE_REPLY.execute(
        conn, {"reply_id": reply_id, "folder": folder, "uidvalidity": uidvalidity, "uid": uid}
    )


def insert_unapplied_reply(
    conn: Connection,
    *,
    mailbox_id: int,
    folder: str,
    uidvalidity: int,
    uid: int,
    raw: bytes,
    received_at: datetime,
    problem: str,
    digest: str,
    at: datetime,
) -> None:
    """Keep a message whose effects could not be applied: class "other", not handled."""
    conn.execute(
        _R.insert().values(
            mailbox_id=mailbox_id,
            folder=folder,
            uidvalidity=uidvalidity,
            uid=uid,
            classification="other",
            classified_by="rules",
            raw=raw,
            handled=False,
            created_at=at,
            received_at=received_at,
            problem=problem,
            digest=digest,
        )
    )


# -- the operator's side: review, relabel, answer -------------------------------------------


@dataclass(frozen=True, slots=True)
class ReplyUnderReview:
    """A stored reply as the operator's review reads it, with the mailbox that sent our
    message (the attempt's sender, else the mailbox that received the reply)."""

    id: int
    classification: str | None
    lead_id: int | None
    affected_email: str | None
    attempt_id: int | None
    """Our attempt, when the reply is threaded to one that still exists."""
    mailbox_email: str
    mailbox_id: int
    message_id: str | None
    subject: str | None
    return_date: date | None
    review: str | None
    created_at: datetime | None
    bounce_class: str | None = None
    delivery_status: str | None = None
    expired: bool = False
    report_match: str | None = None
    counted: str | None = None
    """The counter the reply moved (a relabel takes it back)."""
    campaign_lead_id: int | None = None
    step_position: int | None = None


_A = t.attempt
_UNDER_REVIEW = (
    select(
        _R.c.id,
        _R.c.classification,
        _R.c.lead_id,
        _R.c.affected_email,
        _A.c.id,
        _A.c.sender_email,
        t.mailbox.c.email,
        _R.c.mailbox_id,
        _R.c.message_id,
        _R.c.subject,
        _R.c.return_date,
        _R.c.review,
        _R.c.created_at,
        _R.c.bounce_class,
        _R.c.delivery_status,
        _R.c.expired,
        _R.c.report_match,
        _R.c.counted,
        _A.c.campaign_lead_id,
        _A.c.step_position,
    )
    .join(t.mailbox, t.mailbox.c.id == _R.c.mailbox_id)
    .outerjoin(_A, _A.c.id == _R.c.attempt_id)
    .where(_R.c.id == bindparam("reply_id"))
)


def reply_under_review(conn: Connection, reply_id: int) -> ReplyUnderReview | None:
    row = conn.execute(_UNDER_REVIEW, {"reply_id": reply_id}).first()
    if row is None:
        return None
    (id_, kind, lead_id, affected, attempt_id, attempt_sender, mailbox_email, *rest) = row
    return ReplyUnderReview(
        id_,
        kind,
        lead_id,
        affected,
        attempt_id,
        attempt_sender if attempt_id is not None else mailbox_email,
        *rest,
    )


_SET_REVIEW = update(_R).where(_R.c.id == bindparam("reply_id")).values(review=bindparam("review"))
_SET_REVIEW_HANDLED = (
    update(_R)
    .where(_R.c.id == bindparam("reply_id"))
    .values(review=bindparam("review"), handled=True)
)
_RELABEL = (
    update(_R)
    .where(_R.c.id == bindparam("reply_id"))
    .values(
        classification=bindparam("classification"),
        classified_by=bindparam("classified_by"),
        reason=bindparam("reason"),
        review=bindparam("review"),
        handled=bindparam("handled"),
    )
)
_MARK_HANDLED = update(_R).where(_R.c.id == bindparam("reply_id")).values(handled=True)
_RECORD_EFFECT = (
    update(_R)
    .where(_R.c.id == bindparam("reply_id"))
    .values(
        counted=bindparam("counted"),
        effect=bindparam("effect"),
        report_match=bindparam("report_match"),
        bounce_class=bindparam("bounce_class"),
    )
)


_SET_EFFECT = update(_R).where(_R.c.id == bindparam("reply_id")).values(effect=bindparam("effect"))


def set_reply_effect(conn: Connection, reply_id: int, effect: str) -> None:
    """The reply's effects in words, as they stand now (a suggestion confirmed, dismissed)."""
    conn.execute(_SET_EFFECT, {"reply_id": reply_id, "effect": effect[:300]})


def record_reply_effect(
    conn: Connection,
    reply_id: int,
    *,
    counted: str | None,
    effect: str,
    report_match: str | None,
    bounce_class: str | None,
) -> None:
    """What a relabelled reply now is and did (the counter it moved, its effects in words)."""
    params = {
        "reply_id": reply_id,
        "counted": counted,
        "effect": effect[:300],
        "report_match": report_match,
        "bounce_class": bounce_class,
    }
    conn.execute(_RECORD_EFFECT, params)


def set_review(conn: Connection, reply_id: int, review: str, *, handled: bool = False) -> None:
    """The review state of a held-back suggestion (`handled`: and the reply is done with)."""
    statement = _SET_REVIEW_HANDLED if handled else _SET_REVIEW
    conn.execute(statement, {"reply_id": reply_id, "review": review})


def relabel_reply(
    conn: Connection,
    reply_id: int,
    *,
    classification: str,
    classified_by: str,
    reason: str,
    review: str | None,
    handled: bool,
) -> None:
    conn.execute(
        _RELABEL,
        {
            "reply_id": reply_id,
            "classification": classification,
            "classified_by": classified_by,
            "reason": reason,
            "review": review,
            "handled": handled,
        },
    )


def mark_reply_handled(conn: Connection, reply_id: int) -> None:
    conn.execute(_MARK_HANDLED, {"reply_id": reply_id})


@dataclass(frozen=True, slots=True)
class ReplySender:
    from_email: str | None


_SENDER = select(_R.c.from_email).where(_R.c.id == bindparam("reply_id"))
_SET_HANDLED = update(_R).where(
    _R.c.id == bindparam("reply_id"), _R.c.handled != bindparam("where_not")
)


def reply_sender(conn: Connection, reply_id: int) -> ReplySender | None:
    """Who sent the reply (None: there is no such reply)."""
    row = conn.execute(_SENDER, {"reply_id": reply_id}).first()
    return None if row is None else ReplySender(row.from_email)


def set_reply_handled(conn: Connection, reply_id: int, handled: bool) -> bool:
    """Compare-and-set of the operator's "handled" mark: False when it already was so."""
    params = {"reply_id": reply_id, "where_not": handled, "handled": handled}
    return bool(conn.execute(_SET_HANDLED, params).rowcount)


@dataclass(frozen=True, slots=True)
class ReplyToAnswer:
    """What answering a reply needs: its sender and ids, the mailbox that received it, and
    our message it answers (None when it is threaded to none)."""

    from_email: str | None
    subject: str | None
    message_id: str | None
    classification: str | None
    mailbox_email: str
    our_id: str | None
    our_refs: str | None
    our_subject: str | None


_TO_ANSWER = (
    select(
        _R.c.from_email,
        _R.c.subject,
        _R.c.message_id,
        _R.c.classification,
        t.mailbox.c.email.label("mailbox_email"),
        _A.c.message_id.label("our_id"),
        _A.c.references.label("our_refs"),
        _A.c.subject.label("our_subject"),
    )
    .join(t.mailbox, t.mailbox.c.id == _R.c.mailbox_id)
    .outerjoin(_A, _A.c.id == _R.c.attempt_id)
    .where(_R.c.id == bindparam("reply_id"))
)


def reply_to_answer(conn: Connection, reply_id: int) -> ReplyToAnswer | None:
    row = conn.execute(_TO_ANSWER, {"reply_id": reply_id}).first()
    return None if row is None else ReplyToAnswer(*row)
