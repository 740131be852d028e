"""A lead's delivery history as `outreach-tui leads why` tells it (engine/views/lead_history.py):
the refusals of its sends at SMTP time, the reports that came back about them (bounces,
policy refusals, complaints, delay notices; never the unmatched ones, which were about
nothing of ours), and the separate days it soft-bounced on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, or_, select

from outreach_tui.core.states import AttemptState
from outreach_tui.db import tables as t

_A, _R, _C, _M = t.attempt, t.reply, t.campaign, t.mailbox
#: How far back the history goes, in entries of each kind.
HISTORY_LIMIT = 20


@dataclass(frozen=True, slots=True)
class RefusedSend:
    """One of the lead's sends the server refused at SMTP time."""

    at: datetime | None
    sender: str
    error_class: str | None
    smtp_code: int | None
    smtp_response: str | None
    campaign: str | None
    step: int | None


@dataclass(frozen=True, slots=True)
class ReportAbout:
    """A report about one of the lead's sends (matched), with what it did."""

    at: datetime | None
    classification: str | None
    bounce_class: str | None
    delivery_status: str | None
    expired: bool
    mailbox: str
    effect: str | None
    campaign: str | None
    step: int | None


_REFUSED = (
    select(
        _A.c.updated_at,
        _A.c.sender_email,
        _A.c.error_class,
        _A.c.smtp_code,
        _A.c.smtp_response,
        _C.c.name,
        _A.c.step_position,
    )
    .outerjoin(_C, _C.c.id == _A.c.campaign_id)
    .where(
        _A.c.lead_id == bindparam("lead_id"),
        _A.c.state == AttemptState.FAILED.value,
        _A.c.error_class.in_(["hard_bounce", "rejected_message"]),
    )
    .order_by(_A.c.id.desc())
    .limit(HISTORY_LIMIT)
)
_REPORTS = (
    select(
        _R.c.received_at,
        _R.c.classification,
        _R.c.bounce_class,
        _R.c.delivery_status,
        _R.c.expired,
        _M.c.email,
        _R.c.effect,
        _C.c.name,
        _A.c.step_position,
    )
    .join(_M, _M.c.id == _R.c.mailbox_id)
    .outerjoin(_A, _A.c.id == _R.c.attempt_id)
    .outerjoin(_C, _C.c.id == _A.c.campaign_id)
    .where(
        or_(_R.c.lead_id == bindparam("lead_id"), _R.c.affected_email == bindparam("address")),
        _R.c.classification.in_(["bounce_hard", "bounce_soft", "complaint"]),
        or_(_R.c.report_match.is_(None), _R.c.report_match != "unmatched"),
    )
    .order_by(_R.c.id.desc())
    .limit(HISTORY_LIMIT)
)


def refused_sends(conn: Connection, lead_id: int) -> list[RefusedSend]:
    """The lead's latest sends refused at SMTP time (hard, policy or soft), newest first."""
    return [RefusedSend(*row) for row in conn.execute(_REFUSED, {"lead_id": lead_id})]


def reports_about(conn: Connection, lead_id: int, address: str) -> list[ReportAbout]:
    """The latest reports about the lead's sends, newest first (unmatched ones left out)."""
    rows = conn.execute(_REPORTS, {"lead_id": lead_id, "address": address})
    return [ReportAbout(*row) for row in rows]
