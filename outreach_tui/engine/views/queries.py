"""Read models for the console: what each pane shows, read in a few indexed queries.

The console never builds SQL; it calls these (from a worker thread) and renders the small
dataclasses they return. Large tables (leads, audit, suppression) are paged by key, so a
million leads open as fast as a hundred.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine, func, select

from outreach_tui.config import Settings
from outreach_tui.core.days import day_start_utc, local_day
from outreach_tui.core.states import AttemptState, CounterScope, MailboxPhase
from outreach_tui.db import tables as t
from outreach_tui.db.session import read_tx
from outreach_tui.engine.sending.leases import MAILBOX_PREFIX
from outreach_tui.engine.sending.mailbox_pool import load_pool

SPARK_DAYS = 14


@dataclass(frozen=True, slots=True)
class Dashboard:
    today: date
    sent_today: int
    planned_today: int
    capacity_today: int
    waiting_approval: int
    replies_waiting: int
    unknown_outcomes: int
    phases: dict[str, int]
    alerts: list[EventRow]
    guard_alerts: list[EventRow] = field(default_factory=list)
    """The latest "alert" events (monitor, healer, DNS): a flood of per-reply events must
    not push a pause out of sight."""


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
class EventRow:
    id: int
    created_at: datetime
    severity: str
    kind: str
    message: str
    acknowledged: bool


RowT = TypeVar("RowT")


@dataclass(frozen=True, slots=True)
class Page(Generic[RowT]):
    rows: list[RowT]
    more: bool
    """True when rows exist past this page."""


@dataclass(frozen=True, slots=True)
class WorkerRow:
    """A process sharing the database (`outreach-tui worker`, or a console's engine)."""

    id: str
    host: str
    pid: int
    kind: str
    leases: int
    """Mailboxes it holds now (live dispatch leases)."""
    heartbeat_at: datetime
    started_at: datetime
    alive: bool
    """Heard from within a lease's time; past it, its mailboxes go to the others."""


class Queries:
    def __init__(self, db: Engine, settings: Settings, clock: Any) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock

    # -- workers (several processes on one PostgreSQL) ------------------------------------

    def workers(self) -> list[WorkerRow] | None:
        """Every registered process with the mailboxes it holds, the live first; None on
        SQLite (one machine: the Dashboard has no worker list to show)."""
        if self.db.dialect.name == "sqlite":
            return None
        now = self.clock.now()
        w, lease = t.worker_process, t.lease
        held = (
            select(lease.c.holder, func.count().label("n"))
            .where(lease.c.name.startswith(MAILBOX_PREFIX), lease.c.expires_at >= now)
            .group_by(lease.c.holder)
            .subquery()
        )
        with read_tx(self.db) as conn:
            rows = conn.execute(
                select(w, func.coalesce(held.c.n, 0).label("leases"))
                .outerjoin(held, held.c.holder == w.c.id)
                .order_by(w.c.heartbeat_at.desc())
                .limit(200)
            ).all()
        alive_since = now - timedelta(seconds=self.settings.scheduler.lease_seconds)
        found = [
            WorkerRow(
                id=r.id, host=r.host, pid=r.pid, kind=r.kind, leases=int(r.leases),
                heartbeat_at=r.heartbeat_at, started_at=r.started_at,
                alive=r.heartbeat_at >= alive_since,
            )
            for r in rows
        ]  # fmt: skip
        return sorted(found, key=lambda x: (not x.alive, x.host, x.pid))

    # -- dashboard --------------------------------------------------------------------------

    def dashboard(self) -> Dashboard:
        now = self.clock.now()
        tz = self.settings.tz
        today = local_day(now, tz)
        start, end = day_start_utc(today, tz), day_start_utc(today + timedelta(days=1), tz)
        a = t.attempt
        with read_tx(self.db) as conn:
            sent_today = conn.execute(
                select(func.coalesce(func.sum(t.daily_counter.c.count), 0)).where(
                    t.daily_counter.c.scope == CounterScope.MAILBOX, t.daily_counter.c.day == today
                )
            ).scalar()
            by_state: dict[str, int] = dict(
                conn.execute(
                    select(a.c.state, func.count())
                    .where(
                        a.c.state.in_(
                            [
                                AttemptState.APPROVED.value,
                                AttemptState.PENDING_APPROVAL.value,
                                AttemptState.UNKNOWN.value,
                            ]
                        ),
                        (a.c.next_attempt_at.is_(None))
                        | (a.c.next_attempt_at < end)
                        | (a.c.state != AttemptState.APPROVED.value),
                    )
                    .group_by(a.c.state)
                ).all()
            )
            replies = conn.execute(
                select(func.count()).select_from(t.reply).where(t.reply.c.handled.is_(False))
            ).scalar()
            pool = load_pool(conn, now=now, settings=self.settings)
            alerts = self._events(conn, limit=8, since=start - timedelta(days=2))
            guard_alerts = self._events(
                conn, limit=8, since=start - timedelta(days=2), kinds=("alert",)
            )
        phases = {phase.value: 0 for phase in MailboxPhase}
        capacity = 0
        for box in pool.values():
            phases[box.row.phase] = phases.get(box.row.phase, 0) + 1
            capacity += max(0, box.candidate.daily_limit - box.sent_today)
        return Dashboard(
            today=today,
            sent_today=int(sent_today or 0),
            planned_today=int(by_state.get(AttemptState.APPROVED.value, 0)),
            capacity_today=capacity,
            waiting_approval=int(by_state.get(AttemptState.PENDING_APPROVAL.value, 0)),
            replies_waiting=int(replies or 0),
            unknown_outcomes=int(by_state.get(AttemptState.UNKNOWN.value, 0)),
            phases=phases,
            alerts=alerts,
            guard_alerts=guard_alerts,
        )

    # -- mailboxes and domains ------------------------------------------------------------------

    def mailboxes(self) -> list[MailboxRow]:
        now = self.clock.now()
        tz = self.settings.tz
        today = local_day(now, tz)
        first = today - timedelta(days=SPARK_DAYS - 1)
        with read_tx(self.db) as conn:
            pool = load_pool(conn, now=now, settings=self.settings)
            per_day: dict[tuple[str, str], dict[date, int]] = {}
            for scope, key, day, count in conn.execute(
                select(
                    t.daily_counter.c.scope,
                    t.daily_counter.c.key,
                    t.daily_counter.c.day,
                    t.daily_counter.c.count,
                ).where(
                    t.daily_counter.c.scope.in_(
                        [
                            CounterScope.MAILBOX,
                            CounterScope.MAILBOX_BOUNCE,
                            CounterScope.MAILBOX_COMPLAINT,
                        ]
                    ),
                    t.daily_counter.c.day >= first,
                )
            ):
                per_day.setdefault((scope, key), {})[day] = int(count)
            m = t.mailbox
            recovery = {
                row.id: row
                for row in conn.execute(
                    select(m.c.id, m.c.needs_review, m.c.offence_count, m.c.relapse_count)
                )
            }
        rows = []
        for box in sorted(pool.values(), key=lambda b: b.row.email):
            email = box.row.email
            sent = per_day.get((CounterScope.MAILBOX, email), {})
            week = [today - timedelta(days=i) for i in range(7)]
            sent_week = sum(sent.get(d, 0) for d in week)
            bounced = sum(
                per_day.get((CounterScope.MAILBOX_BOUNCE, email), {}).get(d, 0) for d in week
            )
            complained = sum(
                per_day.get((CounterScope.MAILBOX_COMPLAINT, email), {}).get(d, 0) for d in week
            )
            attempted = sent_week + bounced
            rows.append(
                MailboxRow(
                    id=box.row.id,
                    email=email,
                    phase=box.row.phase,
                    sent_today=box.sent_today,
                    limit_today=box.candidate.daily_limit,
                    bounce_rate=bounced / attempted if attempted else 0.0,
                    complaint_rate=complained / sent_week if sent_week else 0.0,
                    resilience=int(box.row.resilience_score),
                    spark=tuple(sent.get(first + timedelta(days=i), 0) for i in range(SPARK_DAYS)),
                    verify_tls=bool(box.row.verify_tls),
                    blocked=box.blocked,
                    next_send_at=box.row.next_send_at,
                    cooldown_until=box.row.cooldown_until,
                    needs_review=bool(getattr(recovery.get(box.row.id), "needs_review", False)),
                    paused_reason=box.row.paused_reason,
                    phase_changed_at=box.row.phase_changed_at,
                    offence_count=int(getattr(recovery.get(box.row.id), "offence_count", 0)),
                    relapse_count=int(getattr(recovery.get(box.row.id), "relapse_count", 0)),
                )
            )
        return rows

    def mailbox_count(self) -> int:
        with read_tx(self.db) as conn:
            return int(conn.execute(select(func.count()).select_from(t.mailbox)).scalar() or 0)

    def insecure_mailboxes(self) -> list[str]:
        """Mailboxes with TLS verification turned off (the console shows them in red)."""
        with read_tx(self.db) as conn:
            return list(
                conn.execute(
                    select(t.mailbox.c.email).where(t.mailbox.c.verify_tls.is_(False))
                ).scalars()
            )

    def domains(self) -> list[DomainRow]:
        counts = (
            select(t.mailbox.c.domain_id, func.count().label("n"))
            .group_by(t.mailbox.c.domain_id)
            .subquery()
        )
        d = t.sending_domain
        with read_tx(self.db) as conn:
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
                for r in conn.execute(
                    select(d, counts.c.n)
                    .outerjoin(counts, counts.c.domain_id == d.c.id)
                    .order_by(d.c.name)
                )
            ]

    # -- inbox ----------------------------------------------------------------------------------

    def replies(
        self, *, limit: int = 200, include_handled: bool = True, search: str = ""
    ) -> list[ReplyRow]:
        r = t.reply
        query = (
            select(
                r.c.id,
                r.c.received_at,
                t.mailbox.c.email,
                r.c.from_email,
                r.c.subject,
                r.c.classification,
                r.c.handled,
                r.c.snippet,
                r.c.reason,
                r.c.problem,
                r.c.affected_email,
                r.c.review,
                r.c.classified_by,
            )
            .join(t.mailbox, t.mailbox.c.id == r.c.mailbox_id)
            .order_by(r.c.id.desc())
            .limit(limit)
        )
        if not include_handled:
            query = query.where(r.c.handled.is_(False))
        if search.strip().lower() == "review":
            # The SUGGEST-mode review list: the replies whose suppression waits.
            query = query.where(r.c.review == "pending")
        elif search:
            like = f"%{search.lower()}%"
            query = query.where(
                func.lower(r.c.from_email).like(like)
                | func.lower(r.c.subject).like(like)
                | (func.lower(r.c.classification) == search.strip().lower())
            )
        with read_tx(self.db) as conn:
            return [ReplyRow(*row) for row in conn.execute(query)]

    # -- paged tables ---------------------------------------------------------------------------

    def leads(self, *, after_id: int = 0, limit: int = 100, search: str = "") -> Page[LeadRow]:
        """Leads by id from `after_id` (keyset paging: no OFFSET scan on big tables)."""
        lead = t.lead
        query = (
            select(
                lead.c.id,
                lead.c.email,
                lead.c.first_name,
                lead.c.last_name,
                lead.c.company,
                lead.c.status,
                lead.c.health,
                lead.c.timezone,
            )
            .where(lead.c.id > after_id)
            .order_by(lead.c.id)
            .limit(limit + 1)
        )
        if search:
            text = search.strip().lower()
            if "@" in text or "." in text:
                query = query.where(lead.c.email.like(f"{text}%") | lead.c.domain.like(f"{text}%"))
            else:
                query = query.where(lead.c.email.like(f"%{text}%"))
        with read_tx(self.db) as conn:
            rows = conn.execute(query).all()
        items = [
            LeadRow(
                r.id,
                r.email,
                " ".join(x for x in (r.first_name, r.last_name) if x),
                r.company,
                r.status,
                r.health,
                r.timezone,
            )
            for r in rows[:limit]
        ]
        return Page(items, len(rows) > limit)

    def suppression(
        self, *, after_id: int = 0, limit: int = 100, search: str = ""
    ) -> Page[SuppressionRow]:
        s = t.suppression
        query = (
            select(s.c.id, s.c.kind, s.c.value, s.c.reason, s.c.source, s.c.created_at)
            .where(s.c.id > after_id)
            .order_by(s.c.id)
            .limit(limit + 1)
        )
        if search:
            query = query.where(s.c.value.like(f"%{search.strip().lower()}%"))
        with read_tx(self.db) as conn:
            rows = conn.execute(query).all()
        return Page([SuppressionRow(*r) for r in rows[:limit]], len(rows) > limit)

    def audit(
        self, *, before_id: int | None = None, limit: int = 100, search: str = ""
    ) -> Page[AuditRow]:
        """Newest first, paged backwards by id."""
        a = t.audit_log
        query = (
            select(
                a.c.id,
                a.c.timestamp,
                a.c.user_id,
                a.c.policy_result,
                a.c.lead_email,
                a.c.sender_email,
                a.c.subject,
                a.c.reason,
            )
            .order_by(a.c.id.desc())
            .limit(limit + 1)
        )
        if before_id is not None:
            query = query.where(a.c.id < before_id)
        if search:
            text = search.strip().lower()
            query = query.where(a.c.lead_email.like(f"{text}%") | (a.c.policy_result == text))
        with read_tx(self.db) as conn:
            rows = conn.execute(query).all()
        return Page([AuditRow(*r) for r in rows[:limit]], len(rows) > limit)

    def events(self, *, limit: int = 100) -> list[EventRow]:
        with read_tx(self.db) as conn:
            return self._events(conn, limit=limit)

    @staticmethod
    def _events(
        conn: Any,
        *,
        limit: int,
        since: datetime | None = None,
        kinds: tuple[str, ...] = (),
    ) -> list[EventRow]:
        e = t.event
        query = (
            select(e.c.id, e.c.created_at, e.c.severity, e.c.kind, e.c.message, e.c.acknowledged)
            .order_by(e.c.id.desc())
            .limit(limit)
        )
        if since is not None:
            query = query.where(e.c.created_at >= since)
        if kinds:
            query = query.where(e.c.kind.in_(kinds))
        return [EventRow(*row) for row in conn.execute(query)]
