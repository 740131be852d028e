"""The composition root: every service of the engine is built here, and only here.

`build_engine` is what the CLI, the worker, the console, the demo and the tests call; they
swap only the transport, the clock and the database. No service builds another: each
receives its collaborators in its constructor, so what talks to what is read in one place.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine as SAEngine

from outreach_tui.config import Settings
from outreach_tui.db import migrate
from outreach_tui.db.database import Database
from outreach_tui.db.repos.counters import lock_scopes
from outreach_tui.db.repos.operators import ensure_operator
from outreach_tui.db.session import make_engine
from outreach_tui.engine.clock import Clock, SystemClock
from outreach_tui.engine.context import EngineContext
from outreach_tui.engine.engine import Engine
from outreach_tui.engine.guard.actor import GuardActor
from outreach_tui.engine.guard.alerts import Alerter
from outreach_tui.engine.guard.dnscheck import DnsHealthService
from outreach_tui.engine.guard.healer import Healer
from outreach_tui.engine.guard.monitor import Monitor
from outreach_tui.engine.identity import operator_id as resolve_operator
from outreach_tui.engine.inbox.service import Inbox
from outreach_tui.engine.leads.suppression import SuppressionService
from outreach_tui.engine.mailboxes.from_config import new_mailbox_warmup_day, sync_mailboxes
from outreach_tui.engine.mailboxes.operator_actions import OperatorActions
from outreach_tui.engine.sending.approval import ApprovalQueue
from outreach_tui.engine.sending.campaigns import CampaignService
from outreach_tui.engine.sending.dispatcher import Dispatcher
from outreach_tui.engine.sending.leases import new_holder_id, release_dead_local
from outreach_tui.engine.sending.pipeline import SendPipeline
from outreach_tui.engine.sending.planner import Planner
from outreach_tui.engine.views.explain import Explainer
from outreach_tui.engine.views.queries import Queries
from outreach_tui.mail.smtp import MailSender, SmtpTransport

log = logging.getLogger(__name__)

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
    """Open the database (migrating it), sync configured mailboxes, recover crashed sends,
    and build every service on one `EngineContext`."""
    clock = clock or SystemClock()
    db = db or make_engine(
        settings.database_url,
        synchronous=settings.database.sqlite_synchronous,
        busy_timeout_ms=settings.database.busy_timeout_ms,
    )
    if migrate_db:
        migrate.upgrade(db)
    operator = resolve_operator(headless=headless, configured=settings.operator.id)
    database = Database(db, write_lanes=settings.scheduler.db_connections)
    _start_up(database, settings, operator, clock, sync_config=sync_config)
    ctx = EngineContext(
        db=database,
        settings=settings,
        clock=clock,
        operator_id=operator,
        holder=new_holder_id("worker" if headless else "console"),
    )
    transport = transport or SmtpTransport()
    pipeline = SendPipeline(
        db=db, settings=settings, clock=clock, transport=transport, operator_id=operator
    )
    alerts = Alerter(db, settings, clock)
    guard = GuardActor(db, settings, clock, operator)
    dns_health = DnsHealthService(db, settings, clock, alerts)

    async def check_domains(names: list[str]) -> None:
        for name in names:
            await dns_health.check(name)

    engine = Engine(
        ctx=ctx,
        transport=transport,
        pipeline=pipeline,
        suppression=SuppressionService(db, clock, operator),
        campaigns=CampaignService(db, clock, operator),
        planner=Planner(db, settings, clock, operator, ctx.holder),
        dispatcher=Dispatcher(db, settings, clock, pipeline, operator, ctx.holder),
        approvals=ApprovalQueue(db, clock, operator),
        explainer=Explainer(db, settings, clock, pipeline, ctx.holder),
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
        headless=headless,
    )
    engine.recovered_unknown = pipeline.recover_interrupted()
    return engine


def _start_up(
    database: Database, settings: Settings, operator: str, clock: Clock, *, sync_config: bool
) -> None:
    """The operator's row, the configured mailboxes, and the leases of local processes that
    are gone, in one transaction."""
    now = clock.now()
    with database.write() as conn:
        # PostgreSQL: processes starting at once take turns here (each checks, then inserts
        # the operator and the mailboxes). Not the operator's cap lock: running workers'
        # sends stamp mailbox rows and then take that one, so the config sync (which writes
        # a mailbox only when its settings changed) waits for them, never in a cycle.
        lock_scopes(conn, STARTUP_LOCK)
        ensure_operator(conn, operator, now)
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
