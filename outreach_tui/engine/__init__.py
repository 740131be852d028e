"""The engine: one object that both the console and the headless worker hold.

This package's names are the engine's public interface: the faces (console, CLI, demo)
import from here and nowhere deeper (an import contract in pyproject.toml holds them to it).
`Engine` (engine.py) is the facade and `build_engine` (wiring.py) builds it; `ConsoleEngine`
(interface.py) is what the console is typed against; the rest are the values the faces pass
in and get back. The wings below are described in docs/ARCHITECTURE.md.

Names are loaded lazily (PEP 562): `outreach-tui validate` imports the verifier without the
database and mail stacks of the whole engine.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from outreach_tui.engine.automation import ActorServices, Automation, HealthReport
    from outreach_tui.engine.clock import Clock, SimulatedClock, SystemClock
    from outreach_tui.engine.engine import Engine
    from outreach_tui.engine.guard.actor import Mode, Suggestion
    from outreach_tui.engine.guard.alert_channels import DeliveryResult
    from outreach_tui.engine.guard.dnscheck import DomainCheckReport
    from outreach_tui.engine.inbox.effects import reply_subject
    from outreach_tui.engine.inbox.provider_reports import ProviderOutcome
    from outreach_tui.engine.interface import ConsoleEngine
    from outreach_tui.engine.leads.domain_insight import MemoryInsightStore
    from outreach_tui.engine.leads.ingest import LeadImportReport
    from outreach_tui.engine.leads.verifier import Verifier, build_verifier, collect
    from outreach_tui.engine.mailboxes.import_csv import MailboxImportReport
    from outreach_tui.engine.runtime.in_process import InProcessRuntime, RuntimeHooks
    from outreach_tui.engine.runtime.outbox import signature as webhook_signature
    from outreach_tui.engine.runtime.worker import Mode as WorkerMode
    from outreach_tui.engine.runtime.worker import run_worker
    from outreach_tui.engine.sending.approval import QueueItem
    from outreach_tui.engine.sending.campaigns import (
        CampaignSpec,
        CampaignSummary,
        load_campaign_file,
    )
    from outreach_tui.engine.sending.pipeline import SendOutcome, SendRequest
    from outreach_tui.engine.views.explain import ForecastRow, WhyLine
    from outreach_tui.engine.views.exports import EXPORT_NAMES
    from outreach_tui.engine.views.queries import (
        AuditRow,
        Dashboard,
        DomainRow,
        EventRow,
        LeadRow,
        MailboxRow,
        Page,
        ReplyRow,
        SuppressionRow,
        WorkerRow,
    )
    from outreach_tui.engine.wiring import build_engine

#: Public name → (module, name in that module).
_PUBLIC: dict[str, tuple[str, str]] = {
    "Engine": ("engine", "Engine"),
    "build_engine": ("wiring", "build_engine"),
    "ConsoleEngine": ("interface", "ConsoleEngine"),
    "InProcessRuntime": ("runtime.in_process", "InProcessRuntime"),
    "RuntimeHooks": ("runtime.in_process", "RuntimeHooks"),
    "Clock": ("clock", "Clock"),
    "SystemClock": ("clock", "SystemClock"),
    "SimulatedClock": ("clock", "SimulatedClock"),
    # Sending
    "SendRequest": ("sending.pipeline", "SendRequest"),
    "SendOutcome": ("sending.pipeline", "SendOutcome"),
    "CampaignSpec": ("sending.campaigns", "CampaignSpec"),
    "CampaignSummary": ("sending.campaigns", "CampaignSummary"),
    "load_campaign_file": ("sending.campaigns", "load_campaign_file"),
    "QueueItem": ("sending.approval", "QueueItem"),
    # Leads and mailboxes
    "LeadImportReport": ("leads.ingest", "LeadImportReport"),
    "MailboxImportReport": ("mailboxes.import_csv", "MailboxImportReport"),
    "Verifier": ("leads.verifier", "Verifier"),
    "build_verifier": ("leads.verifier", "build_verifier"),
    "MemoryInsightStore": ("leads.domain_insight", "MemoryInsightStore"),
    # The inbox and the guard
    "reply_subject": ("inbox.effects", "reply_subject"),
    "Mode": ("guard.actor", "Mode"),
    "Suggestion": ("guard.actor", "Suggestion"),
    "DomainCheckReport": ("guard.dnscheck", "DomainCheckReport"),
    # Read models
    "Dashboard": ("views.queries", "Dashboard"),
    "EventRow": ("views.queries", "EventRow"),
    "WorkerRow": ("views.queries", "WorkerRow"),
    "MailboxRow": ("views.queries", "MailboxRow"),
    "DomainRow": ("views.queries", "DomainRow"),
    "LeadRow": ("views.queries", "LeadRow"),
    "ReplyRow": ("views.queries", "ReplyRow"),
    "SuppressionRow": ("views.queries", "SuppressionRow"),
    "AuditRow": ("views.queries", "AuditRow"),
    "Page": ("views.queries", "Page"),
    "ForecastRow": ("views.explain", "ForecastRow"),
    "EXPORT_NAMES": ("views.exports", "EXPORT_NAMES"),
    # The HTTP side (outreach_tui/api/)
    "Automation": ("automation", "Automation"),
    "ActorServices": ("automation", "ActorServices"),
    "HealthReport": ("automation", "HealthReport"),
    "DeliveryResult": ("guard.alert_channels", "DeliveryResult"),
    "ProviderOutcome": ("inbox.provider_reports", "ProviderOutcome"),
    "WhyLine": ("views.explain", "WhyLine"),
    "collect": ("leads.verifier", "collect"),
    "webhook_signature": ("runtime.outbox", "signature"),
    # Running it
    "run_worker": ("runtime.worker", "run_worker"),
    "WorkerMode": ("runtime.worker", "Mode"),
}

__all__ = [
    "EXPORT_NAMES",
    "ActorServices",
    "AuditRow",
    "Automation",
    "CampaignSpec",
    "CampaignSummary",
    "Clock",
    "ConsoleEngine",
    "Dashboard",
    "DeliveryResult",
    "DomainCheckReport",
    "DomainRow",
    "Engine",
    "EventRow",
    "ForecastRow",
    "HealthReport",
    "InProcessRuntime",
    "LeadImportReport",
    "LeadRow",
    "MailboxImportReport",
    "MailboxRow",
    "MemoryInsightStore",
    "Mode",
    "Page",
    "ProviderOutcome",
    "QueueItem",
    "ReplyRow",
    "RuntimeHooks",
    "SendOutcome",
    "SendRequest",
    "SimulatedClock",
    "Suggestion",
    "SuppressionRow",
    "SystemClock",
    "Verifier",
    "WhyLine",
    "WorkerMode",
    "WorkerRow",
    "build_engine",
    "build_verifier",
    "collect",
    "load_campaign_file",
    "reply_subject",
    "run_worker",
    "webhook_signature",
]


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _PUBLIC[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(import_module(f"{__name__}.{module}"), attribute)
    globals()[name] = value  # the next lookup is a plain one
    return value
