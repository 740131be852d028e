"""`Engine`: the one object the console and the headless worker hold.

`build_engine` is the composition root: the CLI, the worker, the console and the tests all
build the engine through it, swapping only the transports and the clock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import Engine as SAEngine
from sqlalchemy import insert, select

from outreach_tui.config import Settings
from outreach_tui.core.policy import PolicyDecision
from outreach_tui.core.states import LeadStatus
from outreach_tui.db import ledger, migrate
from outreach_tui.db import tables as t
from outreach_tui.db.session import make_engine, read_tx, write_tx
from outreach_tui.engine.clock import Clock, SystemClock
from outreach_tui.engine.guard.actor import GuardActor, Mode, Suggestion
from outreach_tui.engine.guard.alerts import Alerter
from outreach_tui.engine.guard.dnscheck import DnsHealthService
from outreach_tui.engine.guard.healer import Healer
from outreach_tui.engine.guard.monitor import Monitor
from outreach_tui.engine.identity import operator_id as resolve_operator
from outreach_tui.engine.inbox.service import Inbox, InboxCycle
from outreach_tui.engine.leads.suppression import SuppressionService
from outreach_tui.engine.mailboxes.from_config import new_mailbox_warmup_day, sync_mailboxes
from outreach_tui.engine.mailboxes.operator_actions import OperatorActions
from outreach_tui.engine.sending.approval import ApprovalQueue
from outreach_tui.engine.sending.campaigns import CampaignService
from outreach_tui.engine.sending.dispatcher import Dispatcher, DispatchReport
from outreach_tui.engine.sending.leases import new_holder_id, release_dead_local
from outreach_tui.engine.sending.pipeline import SendOutcome, SendPipeline, SendRequest
from outreach_tui.engine.sending.planner import Planner, PlanReport
from outreach_tui.engine.sending.sequences import stop_lead
from outreach_tui.engine.views.explain import Explainer
from outreach_tui.engine.views.queries import Queries
from outreach_tui.mail.inbound import ReplyKind
from outreach_tui.mail.smtp import MailSender, SmtpTransport

log = logging.getLogger(__name__)


@dataclass
class Engine:
    settings: Settings
    db: SAEngine
    clock: Clock
    transport: MailSender
    operator_id: str
    pipeline: SendPipeline
    suppression: SuppressionService
    campaigns: CampaignService
    planner: Planner
    dispatcher: Dispatcher
    approvals: ApprovalQueue
    explainer: Explainer
    queries: Queries
    actions: OperatorActions
    monitor: Monitor
    healer: Healer
    """The recovery pipeline (the `heal` job)."""
    guard: GuardActor
    """Carries out the monitor's and healer's decisions by mode; suggestions; mode switch."""
    alerts: Alerter
    """Raise alerts here (`await engine.alerts.send(alert)`, or `.submit(alert)` from sync
    code): an `alert` event always, Telegram/Slack when configured, repeats suppressed."""
    dns_health: DnsHealthService
    """Sending domains' SPF/DKIM/DMARC/MX/blocklist checks (`check`, `check_all`)."""
    inbox: Inbox
    """The reply inbox: IMAP polling, suggestions, relabelling, answering."""
    holder: str
    """This process's identity in leases (host, pid, a random part)."""
    headless: bool = False
    recovered_unknown: list[int] = field(default_factory=list)

    # Thin, documented entry points the UI and CLI call.

    def check_policy(self, sender: str, recipient: str, subject: str) -> PolicyDecision:
        return self.pipeline.check(sender, recipient, subject)

    async def send(self, request: SendRequest) -> SendOutcome:
        return await self.pipeline.send_new(request)

    async def send_attempt(self, attempt_id: int) -> SendOutcome:
        return await self.pipeline.send_attempt(attempt_id)

    def plan(self) -> PlanReport:
        """One planner tick: queue the sequence steps that are due."""
        return self.planner.tick()

    async def dispatch(self) -> DispatchReport:
        """One dispatcher tick: send the approved attempts that are due."""
        return await self.dispatcher.tick()

    async def poll_replies(self) -> InboxCycle:
        """One reply-inbox cycle: poll every IMAP mailbox, then settle unknown sends."""
        return await self.inbox.poll()

    async def reply_to(self, reply_id: int, body: str) -> SendOutcome:
        """Answer reply `reply_id` in its thread, from the mailbox that received it, through
        the send pipeline (policy, ledger, SMTP, audit). The operator is this session's."""
        return await self.inbox.reply_to(reply_id, body)

    def confirm_suggestion(self, reply_id: int) -> bool:
        """SUGGEST mode: apply the suppression reply `reply_id` held back (audited)."""
        return self.inbox.confirm_suggestion(reply_id)

    def dismiss_reply_suggestion(self, reply_id: int) -> bool:
        """SUGGEST mode: drop the suppression reply `reply_id` suggested (audited)."""
        return self.inbox.dismiss_suggestion(reply_id)

    def relabel_reply(self, reply_id: int, kind: ReplyKind) -> bool:
        """Correct a reply's class: the old class's effects are undone where they can be,
        the new class's applied (audited)."""
        return self.inbox.relabel_reply(reply_id, kind)

    def stop_sequences(
        self,
        email: str,
        *,
        reason: str,
        status: LeadStatus | None = None,
        company_wide: bool = False,
    ) -> int:
        """Stop every sequence of a lead (a reply, an unsubscribe, a bounce); withdraws its
        queued attempts. Returns how many sequences were stopped."""
        address = email.strip().lower()
        now = self.clock.now()
        with read_tx(self.db) as conn:
            lead_id = conn.execute(select(t.lead.c.id).where(t.lead.c.email == address)).scalar()
        if lead_id is None:
            return 0
        with write_tx(self.db) as conn:
            return stop_lead(
                conn,
                lead_id=int(lead_id),
                reason=reason,
                operator_id=self.operator_id,
                now=now,
                lead_status=status,
                company_wide=company_wide,
            )

    # Deliverability guard: the console's mode switch and suggestion list call these.

    def monitor_mode(self) -> Mode:
        """observe | suggest | enforce: the run-time switch, else `[monitor] mode`."""
        return self.guard.mode()

    def set_monitor_mode(self, mode: str, operator: str | None = None) -> Mode:
        """Switch the guard's mode for every process on this database (read each pass)."""
        result = self.guard.set_mode(mode, operator or self.operator_id)
        self.settings.monitor.mode = result
        return result

    def accept_suggestion(self, event_id: int, operator: str | None = None) -> bool:
        """Apply a "suggestion" event's action (compare-and-set); False when it went stale."""
        return self.guard.accept_suggestion(event_id, operator or self.operator_id)

    def open_suggestions(self, limit: int = 100) -> list[Suggestion]:
        """The guard's suggestions waiting for the operator, newest first."""
        return self.guard.open_suggestions(limit)

    def dismiss_suggestion(self, event_id: int, operator: str | None = None) -> bool:
        """Close a "suggestion" event without acting (audited)."""
        return self.guard.dismiss_suggestion(event_id, operator or self.operator_id)

    async def aclose(self) -> None:
        await self.alerts.drain()
        self.dispatcher.release_leases()
        await self.transport.close()
        self.pipeline.close()
        self.db.dispose()

    def close_sync(self) -> None:
        self.alerts.join_threads()
        self.dispatcher.release_leases()
        self.pipeline.close()
        self.db.dispose()


