"""The reply inbox as the engine offers it: poll, review suggestions, relabel, answer.

    poll()                       one poller cycle, then the reconciliation of unknown sends
    confirm_suggestion(id)       SUGGEST mode: apply the suppression a reply held back
    dismiss_suggestion(id)       ...or drop it
    relabel_reply(id, kind)      the operator corrects the class; effects follow
    reply_to(id, body)           a threaded answer from the mailbox that received the reply,
                                 through the send pipeline (policy, ledger, SMTP, audit)

The operator is this engine's session identity (`EngineContext.operator_id`), never an
argument. Its collaborators are built by engine/wiring.py.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from outreach_tui.core.errors import InputError
from outreach_tui.db.repos.journal import write_audit
from outreach_tui.db.repos.replies import mark_reply_handled, reply_to_answer
from outreach_tui.engine.context import EngineContext
from outreach_tui.engine.inbox.effects import ReplyEffects, reply_subject
from outreach_tui.engine.inbox.poller import Poller, PollReport
from outreach_tui.engine.inbox.reconcile import Reconciler, ReconcileReport
from outreach_tui.engine.inbox.review import ReplyReview
from outreach_tui.engine.sending.pipeline import SendPipeline
from outreach_tui.engine.sending.values import SendOutcome, SendRequest
from outreach_tui.mail.inbound import ReplyKind

log = logging.getLogger(__name__)


@dataclass
class InboxCycle:
    poll: PollReport
    reconcile: ReconcileReport


class Inbox:
    def __init__(
        self,
        ctx: EngineContext,
        *,
        pipeline: SendPipeline,
        effects: ReplyEffects,
        review: ReplyReview,
        poller: Poller,
        reconciler: Reconciler,
    ) -> None:
        self.db = ctx.db
        self.clock = ctx.clock
        self.operator_id = ctx.operator_id
        self.pipeline = pipeline
        self.effects = effects  # the sandbox applies its messages through it
        self.review = review
        self.poller = poller
        self.reconciler = reconciler

    async def poll(self) -> InboxCycle:
        poll = await self.poller.poll_all()
        reconcile = await self.reconciler.run()
        return InboxCycle(poll, reconcile)

    def confirm_suggestion(self, reply_id: int) -> bool:
        with self.db.write() as conn:
            return self.review.confirm(conn, reply_id, self.operator_id, self.clock.now())

    def dismiss_suggestion(self, reply_id: int) -> bool:
        with self.db.write() as conn:
            return self.review.dismiss(conn, reply_id, self.operator_id, self.clock.now())

    def relabel_reply(self, reply_id: int, kind: ReplyKind) -> bool:
        with self.db.write() as conn:
            return self.review.relabel(conn, reply_id, kind, self.operator_id, self.clock.now())

    async def reply_to(self, reply_id: int, body: str) -> SendOutcome:
        """Answer a reply from the mailbox that received it, in its thread."""
        request = await asyncio.to_thread(self._reply_request, reply_id, body)
        outcome = await self.pipeline.send_new(request)
        if outcome.sent:
            await asyncio.to_thread(self._mark_answered, reply_id, outcome)
        return outcome

    def _reply_request(self, reply_id: int, body: str) -> SendRequest:
        with self.db.read() as conn:
            row = reply_to_answer(conn, reply_id)
        if row is None:
            raise InputError(f"reply {reply_id} does not exist")
        if not row.from_email:
            raise InputError(f"reply {reply_id} has no sender address to answer")
        if row.classification in ("bounce_hard", "bounce_soft", "complaint", "auto_reply"):
            raise InputError(f"reply {reply_id} is a {row.classification}: nobody to answer")
        if not body.strip():
            raise InputError("the answer is empty")
        # References: our thread so far, then the message answered (RFC 5322 3.6.4).
        refs = [*(row.our_refs or "").split(), row.our_id, row.message_id]
        references = " ".join(dict.fromkeys(x for x in refs if x)) or None
        return SendRequest(
            sender_email=row.mailbox_email,
            recipient_email=row.from_email,
            subject=reply_subject(row.subject or row.our_subject),
            body=body,
            in_reply_to=row.message_id,
            references=references,
        )

    def _mark_answered(self, reply_id: int, outcome: SendOutcome) -> None:
        with self.db.write() as conn:
            mark_reply_handled(conn, reply_id)
            write_audit(
                conn,
                user_id=self.operator_id,
                policy_result="reply_sent",
                reason=f"answered reply {reply_id}",
                at=self.clock.now(),
                attempt_id=outcome.attempt_id,
            )
