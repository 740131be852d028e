"""Read models of the console's list panes: leads, suppression and the audit log paged by
key (a million leads open as fast as a hundred: no OFFSET scan), and the reply inbox.

Each page reads one row more than it shows, to know whether another page follows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Integer, bindparam, func, select

from outreach_tui.db import tables as t

RowT = TypeVar("RowT")


@dataclass(frozen=True, slots=True)
class Page(Generic[RowT]):
    rows: list[RowT]
    more: bool
    """True when rows exist past this page."""


@dataclass(frozen=True, slots=True)
class LeadRow:
    id: int
    email: str
    name: str
    company: str | None
    status: str
    health: str | None
    timezone: str | None


@dataclass(frozen=True, slots=True)
class SuppressionRow:
    id: int
    kind: str
    value: str
    reason: str
    source: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    timestamp: datetime
    user_id: str
    policy_result: str
    lead_email: str | None
    sender_email: str | None
    subject: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class ReplyRow:
    id: int
    received_at: datetime | None
    mailbox: str
    from_email: str | None
    subject: str | None
    classification: str | None
    handled: bool
    snippet: str | None
    reason: str | None = None
    """Why this class: the header or rule that decided, or who relabelled it."""
    problem: str | None = None
    """Set when the message could not be fully read or applied."""
    affected_email: str | None = None
    """Whom the effects are about (a bounce's failed recipient, else the sender)."""
    review: str | None = None
    """pending | confirmed | dismissed: a suppression SUGGEST mode held back."""
    classified_by: str | None = None
    bounce_class: str | None = None
    """A report's class: hard, soft or policy."""
    delivery_status: str | None = None
    """A report's delivery status: failed, delayed (a notice: still being tried), delivered."""
    expired: bool = False
    report_match: str | None = None
    """How a report was tied to one of our sends (message_id, recipient, operator), or
    "unmatched": it did nothing."""
    effect: str | None = None
    """What it did, in words ("suppressed, sequence stopped, counted against ...")."""
    campaign: str | None = None
    """The matched send: its campaign (None: a one-off send, or no send matched)."""
    step: int | None = None
    sent_at: datetime | None = None
    """When the matched send went out."""


_LIMIT = bindparam("limit", type_=Integer)


def _page(rows: Sequence[Any], limit: int) -> tuple[Sequence[Any], bool]:
    return rows[:limit], len(rows) > limit


# -- leads --------------------------------------------------------------------------------

_L = t.lead
_LEADS = (
    select(
        _L.c.id,
        _L.c.email,
        _L.c.first_name,
        _L.c.last_name,
        _L.c.company,
        _L.c.status,
        _L.c.health,
        _L.c.timezone,
    )
    .where(_L.c.id > bindparam("after_id", type_=Integer))
    .order_by(_L.c.id)
    .limit(_LIMIT)
)


def lead_page(conn: Connection, *, after_id: int, limit: int, search: str) -> Page[LeadRow]:
    """Leads by id after `after_id`. `search`: an address or domain prefix when it has an
    "@" or a ".", else a part of the address."""
    query = _LEADS
    if search:
        text = search.strip().lower()
        if "@" in text or "." in text:
            query = query.where(_L.c.email.like(f"{text}%") | _L.c.domain.like(f"{text}%"))
        else:
            query = query.where(_L.c.email.like(f"%{text}%"))
    rows, more = _page(conn.execute(query, {"after_id": after_id, "limit": limit + 1}).all(), limit)
    return Page(
        [
            LeadRow(
                r.id,
                r.email,
                " ".join(x for x in (r.first_name, r.last_name) if x),
                r.company,
                r.status,
                r.health,
                r.timezone,
            )
            for r in rows
        ],
        more,
    )


# -- suppression ------------------------------------------------------------------------------

_S = t.suppression
_SUPPRESSION = (
    select(_S.c.id, _S.c.kind, _S.c.value, _S.c.reason, _S.c.source, _S.c.created_at)
    .where(_S.c.id > bindparam("after_id", type_=Integer))
    .order_by(_S.c.id)
    .limit(_LIMIT)
)


def suppression_page(
    conn: Connection, *, after_id: int, limit: int, search: str
) -> Page[SuppressionRow]:
    """Suppression entries by id after `after_id`; `search`: a part of the value."""
    query = _SUPPRESSION
    if search:
        query = query.where(_S.c.value.like(f"%{search.strip().lower()}%"))
    rows, more = _page(conn.execute(query, {"after_id": after_id, "limit": limit + 1}).all(), limit)
    return Page([SuppressionRow(*r) for r in rows], more)


# -- audit log --------------------------------------------------------------------------------

_AU = t.audit_log
_AUDIT = (
    select(
        _AU.c.id,
        _AU.c.timestamp,
        _AU.c.user_id,
        _AU.c.policy_result,
        _AU.c.lead_email,
        _AU.c.sender_email,
        _AU.c.subject,
        _AU.c.reason,
    )
    .order_by(_AU.c.id.desc())
    .limit(_LIMIT)
)
_AUDIT_BEFORE = _AUDIT.where(_AU.c.id < bindparam("before_id", type_=Integer))


def audit_page(
    conn: Connection, *, before_id: int | None, limit: int, search: str
) -> Page[AuditRow]:
    """The audit log newest first, before `before_id` when given; `search`: a lead address
    prefix or a policy result."""
    params: dict[str, object] = {"limit": limit + 1}
    if before_id is None:
        query = _AUDIT
    else:
        query, params["before_id"] = _AUDIT_BEFORE, before_id
    if search:
        text = search.strip().lower()
        query = query.where(_AU.c.lead_email.like(f"{text}%") | (_AU.c.policy_result == text))
    rows, more = _page(conn.execute(query, params).all(), limit)
    return Page([AuditRow(*r) for r in rows], more)


# -- inbox --------------------------------------------------------------------------------------

_R = t.reply
_REPLIES = (
    select(
        _R.c.id,
        _R.c.received_at,
        t.mailbox.c.email,
        _R.c.from_email,
        _R.c.subject,
        _R.c.classification,
        _R.c.handled,
        _R.c.snippet,
        _R.c.reason,
        _R.c.problem,
        _R.c.affected_email,
        _R.c.review,
        _R.c.classified_by,
        _R.c.bounce_class,
        _R.c.delivery_status,
        _R.c.expired,
        _R.c.report_match,
        _R.c.effect,
        t.campaign.c.name,
        t.attempt.c.step_position,
        t.attempt.c.sent_at,
    )
    .join(t.mailbox, t.mailbox.c.id == _R.c.mailbox_id)
    .outerjoin(t.attempt, t.attempt.c.id == _R.c.attempt_id)
    .outerjoin(t.campaign, t.campaign.c.id == t.attempt.c.campaign_id)
    .order_by(_R.c.id.desc())
    .limit(_LIMIT)
)
#: Words the Inbox's filter takes as a report's state rather than text to look for.
_REPORT_FILTERS = {"hard": "hard", "soft": "soft", "policy": "policy"}


def reply_rows(
    conn: Connection, *, limit: int, include_handled: bool, search: str
) -> list[ReplyRow]:
    """The newest replies first. `search`: "review" for the replies whose suppression waits
    for the operator (SUGGEST mode), "unmatched" for reports that matched none of our sends,
    "hard", "soft" or "policy" for bounces of that class, else a part of the sender or
    subject, or a class."""
    query = _REPLIES
    word = search.strip().lower()
    if not include_handled:
        query = query.where(_R.c.handled.is_(False))
    if word == "review":
        query = query.where(_R.c.review == "pending")
    elif word == "unmatched":
        query = query.where(_R.c.report_match == "unmatched")
    elif word in _REPORT_FILTERS:
        query = query.where(_R.c.bounce_class == _REPORT_FILTERS[word])
    elif search:
        like = f"%{search.lower()}%"
        query = query.where(
            func.lower(_R.c.from_email).like(like)
            | func.lower(_R.c.subject).like(like)
            | (func.lower(_R.c.classification) == search.strip().lower())
        )
    return [ReplyRow(*row) for row in conn.execute(query, {"limit": limit})]