#: The advisory lock key of the start-up transaction (PostgreSQL; see `build_engine`).
STARTUP_LOCK = "outreach:startup"


def build_engine(
    settings: Settings,
    *,
    headless: bool = False,
    clock: Clock | None = None,
    transport: MailSender | None = None,
    db: SAEngine | None = None,
    migrate_db: bool = True,
    sync_config: bool = True,
) -> Engine:
    """Open the database (migrating it), sync configured mailboxes, recover crashed sends."""
    clock = clock or SystemClock()
    db = db or make_engine(
        settings.database_url,
        synchronous=settings.database.sqlite_synchronous,
        busy_timeout_ms=settings.database.busy_timeout_ms,
    )
    if migrate_db:
        migrate.upgrade(db)
    operator = resolve_operator(headless=headless, configured=settings.operator.id)
    now = clock.now()
    with write_tx(db) as conn:
        # PostgreSQL: processes starting at once take turns here (each checks, then inserts
        # the operator and the mailboxes). Not the operator's cap lock: running workers'
        # sends stamp mailbox rows and then take that one, so the config sync (which writes
        # a mailbox only when its settings changed) waits for them, never in a cycle.
        ledger.lock_scopes(conn, STARTUP_LOCK)
        if conn.execute(select(t.operator.c.id).where(t.operator.c.id == operator)).first() is None:
            conn.execute(
                insert(t.operator).values(id=operator, display_name=operator, created_at=now)
            )
        if sync_config:
            sync_mailboxes(
                conn,
                settings.all_mailboxes(),
                at=now,
                warmup_from=new_mailbox_warmup_day(settings, now),
            )
        # A worker restarted after a kill must not wait out its dead predecessor's leases.
        if freed := release_dead_local(conn):
            log.warning("freed the leases of processes that are gone: %s", ", ".join(freed))
    transport = transport or SmtpTransport()
    pipeline = SendPipeline(
        db=db, settings=settings, clock=clock, transport=transport, operator_id=operator
    )
    holder = new_holder_id("worker" if headless else "console")
    alerts = Alerter(db, settings, clock)
    guard = GuardActor(db, settings, clock, operator)
    dns_health = DnsHealthService(db, settings, clock, alerts)

    async def check_domains(names: list[str]) -> None:
        for name in names:
            await dns_health.check(name)

    engine = Engine(
        settings=settings,
        db=db,
        clock=clock,
        transport=transport,
        operator_id=operator,
        pipeline=pipeline,
        suppression=SuppressionService(db, clock, operator),
        campaigns=CampaignService(db, clock, operator),
        planner=Planner(db, settings, clock, operator, holder),
        dispatcher=Dispatcher(db, settings, clock, pipeline, operator, holder),
        approvals=ApprovalQueue(db, clock, operator),
        explainer=Explainer(db, settings, clock, pipeline, holder),
        queries=Queries(db, settings, clock),
        actions=OperatorActions(db, clock, operator),
        monitor=Monitor(db, settings, clock, operator, actor=guard, sink=alerts),
        healer=Healer(
            db, settings, clock, operator, actor=guard, sink=alerts, request_dns=check_domains
        ),
        guard=guard,
        alerts=alerts,
        dns_health=dns_health,
        inbox=Inbox(db, settings, clock, pipeline, operator),
        holder=holder,
        headless=headless,
    )
    engine.recovered_unknown = pipeline.recover_interrupted()
    return engine
