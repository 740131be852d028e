"""`Engine`: the one object the console and the headless worker hold.

It is built by `engine/wiring.py` (`build_engine`), the composition root, which the CLI,
the worker, the console and the tests all use, swapping only the transport and the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine as SAEngine

from outreach_tui.config import Settings
from outreach_tui.core.policy import PolicyDecision
from outreach_tui.core.states import LeadStatus
from outreach_tui.db.records import LeadRecord
from outreach_tui.db.repos.leads import lead_id_by_email
from outreach_tui.db.repos.views_mailboxes import MailboxListing
from outreach_tui.engine.automation import Automation
from outreach_tui.engine.clock import Clock
from outreach_tui.engine.context import EngineContext
from outreach_tui.engine.guard.actor import GuardActor, Mode, Suggestion
from outreach_tui.engine.guard.alerts import Alerter
from outreach_tui.engine.guard.dnscheck import DnsHealthService
from outreach_tui.engine.guard.healer import Healer
from outreach_tui.engine.guard.monitor import Monitor
from outreach_tui.engine.inbox.service import Inbox, InboxCycle
from outreach_tui.engine.leads.ingest import LeadImportReport, import_leads_csv, page_leads
from outreach_tui.engine.leads.lead_verification import LeadVerifier
from outreach_tui.engine.leads.suppression import SuppressionService
from outreach_tui.engine.mailboxes.import_csv import (
    MailboxImportReport,
    import_mailboxes_csv,
    mailbox_rows,
)
from outreach_tui.engine.mailboxes.operator_actions import OperatorActions
from outreach_tui.engine.sending.approval import ApprovalQueue
from outreach_tui.engine.sending.campaigns import CampaignService
from outreach_tui.engine.sending.dispatcher import Dispatcher, DispatchReport
from outreach_tui.engine.sending.pipeline import SendOutcome, SendPipeline, SendRequest
from outreach_tui.engine.sending.planner import Planner, PlanReport
from outreach_tui.engine.sending.sequences import stop_lead
from outreach_tui.engine.views.explain import Explainer
from outreach_tui.engine.views.exports import export_csv
from outreach_tui.engine.views.queries import Queries
from outreach_tui.mail.inbound import ReplyKind
from outreach_tui.mail.smtp import MailSender

if TYPE_CHECKING:
    from outreach_tui.engine.runtime.in_process import InProcessRuntime, RuntimeHooks


@dataclass
class Engine:
    ctx: EngineContext
    """The database, settings, clock and identities every service shares."""
    transport: MailSender
    pipeline: SendPipeline
    suppression: SuppressionService
    lead_verifier: LeadVerifier
    """Verifies the leads of active campaigns (the verify-leads job, `leads verify`)."""
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
    automation: Automation
    """What the HTTP side asks (engine/automation.py): health, leads over HTTP, actions
    under a token's name, one-click unsubscribe, provider events, the webhook outbox."""
    headless: bool = False
    recovered_unknown: list[int] = field(default_factory=list)

    @property
    def settings(self) -> Settings:
        return self.ctx.settings

    @property
    def db(self) -> SAEngine:
        """The SQLAlchemy engine (`ctx.db` is the engine's door to it)."""
        return self.ctx.db.engine

    @property
    def clock(self) -> Clock:
        return self.ctx.clock

    @property
    def operator_id(self) -> str:
        return self.ctx.operator_id

    @property
    def holder(self) -> str:
        """This process's identity in leases (host, pid, a random part)."""
        return self.ctx.holder

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
        with self.ctx.db.read() as conn:
            lead_id = lead_id_by_email(conn, address)
        if lead_id is None:
            return 0
        with self.ctx.db.write() as conn:
            return stop_lead(
                conn,
                lead_id=lead_id,
                reason=reason,
                operator_id=self.operator_id,
                now=now,
                lead_status=status,
                company_wide=company_wide,
            )

    # Files, lists and exports (the CLI's).

    def import_leads(self, path: Path, *, campaign: str | None = None) -> LeadImportReport:
        """Import a CSV of leads (streamed, bad rows reported by line), optionally enrolling
        them in `campaign`: the one ingestion function every lead source goes through."""
        return import_leads_csv(
            self.ctx.db, path, clock=self.clock, operator_id=self.operator_id, campaign=campaign
        )

    def leads_page(
        self, *, status: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[LeadRecord]:
        """Leads in id order, a page at a time."""
        return page_leads(self.ctx.db, status=status, limit=limit, offset=offset)

    def import_mailboxes(self, path: Path) -> MailboxImportReport:
        """Add or update mailboxes from a CSV with the columns of `[[mailboxes]]`."""
        return import_mailboxes_csv(
            self.ctx.db,
            path,
            clock=self.clock,
            warmup_new=self.settings.warmup.new_mailboxes,
            tz=self.settings.tz,
        )

    def mailbox_list(self) -> list[MailboxListing]:
        """Every mailbox with its connection and health facts (never a password reference)."""
        return mailbox_rows(self.ctx.db)

    def export(self, what: str, output: Path) -> int:
        """Write one CSV export (`views.exports.EXPORTS`) atomically; the rows written."""
        return export_csv(self.ctx.db, what, output)

    async def close_connections(self) -> None:
        """Close the SMTP connections this event loop opened (a one-off command's last
        step: no loop outlives it to own them)."""
        await self.transport.close()

    # Deliverability guard: the console's mode switch and suggestion list call these.

    def monitor_mode(self) -> Mode:
        """observe | suggest | enforce: the run-time switch, else `[monitor] mode`."""
        return self.guard.mode()

    def set_monitor_mode(self, mode: str, operator: str | None = None) -> Mode:
        """Switch the guard's mode for every process on this database (read each pass): the
        switch is stored in the database, never written into `Settings`."""
        return self.guard.set_mode(mode, operator or self.operator_id)

    def accept_suggestion(self, event_id: int, operator: str | None = None) -> bool:
        """Apply a "suggestion" event's action (compare-and-set); False when it went stale."""
        return self.guard.accept_suggestion(event_id, operator or self.operator_id)

    def open_suggestions(self, limit: int = 100) -> list[Suggestion]:
        """The guard's suggestions waiting for the operator, newest first."""
        return self.guard.open_suggestions(limit)

    def dismiss_suggestion(self, event_id: int, operator: str | None = None) -> bool:
        """Close a "suggestion" event without acting (audited)."""
        return self.guard.dismiss_suggestion(event_id, operator or self.operator_id)

    # Where the engine runs while a console is open.

    def runtime(self, *, scheduler: bool, hooks: RuntimeHooks | None = None) -> InProcessRuntime:
        """The engine's jobs on a thread of their own (`scheduler`), or none (watch-only),
        with `hooks` (the demo's sandbox) riding along; the console starts and stops it."""
        # Imported here: the runtime drives the engine, it is not part of it.
        from outreach_tui.engine.runtime.in_process import InProcessRuntime

        return InProcessRuntime(self, scheduler=scheduler, hooks=hooks)

    async def aclose(self) -> None:
        await self.alerts.drain()
        self.dispatcher.release_leases()
        await self.transport.close()
        # The write lanes (group commit, PostgreSQL lanes) are the database's to close.
        self.ctx.db.dispose()

    def close_sync(self) -> None:
        self.alerts.join_threads()
        self.dispatcher.release_leases()
        self.ctx.db.dispose()
