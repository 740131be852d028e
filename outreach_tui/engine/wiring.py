"""The composition root: every service of the engine is built here, and only here.

`build_engine` is what the CLI, the worker, the console, the demo and the tests call; they
swap only the transport, the clock and the database. No service builds another: each
receives its collaborators in its constructor, so what talks to what is read in one place.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from sqlalchemy import Engine as SAEngine

from outreach_tui.config import Settings
from outreach_tui.db import migrate
from outreach_tui.db.database import Database
from outreach_tui.db.repos.counters import lock_scopes
from outreach_tui.db.repos.operators import ensure_operator
from outreach_tui.db.session import make_engine
from outreach_tui.engine.automation import ActorServices, Automation
from outreach_tui.engine.clock import Clock, SystemClock
from outreach_tui.engine.context import EngineContext
from outreach_tui.engine.engine import Engine
from outreach_tui.engine.guard.actor import GuardActor
from outreach_tui.engine.guard.alerts import Alerter
from outreach_tui.engine.guard.dnscheck import DnsHealthService
from outreach_tui.engine.guard.healer import Healer
from outreach_tui.engine.guard.monitor import Monitor
from outreach_tui.engine.identity import operator_id as resolve_operator
from outreach_tui.engine.inbox.applier import BatchApplier
from outreach_tui.engine.inbox.effects import ReplyEffects
from outreach_tui.engine.inbox.kind_effects import KindEffects
from outreach_tui.engine.inbox.poller import Poller
from outreach_tui.engine.inbox.provider_reports import ProviderReports
from outreach_tui.engine.inbox.reconcile import Reconciler
from outreach_tui.engine.inbox.review import ReplyReview
from outreach_tui.engine.inbox.service import Inbox
from outreach_tui.engine.leads.domain_insight_db import DbInsightStore
from outreach_tui.engine.leads.lead_verification import LeadVerifier
from outreach_tui.engine.leads.suppression import SuppressionService
from outreach_tui.engine.leads.unsubscribe import ONE_CLICK_ACTOR, OneClickUnsubscribe
from outreach_tui.engine.mailboxes.from_config import new_mailbox_warmup_day, sync_mailboxes
from outreach_tui.engine.mailboxes.operator_actions import OperatorActions
from outreach_tui.engine.runtime.outbox import WebhookOutbox
from outreach_tui.engine.sending.approval import ApprovalQueue
from outreach_tui.engine.sending.attempt_store import AttemptStore
from outreach_tui.engine.sending.campaigns import CampaignService
from outreach_tui.engine.sending.cap_locks import cap_lock_chooser
from outreach_tui.engine.sending.dispatcher import Dispatcher
from outreach_tui.engine.sending.event_effects import EventEffects
from outreach_tui.engine.sending.leases import new_holder_id, release_dead_local
from outreach_tui.engine.sending.outcomes import OutcomeRecorder
from outreach_tui.engine.sending.pipeline import SendPipeline
from outreach_tui.engine.sending.planner import Planner
from outreach_tui.engine.sending.recovery import recover_interrupted
from outreach_tui.engine.views.explain import Explainer
from outreach_tui.engine.views.queries import Queries
from outreach_tui.mail.imap import ImapClient
from outreach_tui.mail.inbound import analyse
from outreach_tui.mail.smtp import MailSender, SmtpTransport

if TYPE_CHECKING:
    import httpx

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
    role: str | None = None,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
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
        holder=new_holder_id(role or ("worker" if headless else "console")),
    )
    transport = transport or SmtpTransport()
    cap_locks = cap_lock_chooser(ctx)
    # The one applier of what an event does: the pipeline's refusals, the inbox's reports
    # and replies, the operator's review.
    events = EventEffects(ctx)
    pipeline = SendPipeline(
        ctx,
        transport=transport,
        store=AttemptStore(ctx, cap_locks=cap_locks),
        outcomes=OutcomeRecorder(ctx, cap_locks=cap_locks, events=events),
    )
    alerts = Alerter(ctx)
    guard = GuardActor(ctx)
    dns_health = DnsHealthService(ctx, sink=alerts)

    async def check_domains(names: list[str]) -> None:
        for name in names:
            await dns_health.check(name)

    engine = Engine(
        ctx=ctx,
        transport=transport,
        pipeline=pipeline,
        suppression=SuppressionService(ctx),
        lead_verifier=LeadVerifier(ctx, insight=DbInsightStore(database)),
        campaigns=CampaignService(ctx),
        planner=Planner(ctx),
        dispatcher=Dispatcher(ctx, pipeline=pipeline),
        approvals=ApprovalQueue(ctx),
        explainer=Explainer(ctx, pipeline=pipeline),
        queries=Queries(ctx),
        actions=OperatorActions(ctx),
        monitor=Monitor(ctx, actor=guard, sink=alerts),
        healer=Healer(ctx, actor=guard, sink=alerts, request_dns=check_domains),
        guard=guard,
        alerts=alerts,
        dns_health=dns_health,
        inbox=_inbox(ctx, pipeline, events),
        automation=_automation(ctx, pipeline, database, events, webhook_transport),
        headless=headless,
    )
    engine.recovered_unknown = recover_interrupted(ctx)
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


def _inbox(ctx: EngineContext, pipeline: SendPipeline, events: EventEffects) -> Inbox:
    """The reply inbox: IMAP reads through `ImapClient`, messages classified by
    `mail.inbound.analyse`, their effects through `events`, unknown sends settled through
    the send pipeline."""
    kinds = KindEffects(ctx, events=events)
    effects = ReplyEffects(ctx, kinds=kinds)
    return Inbox(
        ctx,
        pipeline=pipeline,
        effects=effects,
        review=ReplyReview(ctx, kinds=kinds),
        poller=Poller(
            ctx,
            applier=BatchApplier(ctx, effects=effects),
            analyser=analyse,
            client_factory=ImapClient,
        ),
        reconciler=Reconciler(ctx, pipeline=pipeline, client_factory=ImapClient),
    )


def _automation(
    ctx: EngineContext,
    pipeline: SendPipeline,
    database: Database,
    events: EventEffects,
    webhook_transport: httpx.AsyncBaseTransport | None,
) -> Automation:
    """What the HTTP side calls (engine/automation.py): the services acting under a token's
    name are built here too, one set per name, on a context naming it as the operator."""

    def as_actor(name: str) -> ActorServices:
        acting = replace(ctx, operator_id=name)
        return ActorServices(
            actor=name,
            suppression=SuppressionService(acting),
            actions=OperatorActions(acting),
            campaigns=CampaignService(acting),
            approvals=ApprovalQueue(acting),
        )

    one_click = replace(ctx, operator_id=ONE_CLICK_ACTOR)
    return Automation(
        ctx,
        pipeline=pipeline,
        unsubscribe=OneClickUnsubscribe(one_click, suppression=SuppressionService(one_click)),
        outbox=WebhookOutbox(ctx, transport=webhook_transport),
        # Provider events go through the same applier as DSNs and SMTP refusals.
        provider_reports=ProviderReports(ctx, events=events),
        insight=DbInsightStore(database),
        as_actor=as_actor,
    )
