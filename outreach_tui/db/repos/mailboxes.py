"""Mailboxes and their sending domains."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Literal

from sqlalchemy import Connection, bindparam, false, func, insert, or_, select, update

from outreach_tui.core.states import MailboxPhase
from outreach_tui.db import tables as t
from outreach_tui.db.records import MailboxRecord, columns
from outreach_tui.db.session import DriverStatement

_MAILBOX = select(
    *columns(
        MailboxRecord,
        t.mailbox,
        domain_paused=func.coalesce(t.sending_domain.c.paused, false()),
    )
).select_from(t.mailbox.outerjoin(t.sending_domain, t.sending_domain.c.id == t.mailbox.c.domain_id))
_MAILBOX_BY_EMAIL = _MAILBOX.where(t.mailbox.c.email == bindparam("email"))
_MAILBOX_BY_ID = _MAILBOX.where(t.mailbox.c.id == bindparam("id"))


def mailbox_by_email(conn: Connection, email: str) -> MailboxRecord | None:
    """The mailbox with its sending domain's paused flag (`domain_paused`)."""
    row = conn.execute(_MAILBOX_BY_EMAIL, {"email": email.lower()}).first()
    return None if row is None else MailboxRecord(*row)


def mailbox_by_id(conn: Connection, mailbox_id: int) -> MailboxRecord | None:
    row = conn.execute(_MAILBOX_BY_ID, {"id": mailbox_id}).first()
    return None if row is None else MailboxRecord(*row)


_IMAP_MAILBOXES = _MAILBOX.where(
    t.mailbox.c.imap_host.is_not(None), t.mailbox.c.imap_host != ""
).order_by(t.mailbox.c.id)
_MAILBOX_EMAIL = DriverStatement(select(t.mailbox.c.email).where(t.mailbox.c.id == bindparam("id")))


def imap_mailboxes(conn: Connection) -> list[MailboxRecord]:
    """The mailboxes with an IMAP server (their replies are read), by id."""
    return [MailboxRecord(*row) for row in conn.execute(_IMAP_MAILBOXES)]


def mailbox_email_by_id(conn: Connection, mailbox_id: int) -> str:
    """The address of a mailbox that exists (`NoResultFound` otherwise)."""
    return str(_MAILBOX_EMAIL.execute(conn, {"id": mailbox_id}).scalar_one())


_MAILBOXES_BY_ID = _MAILBOX.where(t.mailbox.c.id.in_(bindparam("ids", expanding=True)))


def mailboxes_by_id(conn: Connection, ids: Sequence[int]) -> list[MailboxRecord]:
    """The mailboxes with these ids (those that exist), with their domains' paused flag."""
    return [MailboxRecord(*row) for row in conn.execute(_MAILBOXES_BY_ID, {"ids": list(ids)})]


_EMAILS_AMONG = select(t.mailbox.c.email).where(
    t.mailbox.c.email.in_(bindparam("emails", expanding=True))
)


def mailbox_emails_among(conn: Connection, emails: Sequence[str]) -> set[str]:
    """Those of these addresses that are mailboxes."""
    return {str(e) for e in conn.execute(_EMAILS_AMONG, {"emails": list(emails)}).scalars()}


# After a send: when it went (if it did) and when the mailbox may send next (its pacing gap,
# if the caller set one), in one statement; a NULL parameter keeps the column.
_STAMP = DriverStatement(
    update(t.mailbox)
    .where(t.mailbox.c.id == bindparam("mailbox_id"))
    .values(
        last_sent_at=func.coalesce(
            bindparam("last_sent_at", type_=t.mailbox.c.last_sent_at.type),
            t.mailbox.c.last_sent_at,
        ),
        next_send_at=func.coalesce(
            bindparam("next_send_at", type_=t.mailbox.c.next_send_at.type),
            t.mailbox.c.next_send_at,
        ),
    )
)


def stamp_mailbox(
    conn: Connection,
    mailbox_id: int,
    *,
    last_sent_at: datetime | None,
    next_send_at: datetime | None,
) -> None:
    """A send's stamp on its mailbox: `last_sent_at` and `next_send_at`, each unless None."""
    _STAMP.execute(
        conn,
        {"mailbox_id": mailbox_id, "last_sent_at": last_sent_at, "next_send_at": next_send_at},
    )


# -- the guard: a mailbox's phase, moved by compare-and-set -------------------------------


@dataclass(frozen=True, slots=True)
class MailboxPhaseRecord:
    """What the deliverability guard reads of a mailbox: its phase and recovery state, the
    `version` its compare-and-set checks, and its counters' bases when the phase began."""

    id: int
    email: str
    domain_id: int | None
    phase: str
    phase_changed_at: datetime | None
    cooldown_until: datetime | None
    offence_count: int
    relapse_count: int
    needs_review: bool
    resilience_score: int
    version: int
    phase_sent_base: int
    phase_bounced_base: int
    phase_complaint_base: int
    paused_campaigns: list[int] | None
    phase_policy_base: int = 0
    phase_bounce_report_base: int = 0
    phase_policy_report_base: int = 0


_PHASES = select(*columns(MailboxPhaseRecord, t.mailbox))
_PHASES_UNSETTLED = _PHASES.where(
    or_(
        t.mailbox.c.phase != MailboxPhase.HEALTHY.value,
        t.mailbox.c.phase_changed_at >= bindparam("since", type_=t.mailbox.c.phase_changed_at.type),
    )
)
_PHASES_BY_ID = _PHASES.where(t.mailbox.c.id.in_(bindparam("ids", expanding=True)))
_PHASES_IN = _PHASES.where(t.mailbox.c.phase.in_(bindparam("phases", expanding=True)))


