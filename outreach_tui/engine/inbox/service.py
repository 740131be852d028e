"""The reply inbox as the engine offers it: poll, review suggestions, relabel, answer.

    poll()                       one poller cycle, then the reconciliation of unknown sends
    confirm_suggestion(id)       SUGGEST mode: apply the suppression a reply held back
    dismiss_suggestion(id)       ...or drop it
    relabel_reply(id, kind)      the operator corrects the class; effects follow
    reply_to(id, body)           a threaded answer from the mailbox that received the reply,
                                 through the send pipeline (policy, ledger, SMTP, audit)

The operator is this engine's session identity (DESIGN.md step 1), never an argument.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy import Engine, select, update

from outreach_tui.config import Settings
from outreach_tui.core.errors import InputError
from outreach_tui.db import tables as t
from outreach_tui.db.repos.journal import write_audit
from outreach_tui.db.session import read_tx, write_tx
from outreach_tui.engine.clock import Clock
from outreach_tui.engine.inbox.effects import ReplyEffects, reply_subject
from outreach_tui.engine.inbox.poller import Analyser, ClientFactory, Poller, PollReport
from outreach_tui.engine.inbox.reconcile import Reconciler, ReconcileReport
from outreach_tui.engine.sending.pipeline import SendOutcome, SendPipeline, SendRequest
from outreach_tui.mail.imap import ImapClient
from outreach_tui.mail.inbound import ReplyKind

log = logging.getLogger(__name__)


@dataclass
class InboxCycle:
    poll: PollReport
    reconcile: ReconcileReport


class Inbox:
    def __init__(
        self,
        db: Engine,
        settings: Settings,
        clock: Clock,
        pipeline: SendPipeline,
        operator_id: str,
        *,
        analyser: Analyser | None = None,
        client_factory: ClientFactory = ImapClient,
    ) -> None:
        self.db = db
        self.clock = clock
        self.pipeline = pipeline
        self.operator_id = operator_id
        self.effects = ReplyEffects(settings, operator_id)
        self.poller = Poller(
            db, settings, clock, self.effects, analyser=analyser, client_factory=client_factory
        )
        self.reconciler = Reconciler(
            db, settings, clock, pipeline, operator_id, client_factory=client_factory
        )

    async def poll(self) -> InboxCycle:
        poll = await self.poller.poll_all()
        reconcile = await self.reconciler.run()
        return InboxCycle(poll, reconcile)

    def confirm_suggestion(self, reply_id: int) -> bool:
        with write_tx(self.db) as conn:
            return self.effects.confirm(conn, reply_id, self.operator_id, self.clock.now())

    def dismiss_suggestion(self, reply_id: int) -> bool:
        with write_tx(self.db) as conn:
            return self.effects.dismiss(conn, reply_id, self.operator_id, self.clock.now())

    def relabel_reply(self, reply_id: int, kind: ReplyKind) -> bool:
        with write_tx(self.db) as conn:
            return self.effects.relabel(conn, reply_id, kind, self.operator_id, self.clock.now())

    async def reply_to(self, reply_id: int, body: str) -> SendOutcome:
        """Answer a reply from the mailbox that received it, in its thread."""
        request = await asyncio.to_thread(self._reply_request, reply_id, body)
        outcome = await self.pipeline.send_new(request)
        if outcome.sent:
            await asyncio.to_thread(self._mark_answered, reply_id, outcome)
        return outcome

    def _reply_request(self, reply_id: int, body: str) -> SendRequest:
        r, a = t.reply, t.attempt
        with read_tx(self.db) as conn:
            row = conn.execute(
                select(
                    r.c.from_email,
                    r.c.subject,
                    r.c.message_id,
                    r.c.classification,
                    t.mailbox.c.email.label("mailbox_email"),
                    a.c.message_id.label("our_id"),
                    a.c.references.label("our_refs"),
                    a.c.subject.label("our_subject"),
                )
                .join(t.mailbox, t.mailbox.c.id == r.c.mailbox_id)
                .outerjoin(a, a.c.id == r.c.attempt_id)
                .where(r.c.id == reply_id)
            ).first()
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
        with write_tx(self.db) as conn:
            conn.execute(update(t.reply).where(t.reply.c.id == reply_id).values(handled=True))
            write_audit(
                conn,
                user_id=self.operator_id,
                policy_result="reply_sent",
                reason=f"answered reply {reply_id}",
                at=self.clock.now(),
                attempt_id=outcome.attempt_id,
            )
