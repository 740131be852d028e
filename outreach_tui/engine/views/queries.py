"""Read models for the console: what each pane shows, read in a few indexed queries.

The console never builds SQL; it calls these (from a worker thread) and renders the small
frozen dataclasses they return (defined beside their reads in `db/repos/views_*.py`,
importable from here). Large tables (leads, audit, suppression) are paged by key, so a
million leads open as fast as a hundred.
"""

from __future__ import annotations

from datetime import date, timedelta

from outreach_tui.core.days import day_start_utc, local_day
from outreach_tui.core.recovery import Rates
from outreach_tui.core.states import AttemptState, CounterScope, MailboxPhase
from outreach_tui.core.warmup import PoolMember
from outreach_tui.db.repos.counters import HEALTH_SCOPES
from outreach_tui.db.repos.views_dashboard import (
    Dashboard,
    EventRow,
    WorkerRow,
    mailbox_sends_on,
    open_attempts_by_state,
    recent_events,
    unhandled_reply_count,
    worker_rows,
)
from outreach_tui.db.repos.views_mailboxes import (
    DomainRow,
    MailboxRow,
    capacity_mailboxes,
    domain_rows,
    insecure_mailboxes,
    mailbox_count,
    mailbox_recovery,
    pane_counters_since,
)
from outreach_tui.db.repos.views_tables import (
    AuditRow,
    LeadRow,
    Page,
    ReplyRow,
    SuppressionRow,
    audit_page,
    lead_page,
    reply_rows,
    suppression_page,
)
from outreach_tui.engine.context import EngineContext
from outreach_tui.engine.sending.mailbox_pool import load_pool

__all__ = [
    "SPARK_DAYS",
    "AuditRow",
    "Dashboard",
    "DomainRow",
    "EventRow",
    "LeadRow",
    "MailboxRow",
    "Page",
    "Queries",
    "ReplyRow",
    "SuppressionRow",
    "WorkerRow",
]

SPARK_DAYS = 14


