"""The send pipeline: one message from the ledger to the server and back.

    identity → resolve lead → policy (one write transaction: facts, decision, audit,
    attempt row in `sending`, COMMIT) → SMTP → finalize (one write transaction: counters,
    idempotency, lead, attempt, or the failure's effects)

Nothing is consumed (counters, idempotency key, lead status) until the server's final 250.
The first transaction is the attempt store's (engine/sending/attempt_store.py), the second
the outcome recorder's (engine/sending/outcomes.py). Both run through `Database.run_write`
(db/database.py): on SQLite a group commit, whose statements run on the event loop's
thread and whose COMMIT (the fsync) runs on a helper thread, so sends that reach either
step while a commit is under way share the next transaction and its single COMMIT; on
PostgreSQL each in a transaction of its own on one of several lanes. Each send still waits
for its own commit: the attempt row is durable before DATA, "sent" is durable before the
caller hears it, and policy facts are read in the write transaction (BEGIN IMMEDIATE) that
inserts the attempt. docs/ARCHITECTURE.md walks through the whole send path.
"""

from __future__ import annotations

import logging
from email.errors import MessageError
from functools import partial

from sqlalchemy import Connection

from outreach_tui.core.errors import HeaderInjection
from outreach_tui.core.policy import PolicyDecision
from outreach_tui.core.states import ErrorClass
from outreach_tui.db.records import AttemptRecord, MailboxRecord
from outreach_tui.engine.context import EngineContext
from outreach_tui.engine.sending.attempt_store import AttemptStore, Prepared
from outreach_tui.engine.sending.envelope import outgoing_message, smtp_endpoint
from outreach_tui.engine.sending.outcomes import OutcomeRecorder
from outreach_tui.engine.sending.values import (
    LEASE_LOST,
    NEAR_A_CAP,
    AfterSend,
    SendOutcome,
    SendRequest,
    Status,
)
from outreach_tui.mail.message import build_message
from outreach_tui.mail.smtp import DeliveryResult, MailSender, SmtpEndpoint

log = logging.getLogger(__name__)


class SendPipeline:
    def __init__(
        self,
        ctx: EngineContext,
        *,
        transport: MailSender,
        store: AttemptStore,
        outcomes: OutcomeRecorder,
    ) -> None:
        """`store` writes the attempt (policy, claim), `transport` delivers it, `outcomes`
        records what the server said."""
        self.ctx = ctx
        self.settings = ctx.settings
        self.clock = ctx.clock
        self.operator_id = ctx.operator_id
        self.transport = transport
        self.store = store
        self.outcomes = outcomes

    def check(self, sender: str, recipient: str, subject: str) -> PolicyDecision:
        """The decision a send would get now, without writing anything (`policy check`)."""
        return self.store.check(sender, recipient, subject)

    async def send_new(self, request: SendRequest) -> SendOutcome:
        """A one-off message, policy to outcome (creates the lead if it is new)."""
        prepared = await self.ctx.db.run_write(partial(self.store.prepare_new, request=request))
        if isinstance(prepared, SendOutcome):
            return prepared
        return await self._deliver(prepared)

    async def send_attempt(
        self, attempt_id: int, *, then: AfterSend | None = None, lease_holder: str | None = None
    ) -> SendOutcome:
        """An attempt already in the ledger (approved and due), policy to outcome.

        `lease_holder` (PostgreSQL): the claim renews the mailbox's dispatch lease in its own
        transaction and is skipped when the lease was lost (this process stalled past its
        expiry and another took the mailbox over), so only the holder ever sends.

        `then(conn, outcome, attempt)` runs in the transaction that records the outcome (not for
        `skipped`): the sequence moves on in the same COMMIT as the attempt becomes `sent`,
        so a crash between the two can never leave a sent step whose sequence is stuck."""
        prepared = await self.ctx.db.run_write(
            partial(self._prepare_queued, attempt_id=attempt_id, then=then, holder=lease_holder)
        )
        if isinstance(prepared, SendOutcome):
            return prepared
        return await self._deliver(prepared, then)

    def settle_sent(
        self, conn: Connection, attempt: AttemptRecord, mailbox: MailboxRecord, why: str
    ) -> None:
        """An `unknown` attempt turned out to have been accepted (found in the mailbox's Sent
        folder): consume exactly what a final 250 would have consumed."""
        self.outcomes.settle_sent(conn, attempt, mailbox, why)

    def endpoint_for(self, mailbox: MailboxRecord) -> SmtpEndpoint:
        return smtp_endpoint(self.settings, mailbox)

    def _prepare_queued(
        self, conn: Connection, attempt_id: int, then: AfterSend | None, holder: str | None
    ) -> Prepared | SendOutcome:
        prepared = self.store.prepare_queued(conn, attempt_id, holder)
        if then is not None and isinstance(prepared, SendOutcome) and prepared.status != "skipped":
            then(conn, prepared, None)  # blocked or deferred: in the same transaction
        return prepared

    async def _deliver(self, prepared: Prepared, then: AfterSend | None = None) -> SendOutcome:
        attempt, mailbox = prepared.attempt, prepared.mailbox
        endpoint = self.endpoint_for(mailbox)
        try:
            date = attempt.sending_started_at or self.clock.now()
            payload = build_message(outgoing_message(self.settings, attempt, mailbox, date))
        except (HeaderInjection, MessageError, ValueError) as exc:  # nothing sent: it fails
            log.error("attempt %s: the message could not be built: %s", attempt.id, exc)
            payload = None
            result = DeliveryResult(
                accepted=False, error_class=ErrorClass.INVALID_MESSAGE, detail=str(exc)
            )
        try:
            if payload is not None:
                result = await self.transport.deliver(
                    endpoint, mailbox.email, attempt.recipient_email, payload
                )
        except Exception as exc:  # a transport bug must not leave the row in `sending`
            log.exception("transport failed unexpectedly for attempt %s", attempt.id)
            result = DeliveryResult(
                accepted=False,
                error_class=ErrorClass.UNKNOWN_OUTCOME,
                detail=f"unexpected {type(exc).__name__}: {exc}",
            )
        if not result.accepted:
            log.warning(
                "attempt %s via %s to %s: %s (%s)", attempt.id, mailbox.email,
                attempt.recipient_email,
                (result.error_class or ErrorClass.UNKNOWN_OUTCOME).value, result.detail,
            )  # fmt: skip
        outcome = await self.ctx.db.run_write(
            partial(
                self.outcomes.record, attempt=attempt, mailbox=mailbox, result=result, then=then
            )
        )
        return SendOutcome(
            status=outcome.status,
            message=outcome.message,
            attempt_id=attempt.id,
            decision=prepared.decision,
            error_class=outcome.error_class,
            next_attempt_at=outcome.next_attempt_at,
        )


__all__ = [
    "LEASE_LOST",
    "NEAR_A_CAP",
    "AfterSend",
    "SendOutcome",
    "SendPipeline",
    "SendRequest",
    "Status",
]
