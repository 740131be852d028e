"""Read models of the console's Mailboxes and Domains panes, and of `outreach-tui capacity`
and `outreach-tui mailboxes list`.

`MailboxRow` is filled by `engine/views/queries.py` from the mailbox pool (limits and
blocks as the dispatcher sees them) and the counters read here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, bindparam, func, select

from outreach_tui.db import tables as t
from outreach_tui.db.records import columns
from outreach_tui.db.repos.counters import HEALTH_SCOPES


@dataclass(frozen=True, slots=True)
class MailboxRow:
    id: int
    email: str
    phase: str
    sent_today: int
    limit_today: int
    bounce_rate: float
    complaint_rate: float
    resilience: int
    spark: tuple[int, ...]
    verify_tls: bool
    blocked: str | None
    next_send_at: datetime | None
    # The recovery state the guard keeps (engine/guard/actor.py, core/recovery.py).
    cooldown_until: datetime | None = None
    needs_review: bool = False
    paused_reason: str | None = None
    phase_changed_at: datetime | None = None
    offence_count: int = 0
    relapse_count: int = 0


@dataclass(frozen=True, slots=True)
class DomainRow:
    id: int
    name: str
    paused: bool
    paused_reason: str | None
    spf_ok: bool | None
    dkim_ok: bool | None
    dmarc_ok: bool | None
    blocklisted: bool | None
    checked_at: datetime | None
    mailboxes: int


@dataclass(frozen=True, slots=True)
class MailboxRecovery:
    """The guard's recovery counters of one mailbox."""

    id: int
    needs_review: bool
    offence_count: int
    relapse_count: int


@dataclass(frozen=True, slots=True)
class CapacityMailbox:
    """What `outreach-tui capacity` needs of a configured mailbox."""

    phase: str
    daily_limit: int | None
    warmup_started: date | None
    phase_changed_at: datetime | None
    domain_id: int | None


_DC, _M, _D = t.daily_counter, t.mailbox, t.sending_domain

# -- mailboxes ----------------------------------------------------------------------------

#: The counters the Mailboxes pane draws: sends (the sparkline) and the health counters the
#: monitor reads (its rates: core.recovery.Rates).
PANE_SCOPES = HEALTH_SCOPES

_PANE_COUNTERS = select(_DC.c.scope, _DC.c.key, _DC.c.day, _DC.c.count).where(
    _DC.c.scope.in_(PANE_SCOPES), _DC.c.day >= bindparam("first", type_=_DC.c.day.type)
)


def pane_counters_since(conn: Connection, first: date) -> dict[tuple[str, str], dict[date, int]]:
    """The `PANE_SCOPES` counters from the local day `first` on: (scope, mailbox address)
    → day → count."""
    per_day: dict[tuple[str, str], dict[date, int]] = {}
    for scope, key, day, count in conn.execute(_PANE_COUNTERS, {"first": first}):
        per_day.setdefault((scope, key), {})[day] = int(count)
    return per_day


_RECOVERY = select(_M.c.id, _M.c.needs_review, _M.c.offence_count, _M.c.relapse_count)


def mailbox_recovery(conn: Connection) -> dict[int, MailboxRecovery]:
    """Every mailbox's recovery counters, by id."""
    return {
        row.id: MailboxRecovery(
            row.id, bool(row.needs_review), int(row.offence_count), int(row.relapse_count)
        )
        for row in conn.execute(_RECOVERY)
    }


_MAILBOX_COUNT = select(func.count()).select_from(_M)


def mailbox_count(conn: Connection) -> int:
    return int(conn.execute(_MAILBOX_COUNT).scalar() or 0)


_INSECURE = select(_M.c.email).where(_M.c.verify_tls.is_(False))


def insecure_mailboxes(conn: Connection) -> list[str]:
    """Addresses of the mailboxes with TLS verification turned off."""
    return [str(email) for email in conn.execute(_INSECURE).scalars()]


_CAPACITY = select(
    _M.c.phase, _M.c.daily_limit, _M.c.warmup_started, _M.c.phase_changed_at, _M.c.domain_id
)


def capacity_mailboxes(conn: Connection) -> list[CapacityMailbox]:
    """Every mailbox's limit settings and health phase."""
    return [CapacityMailbox(*row) for row in conn.execute(_CAPACITY)]


@dataclass(frozen=True, slots=True)
class MailboxListing:
    """A line of `outreach-tui mailboxes list`: connection and health facts, never a
    password reference."""

    email: str
    phase: str
    daily_limit: int | None
    smtp_host: str
    smtp_port: int
    verify_tls: bool
    source: str


_LISTING = select(*columns(MailboxListing, _M)).order_by(_M.c.email)


def mailbox_listing(conn: Connection) -> list[MailboxListing]:
    """Every mailbox, by address."""
    return [MailboxListing(*row) for row in conn.execute(_LISTING)]


# -- sending domains ----------------------------------------------------------------------

_PER_DOMAIN = select(_M.c.domain_id, func.count().label("n")).group_by(_M.c.domain_id).subquery()
_DOMAINS = (
    select(
        _D.c.id,
        _D.c.name,
        _D.c.paused,
        _D.c.paused_reason,
        _D.c.spf_ok,
        _D.c.dkim_ok,
        _D.c.dmarc_ok,
        _D.c.blocklisted,
        _D.c.dns_checked_at,
        _PER_DOMAIN.c.n,
    )
    .outerjoin(_PER_DOMAIN, _PER_DOMAIN.c.domain_id == _D.c.id)
    .order_by(_D.c.name)
)


def domain_rows(conn: Connection) -> list[DomainRow]:
    """Every sending domain by name, with its DNS health and number of mailboxes."""
    return [
        DomainRow(
            r.id,
            r.name,
            bool(r.paused),
            r.paused_reason,
            r.spf_ok,
            r.dkim_ok,
            r.dmarc_ok,
            r.blocklisted,
            r.dns_checked_at,
            int(r.n or 0),
        )
        for r in conn.execute(_DOMAINS)
    ]