class Queries:
    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx

    # -- workers (several processes on one PostgreSQL) ------------------------------------

    def workers(self) -> list[WorkerRow] | None:
        """Every registered process with the mailboxes it holds, the live first; None on
        SQLite (one machine: the Dashboard has no worker list to show)."""
        if not self.ctx.db.shared:
            return None
        now = self.ctx.clock.now()
        alive_since = now - timedelta(seconds=self.ctx.settings.scheduler.lease_seconds)
        with self.ctx.db.read() as conn:
            found = worker_rows(conn, now=now, alive_since=alive_since)
        return sorted(found, key=lambda x: (not x.alive, x.host, x.pid))

    # -- dashboard --------------------------------------------------------------------------

    def dashboard(self) -> Dashboard:
        now = self.ctx.clock.now()
        tz = self.ctx.tz
        today = local_day(now, tz)
        start, end = day_start_utc(today, tz), day_start_utc(today + timedelta(days=1), tz)
        with self.ctx.db.read() as conn:
            sent_today = mailbox_sends_on(conn, today)
            by_state = open_attempts_by_state(conn, end)
            replies = unhandled_reply_count(conn)
            pool = load_pool(conn, now=now, settings=self.ctx.settings)
            alerts = recent_events(conn, limit=8, since=start - timedelta(days=2))
            guard_alerts = recent_events(
                conn, limit=8, since=start - timedelta(days=2), kinds=("alert",)
            )
        phases = {phase.value: 0 for phase in MailboxPhase}
        capacity = 0
        for box in pool.values():
            phases[box.row.phase] = phases.get(box.row.phase, 0) + 1
            capacity += max(0, box.candidate.daily_limit - box.sent_today)
        return Dashboard(
            today=today,
            sent_today=sent_today,
            planned_today=by_state.get(AttemptState.APPROVED.value, 0),
            capacity_today=capacity,
            waiting_approval=by_state.get(AttemptState.PENDING_APPROVAL.value, 0),
            replies_waiting=replies,
            unknown_outcomes=by_state.get(AttemptState.UNKNOWN.value, 0),
            phases=phases,
            alerts=alerts,
            guard_alerts=guard_alerts,
        )

    # -- mailboxes and domains ------------------------------------------------------------------

    def mailboxes(self) -> list[MailboxRow]:
        now = self.ctx.clock.now()
        today = local_day(now, self.ctx.tz)
        first = today - timedelta(days=SPARK_DAYS - 1)
        # The rates over the monitor's window (7 local days by default), as the monitor reads.
        window = [today - timedelta(days=i) for i in range(self.ctx.settings.monitor.window_days)]
        with self.ctx.db.read() as conn:
            pool = load_pool(conn, now=now, settings=self.ctx.settings)
            per_day = pane_counters_since(conn, min(first, window[-1]))
            recovery = mailbox_recovery(conn)
        rows = []
        for box in sorted(pool.values(), key=lambda b: b.row.email):
            email = box.row.email
            sent: dict[date, int] = per_day.get((CounterScope.MAILBOX, email), {})
            # The monitor's figures over its window (core.recovery.Rates): failures (hard
            # and policy, at SMTP time and reported later) over attempts (accepted sends and
            # SMTP-time refusals), each event counted once.
            rates = Rates(
                *(
                    sum(per_day.get((scope, email), {}).get(d, 0) for d in window)
                    for scope in HEALTH_SCOPES
                )
            )
            guard = recovery.get(box.row.id)
            rows.append(
                MailboxRow(
                    id=box.row.id,
                    email=email,
                    phase=box.row.phase,
                    sent_today=box.sent_today,
                    limit_today=box.candidate.daily_limit,
                    bounce_rate=rates.bounce_rate,
                    complaint_rate=rates.complaints / rates.sent if rates.sent else 0.0,
                    resilience=int(box.row.resilience_score),
                    spark=tuple(sent.get(first + timedelta(days=i), 0) for i in range(SPARK_DAYS)),
                    verify_tls=bool(box.row.verify_tls),
                    blocked=box.blocked,
                    next_send_at=box.row.next_send_at,
                    cooldown_until=box.row.cooldown_until,
                    needs_review=guard.needs_review if guard else False,
                    paused_reason=box.row.paused_reason,
                    phase_changed_at=box.row.phase_changed_at,
                    offence_count=guard.offence_count if guard else 0,
                    relapse_count=guard.relapse_count if guard else 0,
                )
            )
        return rows

    def mailbox_count(self) -> int:
        with self.ctx.db.read() as conn:
            return mailbox_count(conn)

    def insecure_mailboxes(self) -> list[str]:
        """Mailboxes with TLS verification turned off (the console shows them in red)."""
        with self.ctx.db.read() as conn:
            return insecure_mailboxes(conn)

    def capacity_pool(self) -> tuple[list[PoolMember], int]:
        """The mailboxes as `outreach-tui capacity` plans with them (limit settings, warmup
        start, health phase and since when), and how many sending domains they are on."""
        tz = self.ctx.tz
        with self.ctx.db.read() as conn:
            rows = capacity_mailboxes(conn)
        members = [
            PoolMember(
                phase=row.phase,
                fixed_limit=row.daily_limit,
                warmup_started=row.warmup_started,
                phase_started=local_day(row.phase_changed_at, tz) if row.phase_changed_at else None,
            )
            for row in rows
        ]
        return members, len({row.domain_id for row in rows})

    def domains(self) -> list[DomainRow]:
        with self.ctx.db.read() as conn:
            return domain_rows(conn)

    # -- inbox ----------------------------------------------------------------------------------

    def replies(
        self, *, limit: int = 200, include_handled: bool = True, search: str = ""
    ) -> list[ReplyRow]:
        """The newest replies; `search` "review" lists those whose suppression waits."""
        with self.ctx.db.read() as conn:
            return reply_rows(conn, limit=limit, include_handled=include_handled, search=search)

    # -- paged tables ---------------------------------------------------------------------------

    def leads(self, *, after_id: int = 0, limit: int = 100, search: str = "") -> Page[LeadRow]:
        """Leads by id from `after_id` (keyset paging: no OFFSET scan on big tables)."""
        with self.ctx.db.read() as conn:
            return lead_page(conn, after_id=after_id, limit=limit, search=search)

    def suppression(
        self, *, after_id: int = 0, limit: int = 100, search: str = ""
    ) -> Page[SuppressionRow]:
        with self.ctx.db.read() as conn:
            return suppression_page(conn, after_id=after_id, limit=limit, search=search)

    def audit(
        self, *, before_id: int | None = None, limit: int = 100, search: str = ""
    ) -> Page[AuditRow]:
        """Newest first, paged backwards by id."""
        with self.ctx.db.read() as conn:
            return audit_page(conn, before_id=before_id, limit=limit, search=search)

    def events(self, *, limit: int = 100) -> list[EventRow]:
        with self.ctx.db.read() as conn:
            return recent_events(conn, limit=limit)
