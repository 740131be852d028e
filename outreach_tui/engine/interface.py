"""The engine as its faces see it: what the console (and the CLI) may use, and nothing more.

The console is typed against `ConsoleEngine`, so reaching past it (into the dispatcher's
leases, the transport, the database) is a type error, not a habit. `Engine` (engine.py)
satisfies it structurally; the read models and services it names are the engine's public
services, each documented where it is defined.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from outreach_tui.config import Settings
    from outreach_tui.engine.clock import Clock
    from outreach_tui.engine.guard.actor import Mode, Suggestion
    from outreach_tui.engine.leads.suppression import SuppressionService
    from outreach_tui.engine.mailboxes.operator_actions import OperatorActions
    from outreach_tui.engine.runtime.in_process import InProcessRuntime, RuntimeHooks
    from outreach_tui.engine.sending.approval import ApprovalQueue
    from outreach_tui.engine.sending.campaigns import CampaignService
    from outreach_tui.engine.sending.pipeline import SendOutcome
    from outreach_tui.engine.views.explain import Explainer
    from outreach_tui.engine.views.queries import Queries
    from outreach_tui.mail.inbound import ReplyKind


class ConsoleEngine(Protocol):
    """What the console calls. Reads run in a worker thread; `reply_to` does network I/O and
    is awaited through the runtime (`InProcessRuntime.run`)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def clock(self) -> Clock: ...

    # Read models and the services behind the panes' keys.
    @property
    def queries(self) -> Queries: ...

    @property
    def explainer(self) -> Explainer: ...

    @property
    def approvals(self) -> ApprovalQueue: ...

    @property
    def campaigns(self) -> CampaignService: ...

    @property
    def actions(self) -> OperatorActions: ...

    @property
    def suppression(self) -> SuppressionService: ...

    # The reply inbox.
    async def reply_to(self, reply_id: int, body: str) -> SendOutcome: ...

    def confirm_suggestion(self, reply_id: int) -> bool: ...

    def dismiss_reply_suggestion(self, reply_id: int) -> bool: ...

    def relabel_reply(self, reply_id: int, kind: ReplyKind) -> bool: ...

    # The deliverability guard.
    def monitor_mode(self) -> Mode: ...

    def set_monitor_mode(self, mode: str, operator: str | None = None) -> Mode: ...

    def accept_suggestion(self, event_id: int, operator: str | None = None) -> bool: ...

    def open_suggestions(self, limit: int = 100) -> list[Suggestion]: ...

    def dismiss_suggestion(self, event_id: int, operator: str | None = None) -> bool: ...

    # Where the engine runs while the console is open.
    def runtime(
        self, *, scheduler: bool, hooks: RuntimeHooks | None = None
    ) -> InProcessRuntime: ...