def unsettled_mailboxes(conn: Connection, *, healthy_since: datetime) -> list[MailboxPhaseRecord]:
    """Every mailbox not HEALTHY, and those HEALTHY only since `healthy_since`."""
    return [
        MailboxPhaseRecord(*row)
        for row in conn.execute(_PHASES_UNSETTLED, {"since": healthy_since})
    ]


def mailbox_phases_by_id(conn: Connection, ids: Sequence[int]) -> list[MailboxPhaseRecord]:
    return [MailboxPhaseRecord(*row) for row in conn.execute(_PHASES_BY_ID, {"ids": list(ids)})]


def mailboxes_in_phases(conn: Connection, phases: Sequence[str]) -> list[MailboxPhaseRecord]:
    return [MailboxPhaseRecord(*row) for row in conn.execute(_PHASES_IN, {"phases": list(phases)})]


_PAUSED_CAMPAIGNS = select(t.mailbox.c.paused_campaigns).where(t.mailbox.c.id == bindparam("id"))


def paused_campaigns_of(conn: Connection, mailbox_id: int) -> list[int]:
    """The campaigns the mailbox was sending for when it was paused (it returns to them)."""
    return list(conn.execute(_PAUSED_CAMPAIGNS, {"id": mailbox_id}).scalar() or ())


class Keep(Enum):
    """A column `move_phase` leaves as it is."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True, slots=True)
class PhaseChange:
    """A mailbox's new phase and recovery state (`core.recovery.Transition` applied)."""

    phase: str
    changed_at: datetime
    cooldown_until: datetime | None
    offence_count: int
    relapse_count: int
    needs_review: bool
    resilience_score: int
    sent_base: int
    """What today's counters held when the phase began ("sends in this phase" start here)."""
    bounced_base: int
    complaint_base: int
    paused_reason: str | Literal[Keep.KEEP] | None = KEEP
    paused_campaigns: list[int] | Literal[Keep.KEEP] | None = KEEP
    policy_base: int = 0
    bounce_report_base: int = 0
    policy_report_base: int = 0


# The SET list comes from the parameters (the phase change's columns); the WHERE's own
# parameters are named apart from every column.
_MOVE_PHASE = update(t.mailbox).where(
    t.mailbox.c.id == bindparam("where_id"),
    t.mailbox.c.version == bindparam("where_version"),
    t.mailbox.c.phase == bindparam("where_phase"),
)


def move_phase(
    conn: Connection, mailbox_id: int, *, version: int, from_phase: str, change: PhaseChange
) -> bool:
    """Compare-and-set: move the mailbox if it is still at `version` in `from_phase` (its
    version goes up by one, its clean sends in the phase back to 0); False otherwise."""
    params: dict[str, Any] = {
        "where_id": mailbox_id,
        "where_version": version,
        "where_phase": from_phase,
        "phase": change.phase,
        "phase_changed_at": change.changed_at,
        "cooldown_until": change.cooldown_until,
        "offence_count": change.offence_count,
        "relapse_count": change.relapse_count,
        "needs_review": change.needs_review,
        "resilience_score": change.resilience_score,
        "clean_sends_in_phase": 0,
        "phase_sent_base": change.sent_base,
        "phase_bounced_base": change.bounced_base,
        "phase_complaint_base": change.complaint_base,
        "phase_policy_base": change.policy_base,
        "phase_bounce_report_base": change.bounce_report_base,
        "phase_policy_report_base": change.policy_report_base,
        "version": version + 1,
    }
    if change.paused_reason is not KEEP:
        params["paused_reason"] = change.paused_reason
    if change.paused_campaigns is not KEEP:
        params["paused_campaigns"] = change.paused_campaigns
    return bool(conn.execute(_MOVE_PHASE, params).rowcount)


# -- the operator: a phase set by hand, mailboxes from config or CSV ---------------------

_SET_PHASE_BY_HAND = update(t.mailbox).where(
    t.mailbox.c.id == bindparam("where_id"), t.mailbox.c.version == bindparam("where_version")
)


def set_phase_by_hand(
    conn: Connection,
    mailbox_id: int,
    *,
    version: int,
    phase: str,
    at: datetime,
    paused_reason: str | None,
) -> bool:
    """Compare-and-set: put the mailbox in `phase` if it is still at `version` (a fresh
    start in it: no cool-down, no clean sends yet); False otherwise."""
    params = {
        "where_id": mailbox_id,
        "where_version": version,
        "phase": phase,
        "phase_changed_at": at,
        "version": version + 1,
        "paused_reason": paused_reason,
        "cooldown_until": None,
        "clean_sends_in_phase": 0,
    }
    return bool(conn.execute(_SET_PHASE_BY_HAND, params).rowcount)


_INSERT_MAILBOX = insert(t.mailbox)
_UPDATE_MAILBOX = update(t.mailbox).where(t.mailbox.c.id == bindparam("where_id"))


def insert_mailbox(conn: Connection, values: dict[str, Any]) -> None:
    """A new mailbox with these column values."""
    conn.execute(_INSERT_MAILBOX, values)


def update_mailbox(conn: Connection, mailbox_id: int, values: dict[str, Any]) -> None:
    """Set these columns of the mailbox."""
    conn.execute(_UPDATE_MAILBOX, {"where_id": mailbox_id, **values})
