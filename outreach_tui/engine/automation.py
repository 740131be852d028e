"""`Automation`: what the HTTP side (outreach_tui/api/) asks of the engine, in one place.

The API is a face like the console: it calls this, the engine's other public services
(`Engine.queries`, `.explainer`, `.campaigns`, ...) and nothing deeper. What it needs beyond
the console: a health report, lead rows pushed over HTTP into the one ingestion function,
the services acting under a token's name (the audit log names the token), a verifier per
request, a Telegram message through the alert channel's retry rules, one-click unsubscribe,
and provider events applied through the same effects as a DSN. Built in engine/wiring.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from outreach_tui import __version__
from outreach_tui.core.policy import PolicyDecision
from outreach_tui.core.provider_events import ProviderEvent
from outreach_tui.core.unsubscribe_token import UnsubscribeClaim
from outreach_tui.db.repos.health import Heartbeat, heartbeats, ping
from outreach_tui.db.repos.outbox import OutboxState
from outreach_tui.engine.context import EngineContext
from outreach_tui.engine.guard.alert_channels import DeliveryResult, TelegramChannel, deliver
from outreach_tui.engine.inbox.provider_reports import ProviderOutcome, ProviderReports
from outreach_tui.engine.leads.domain_insight import InsightStore
from outreach_tui.engine.leads.ingest import LeadImportReport, ingest_leads
from outreach_tui.engine.leads.suppression import SuppressionService
from outreach_tui.engine.leads.unsubscribe import OneClickUnsubscribe
from outreach_tui.engine.leads.verifier import Verifier, build_verifier
from outreach_tui.engine.mailboxes.operator_actions import OperatorActions
from outreach_tui.engine.runtime.outbox import LEASE as OUTBOX_LEASE
from outreach_tui.engine.runtime.outbox import WebhookOutbox
from outreach_tui.engine.sending import leases
from outreach_tui.engine.sending.approval import ApprovalQueue
from outreach_tui.engine.sending.campaigns import CampaignService
from outreach_tui.engine.sending.pipeline import SendPipeline


@dataclass(frozen=True, slots=True)
class ActorServices:
    """The services whose every action is audited under one actor's name (an API token's)."""

    actor: str
    suppression: SuppressionService
    actions: OperatorActions
    campaigns: CampaignService
    approvals: ApprovalQueue


@dataclass(frozen=True, slots=True)
class HealthReport:
    database_ok: bool
    backend: str
    """sqlite or postgresql."""
    now: datetime
    heartbeats: list[Heartbeat]
    one_click: bool
    one_click_detail: str
    outbox: OutboxState | None
    version: str = __version__


class Automation:
    def __init__(
        self,
        ctx: EngineContext,
        *,
        pipeline: SendPipeline,
        unsubscribe: OneClickUnsubscribe,
        outbox: WebhookOutbox,
        provider_reports: ProviderReports,
        insight: InsightStore,
        as_actor: Callable[[str], ActorServices],
    ) -> None:
        self.ctx = ctx
        self.pipeline = pipeline
        self.unsubscribe = unsubscribe
        self.outbox = outbox
        self.provider_reports = provider_reports
        self.insight = insight
        self._as_actor = as_actor
        self._actors: dict[str, ActorServices] = {}

    # -- health -----------------------------------------------------------------------------

    def health(self) -> HealthReport:
        """Whether the database answers, the processes' heartbeats, one-click unsubscribe's
        state and the outbox's backlog. Never raises for a database that is down."""
        now = self.ctx.clock.now()
        on, detail = self.unsubscribe.status()
        backend = "postgresql" if self.ctx.db.shared else "sqlite"
        try:
            with self.ctx.db.read() as conn:
                ok = ping(conn)
                beats = heartbeats(conn)
            outbox = self.outbox.state() if self.outbox.enabled else None
        except Exception:  # the report says "down"; the log has the rest
            return HealthReport(False, backend, now, [], on, detail, None)
        return HealthReport(ok, backend, now, beats, on, detail, outbox)

    # -- the policy check and verification --------------------------------------------------

    def check_policy(self, sender: str, recipient: str, subject: str) -> PolicyDecision:
        """The send policy's decision now (nothing is sent or recorded)."""
        return self.pipeline.check(sender, recipient, subject)

    def verifier(self, *, smtp: bool = True, rate_limit: float | None = None) -> Verifier:
        """A verifier for one request or job (`rate_limit`: seconds between sessions to one
        host, overriding `[verify] rate_limit_seconds`); domain facts in the database."""
        verify = self.ctx.settings.verify
        if rate_limit is not None:
            verify = verify.model_copy(update={"rate_limit_seconds": rate_limit})
        return build_verifier(verify, self.ctx.settings.dns, self.insight, smtp=smtp)

    # -- leads ------------------------------------------------------------------------------

    def ingest_leads(
        self,
        rows: Sequence[Mapping[str, str]],
        *,
        campaign: str | None,
        source: str,
        actor: str,
    ) -> LeadImportReport:
        """Leads pushed over HTTP, through the one ingestion function `leads import` uses:
        the same validation, the same per-row errors ("row N: reason", N from 1)."""
        return ingest_leads(
            self.ctx.db,
            ((f"row {n}", row) for n, row in enumerate(rows, start=1)),
            clock=self.ctx.clock,
            operator_id=actor,
            campaign=campaign,
            source=source,
        )

    # -- acting under a token's name --------------------------------------------------------

    def as_actor(self, name: str) -> ActorServices:
        """The services acting as `name` (built once per name, in engine/wiring.py)."""
        found = self._actors.get(name)
        if found is None:
            found = self._actors[name] = self._as_actor(name)
        return found

    # -- Telegram ---------------------------------------------------------------------------

    def telegram_configured(self) -> bool:
        alerts = self.ctx.settings.alerts
        return bool(alerts.telegram_bot_token and alerts.telegram_chat_id)

    async def send_telegram(self, text: str) -> DeliveryResult:
        """One message to the alert channel's Telegram chat, with its retry rules
        (engine/guard/alert_channels.py); never raises."""
        alerts = self.ctx.settings.alerts
        return await deliver(TelegramChannel(alerts), text, alerts)

    # -- one-click unsubscribe --------------------------------------------------------------

    def one_click_status(self) -> tuple[bool, str]:
        return self.unsubscribe.status()

    def unsubscribe_claim(self, token: str) -> UnsubscribeClaim | None:
        return self.unsubscribe.claim(token)

    def honour_unsubscribe(self, claim: UnsubscribeClaim) -> bool:
        return self.unsubscribe.honour(claim)

    # -- provider events --------------------------------------------------------------------

    def apply_provider_events(self, events: Sequence[ProviderEvent]) -> ProviderOutcome:
        """Verified provider events through the same effects as a DSN (one transaction)."""
        return self.provider_reports.apply(events)

    # -- this process ------------------------------------------------------------------------

    def heartbeat(self) -> None:
        """This process is alive (`worker_process`, what /health reports the age of)."""
        with self.ctx.db.write() as conn:
            leases.heartbeat(conn, self.ctx.holder, self.ctx.clock.now())

    def leave(self) -> None:
        """This process is going: off the list of processes, its outbox lease given up."""
        with self.ctx.db.write() as conn:
            leases.release(conn, OUTBOX_LEASE, self.ctx.holder)
            leases.unregister(conn, self.ctx.holder)

    # -- the outbox -------------------------------------------------------------------------

    async def run_outbox(self) -> tuple[int, int]:
        """One outbox pass (queue new events, deliver what is due)."""
        return await self.outbox.run()
