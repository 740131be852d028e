"""The attempt ledger (`outreach_attempt`) and its idempotency keys."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, String, bindparam, cast, exists, func, literal, select, update

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


# -- a mailbox's sends and bounces per campaign (the guard's correlation) -------------------

_A, _R = t.attempt, t.reply
_OUTCOMES_BY_CAMPAIGN = (
    select(_A.c.mailbox_id, _A.c.campaign_id, _A.c.state, _A.c.error_class, func.count())
    .where(
        _A.c.mailbox_id.in_(bindparam("mailbox_ids", expanding=True)),
        _A.c.state.in_([AttemptState.SENT.value, AttemptState.FAILED.value]),
        _A.c.campaign_id.is_not(None),
        _A.c.updated_at >= bindparam("since", type_=_A.c.updated_at.type),
    )
    .group_by(_A.c.mailbox_id, _A.c.campaign_id, _A.c.state, _A.c.error_class)
)
_BOUNCE_REPORTS_BY_CAMPAIGN = (
    select(_R.c.mailbox_id, _A.c.campaign_id, func.count())
    .join(_A, _A.c.id == _R.c.attempt_id)
    .where(
        _R.c.mailbox_id.in_(bindparam("mailbox_ids", expanding=True)),
        _R.c.classification.in_(bindparam("kinds", expanding=True)),
        _A.c.campaign_id.is_not(None),
        _R.c.created_at >= bindparam("since", type_=_R.c.created_at.type),
    )
    .group_by(_R.c.mailbox_id, _A.c.campaign_id)
)


@dataclass(frozen=True, slots=True)
class CampaignOutcomes:
    """How many of a mailbox's attempts for one campaign ended in `state` (and
    `error_class`)."""

    mailbox_id: int
    campaign_id: int
    state: str
    error_class: str | None
    count: int


@dataclass(frozen=True, slots=True)
class CampaignBounceReports:
    """How many bounce reports a mailbox received for its attempts of one campaign."""

    mailbox_id: int
    campaign_id: int
    count: int


def outcomes_by_campaign(
    conn: Connection, mailbox_ids: Sequence[int], since: datetime
) -> list[CampaignOutcomes]:
    """The sent and failed attempts of these mailboxes updated since `since`, counted per
    campaign, state and error class (the ledger's (mailbox_id, state) index)."""
    params = {"mailbox_ids": list(mailbox_ids), "since": since}
    return [
        CampaignOutcomes(mid, cid, state, error_class, int(count))
        for mid, cid, state, error_class, count in conn.execute(_OUTCOMES_BY_CAMPAIGN, params)
    ]


def bounce_reports_by_campaign(
    conn: Connection, mailbox_ids: Sequence[int], kinds: Sequence[str], since: datetime
) -> list[CampaignBounceReports]:
    """The replies of these mailboxes classified as one of `kinds` since `since` and linked
    to an attempt of a campaign, counted per campaign."""
    params = {"mailbox_ids": list(mailbox_ids), "kinds": list(kinds), "since": since}
    return [
        CampaignBounceReports(mid, cid, int(count))
        for mid, cid, count in conn.execute(_BOUNCE_REPORTS_BY_CAMPAIGN, params)
    ]
