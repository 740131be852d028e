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
from outreach_tui.db import migrate
from outreach_tui.db import tables as t
from outreach_tui.db.session import make_engine, read_tx, write_tx
from outreach_tui.engine.actions import OperatorActions
from outreach_tui.engine.approval import ApprovalQueue
from outreach_tui.engine.campaigns import CampaignService
from outreach_tui.engine.clock import Clock, SystemClock
from outreach_tui.engine.dispatcher import Dispatcher, DispatchReport
from outreach_tui.engine.explain import Explainer
from outreach_tui.engine.identity import operator_id as resolve_operator
from outreach_tui.engine.leases import new_holder_id
from outreach_tui.engine.mailboxes import sync_mailboxes
from outreach_tui.engine.monitor import Monitor
from outreach_tui.engine.pipeline import SendOutcome, SendPipeline, SendRequest
from outreach_tui.engine.planner import Planner, PlanReport
from outreach_tui.engine.queries import Queries
from outreach_tui.engine.sequences import stop_lead
from outreach_tui.engine.suppression import SuppressionService
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

    async def aclose(self) -> None:
        self.dispatcher.release_leases()
        await self.transport.close()
        self.pipeline.close()
        self.db.dispose()

    def close_sync(self) -> None:
        self.dispatcher.release_leases()
        self.pipeline.close()
        self.db.dispose()


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
        if conn.execute(select(t.operator.c.id).where(t.operator.c.id == operator)).first() is None:
            conn.execute(
                insert(t.operator).values(id=operator, display_name=operator, created_at=now)
            )
        if sync_config:
            sync_mailboxes(conn, settings.all_mailboxes(), at=now)
    transport = transport or SmtpTransport()
    pipeline = SendPipeline(
        db=db, settings=settings, clock=clock, transport=transport, operator_id=operator
    )
    holder = new_holder_id("worker" if headless else "console")
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
        monitor=Monitor(db, settings, clock, operator),
        holder=holder,
        headless=headless,
    )
    engine.recovered_unknown = pipeline.recover_interrupted()
    return engine
