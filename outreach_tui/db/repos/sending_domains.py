"""Sending domains (the domain part of our mailboxes' addresses): the paused flag the guard
and the operator set by compare-and-set, and what the last DNS check stored (SPF, DKIM,
DMARC, blocklists; None where it could not be established)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, or_, select, update

from outreach_tui.db import tables as t
from outreach_tui.db.records import SendingDomainRecord, columns


@dataclass(frozen=True, slots=True)
class SendingDomainState:
    """A sending domain's paused flag and the flags of its last DNS check (None: could not
    be established)."""

    id: int
    name: str
    paused: bool
    paused_reason: str | None
    paused_at: datetime | None
    spf_ok: bool | None
    dkim_ok: bool | None
    dmarc_ok: bool | None
    blocklisted: bool | None
    dns_checked_at: datetime | None


_D = t.sending_domain
_DOMAIN_STATES = select(*columns(SendingDomainState, _D))
_DOMAINS_TO_HEAL = _DOMAIN_STATES.where(
    or_(
        _D.c.paused.is_(True),
        _D.c.id.in_(
            select(t.mailbox.c.domain_id).where(
                t.mailbox.c.phase.in_(bindparam("phases", expanding=True))
            )
        ),
    )
)


def sending_domain_states(conn: Connection) -> list[SendingDomainState]:
    return [SendingDomainState(*row) for row in conn.execute(_DOMAIN_STATES)]


def sending_domains_to_heal(conn: Connection, phases: Sequence[str]) -> list[SendingDomainState]:
    """The paused domains, and those with a mailbox in one of `phases`."""
    return [
        SendingDomainState(*row) for row in conn.execute(_DOMAINS_TO_HEAL, {"phases": list(phases)})
    ]


_SET_DOMAIN_PAUSED = update(_D).where(
    _D.c.id == bindparam("where_id"), _D.c.paused != bindparam("where_not")
)


def set_domain_paused(
    conn: Connection, domain_id: int, *, paused: bool, reason: str | None, at: datetime | None
) -> bool:
    """Compare-and-set on the paused flag: False when the domain already was (un)paused."""
    params = {
        "where_id": domain_id,
        "where_not": paused,
        "paused": paused,
        "paused_reason": reason,
        "paused_at": at,
    }
    return bool(conn.execute(_SET_DOMAIN_PAUSED, params).rowcount)


_DOMAIN_BY_NAME = select(*columns(SendingDomainRecord, _D)).where(_D.c.name == bindparam("name"))
_DOMAIN_NAMES = select(_D.c.name).order_by(_D.c.name)


def sending_domain_by_name(conn: Connection, name: str) -> SendingDomainRecord | None:
    row = conn.execute(_DOMAIN_BY_NAME, {"name": name}).first()
    return None if row is None else SendingDomainRecord(*row)


def sending_domain_names(conn: Connection) -> list[str]:
    return list(conn.execute(_DOMAIN_NAMES).scalars())


_DOMAIN_ID = select(_D.c.id).where(_D.c.name == bindparam("name"))
_DOMAIN_NAME = select(_D.c.name).where(_D.c.id == bindparam("id"))
_NEW_DOMAIN = insert(_D).values(paused=False)


def ensure_sending_domain(conn: Connection, name: str) -> int:
    """The id of the sending domain `name` (lower-cased), added (not paused) if new."""
    name = name.lower()
    found = conn.execute(_DOMAIN_ID, {"name": name}).scalar()
    if found is not None:
        return int(found)
    key = conn.execute(_NEW_DOMAIN, {"name": name}).inserted_primary_key
    assert key is not None
    return int(key[0])


def sending_domain_name(conn: Connection, domain_id: int) -> str | None:
    found = conn.execute(_DOMAIN_NAME, {"id": domain_id}).scalar()
    return None if found is None else str(found)


@dataclass(frozen=True, slots=True)
class MailboxHost:
    email: str
    smtp_host: str


_DOMAIN_MAILBOXES = (
    select(t.mailbox.c.email, t.mailbox.c.smtp_host)
    .where(t.mailbox.c.domain_id == bindparam("domain_id"))
    .order_by(t.mailbox.c.email)
)


def domain_mailbox_hosts(conn: Connection, domain_id: int) -> list[MailboxHost]:
    """The domain's mailboxes and their SMTP servers, by address."""
    return [MailboxHost(*row) for row in conn.execute(_DOMAIN_MAILBOXES, {"domain_id": domain_id})]


_STORE_DNS_CHECK = update(_D).where(_D.c.id == bindparam("where_id"))


def store_dns_check(
    conn: Connection,
    domain_id: int,
    *,
    flags: Mapping[str, bool | None],
    checked_at: datetime,
    detail: dict[str, Any],
) -> None:
    """A DNS check's flags (spf_ok, dkim_ok, dmarc_ok, blocklisted) and its whole result."""
    conn.execute(
        _STORE_DNS_CHECK,
        {"where_id": domain_id, **flags, "dns_checked_at": checked_at, "dns_detail": detail},
    )
