"""The attempt store: an attempt reaches `sending` only with the policy's allow, decided in
the write transaction that writes it.

A one-off send is checked and inserted straight in `sending`; an attempt already in the
ledger is read, checked and claimed (`approved` → `sending`, compare-and-set). The policy's
facts are read in that same transaction (BEGIN IMMEDIATE on SQLite; on PostgreSQL under the
caps' advisory locks, engine/sending/cap_locks.py), so no other writer comes between the
check and the row it allows. A refusal is audited and the attempt `rejected`; a temporary
block defers it to the next day. See docs/ARCHITECTURE.md for the send path as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from outreach_tui.core.addresses import normalize_address
from outreach_tui.core.days import day_start_utc, local_day, next_day_start_utc
from outreach_tui.core.errors import InputError
from outreach_tui.core.policy import PolicyDecision, evaluate, idempotency_key
from outreach_tui.core.region import domain_of
from outreach_tui.core.states import AttemptState
from outreach_tui.db.records import AttemptToSend, MailboxRecord
from outreach_tui.db.repos.attempts_sending import (
    attempt_to_send,
    claim_attempt,
    defer_attempt,
    insert_attempt,
    reject_attempt,
)
from outreach_tui.db.repos.counters import cap_scopes, lock_scopes
from outreach_tui.db.repos.journal import write_audit
from outreach_tui.db.repos.leads import get_or_create_lead, lead_status_by_email
from outreach_tui.db.repos.mailboxes import mailbox_by_email, mailbox_by_id
from outreach_tui.db.repos.policy import gather_facts
from outreach_tui.engine.context import EngineContext
from outreach_tui.engine.sending import leases
from outreach_tui.engine.sending.cap_locks import CapLockChooser
from outreach_tui.engine.sending.envelope import header_injection, outgoing_message
from outreach_tui.engine.sending.values import LEASE_LOST, NEAR_A_CAP, SendOutcome, SendRequest
from outreach_tui.mail.message import OutgoingMessage, new_message_id, unsubscribe_url


@dataclass(frozen=True, slots=True)
class Prepared:
    """An attempt in `sending`, committed, ready for the server."""

    attempt: AttemptToSend
    mailbox: MailboxRecord
    decision: PolicyDecision


class AttemptStore:
    def __init__(self, ctx: EngineContext, *, cap_locks: CapLockChooser) -> None:
        """`cap_locks`: which cap locks a claim takes shared (PostgreSQL; inert on SQLite)."""
        self.ctx = ctx
        self.settings = ctx.settings
        self.clock = ctx.clock
        self.operator_id = ctx.operator_id
        self.limits = ctx.settings.policy.limits()
        #: Several processes on one PostgreSQL: the caps and claims need database locks.
        self.shared = ctx.db.shared
        self._cap_locks = cap_locks

    def check(self, sender: str, recipient: str, subject: str) -> PolicyDecision:
        """The decision a send would get now, without writing anything (`policy check`)."""
        now = self.clock.now()
        sender, recipient = sender.strip().lower(), recipient.strip().lower()
        with self.ctx.db.read() as conn:
            mailbox = mailbox_by_email(conn, sender)
            lead_status = lead_status_by_email(conn, recipient)
            key = idempotency_key(sender, recipient, subject)
            return self._decide(conn, mailbox, sender, recipient, lead_status, subject, key, now)

    def prepare_new(self, conn: Connection, request: SendRequest) -> Prepared | SendOutcome:
        """A one-off send's attempt, inserted in `sending` if the policy allows it. Runs
        inside a write transaction that commits before the caller goes on."""
        now = self.clock.now()
        sender = request.sender_email.strip().lower()
        try:
            # Checked here too, not only by the CLI: strip() alone turned "\rBcc: x@evil"
            # into "bcc: x@evil", which the SMTP client then sent to x@evil.
            recipient = normalize_address(request.recipient_email)
        except InputError as exc:
            write_audit(
                conn, user_id=self.operator_id, policy_result="blocked", reason=str(exc),
                at=now, lead_email=request.recipient_email[:320], sender_email=sender,
                subject=request.subject,
            )  # fmt: skip
            return SendOutcome("blocked", str(exc))
        mailbox = mailbox_by_email(conn, sender)
        if mailbox is None:
            return SendOutcome("blocked", f"no mailbox is configured for {sender}")
        lead = get_or_create_lead(conn, recipient, source="send", at=now)
        if self.shared:
            lock_scopes(conn, *cap_scopes(self.operator_id, domain_of(recipient), mailbox.email))
        key = idempotency_key(sender, recipient, request.subject)
        decision = self._decide(
            conn, mailbox, mailbox.email, lead.email, lead.status, request.subject, key, now
        )
        message_id = new_message_id(sender)
        injection = header_injection(
            OutgoingMessage(
                sender_email=sender,
                sender_name=mailbox.from_name or "",
                recipient_email=recipient,
                subject=request.subject,
                body=request.body,
                message_id=message_id,
                date=now,
                in_reply_to=request.in_reply_to,
                references=request.references,
                # Checked now too: found only while building the message, after the attempt
                # was written, the error escaped and left the attempt in `sending`.
                unsubscribe_mailto=self.settings.sending.unsubscribe_mailto or sender,
                unsubscribe_url=unsubscribe_url(
                    self.settings.sending.unsubscribe_url,
                    recipient=recipient,
                    message_id=message_id,
                ),
            )
        )
        if injection is not None or not decision.allowed:
            reason = injection or decision.reason
            write_audit(
                conn, user_id=self.operator_id, policy_result="blocked", reason=reason, at=now,
                lead_email=recipient, sender_email=sender, subject=request.subject,
                legal_basis=decision.legal_basis,
            )  # fmt: skip
            return SendOutcome("blocked", reason, decision=decision)
        values: dict[str, Any] = {
            "lead_id": lead.id,
            "campaign_id": None,
            "mailbox_id": mailbox.id,
            "operator_id": self.operator_id,
            "sender_email": sender,
            "recipient_email": recipient,
            "recipient_domain": domain_of(recipient),
            "subject": request.subject,
            "body": request.body,
            "idempotency_key": key,
            "state": AttemptState.SENDING.value,
            "message_id": message_id,
            "in_reply_to": request.in_reply_to,
            "references": request.references,
            "legal_basis": decision.legal_basis,
            "region": decision.region,
            "policy_result": "allowed",
            "retry_count": 0,
            "first_tried_at": now,
            "sending_started_at": now,
            "approved_by": self.operator_id,
            "approved_at": now,
            "created_at": now,
            "updated_at": now,
        }
        attempt_id = insert_attempt(conn, values)
        write_audit(
            conn, user_id=self.operator_id, policy_result="allowed", reason="allowed", at=now,
            lead_email=recipient, sender_email=sender, subject=request.subject,
            legal_basis=decision.legal_basis, attempt_id=attempt_id,
        )  # fmt: skip
        # The row as written, without reading it back (one statement less per send).
        attempt = AttemptToSend(
            id=attempt_id,
            **values,
            campaign_lead_id=None,
            step_position=None,
            smtp_code=None,
            smtp_response=None,
            error_class=None,
            error_detail=None,
            next_attempt_at=None,
            sent_at=None,
            edited_by=None,
            edited_at=None,
            postal_address=request.postal_address,
            lead_email=lead.email,
            lead_status=lead.status,
            lead_first_name=lead.first_name,
            lead_last_name=lead.last_name,
        )
        return Prepared(attempt, mailbox, decision)

    def prepare_queued(
        self, conn: Connection, attempt_id: int, lease_holder: str | None = None
    ) -> Prepared | SendOutcome:
        """An approved attempt claimed for sending if it is due and the policy allows it.
        Runs inside a write transaction that commits before the caller goes on."""
        now = self.clock.now()
        attempt = attempt_to_send(conn, attempt_id)
        if attempt is None or attempt.state != AttemptState.APPROVED.value:
            return SendOutcome("skipped", "not waiting to be sent", attempt_id=attempt_id)
        if attempt.next_attempt_at is not None and attempt.next_attempt_at > now:
            return SendOutcome("skipped", "not due yet", attempt_id=attempt_id)
        mailbox = None if attempt.mailbox_id is None else mailbox_by_id(conn, attempt.mailbox_id)
        if mailbox is None:
            return self._reject(conn, attempt, "its mailbox no longer exists", now)
        if self.shared:
            if lease_holder is not None and not leases.renew(
                conn,
                leases.mailbox_lease(mailbox.id),
                lease_holder,
                now,
                self.settings.scheduler.lease_seconds,
            ):
                return SendOutcome("skipped", LEASE_LOST, attempt_id=attempt_id)
            # Late, after the reads that need no lock: held from here to the COMMIT; shared
            # far from the caps, exclusive near them (every worker's sends take turns).
            day = local_day(now, self.settings.tz)
            lock_modes = self._cap_locks.modes(day, attempt.recipient_domain)
            lock_scopes(
                conn,
                *cap_scopes(self.operator_id, attempt.recipient_domain, mailbox.email),
                shared=lock_modes.as_tuple(),
            )
        decision = self._decide(
            conn,
            mailbox,
            mailbox.email,
            attempt.lead_email,
            attempt.lead_status,
            attempt.subject,
            attempt.idempotency_key,
            now,
            campaign_id=attempt.campaign_id,
            exclude_attempt=attempt.id,
        )
        if self.shared and not self._cap_locks.confirm(
            day, attempt.recipient_domain, lock_modes, decision
        ):
            return SendOutcome("skipped", NEAR_A_CAP, attempt_id=attempt_id)
        injection = header_injection(outgoing_message(self.settings, attempt, mailbox, now))
        if injection is not None:
            return self._reject(conn, attempt, injection, now, decision)
        if not decision.allowed:
            if decision.temporary:
                return self._defer(conn, attempt, decision, now)
            return self._reject(conn, attempt, decision.reason, now, decision)
        claimed = claim_attempt(
            conn, attempt, at=now, legal_basis=decision.legal_basis, region=decision.region
        )
        if claimed is None:
            return SendOutcome("skipped", "taken by another sender", attempt_id=attempt_id)
        self._audit(conn, attempt, "allowed", "allowed", now, decision)
        return Prepared(claimed, mailbox, decision)

    def _decide(
        self,
        conn: Connection,
        mailbox: MailboxRecord | None,
        sender: str,
        recipient: str,
        lead_status: str | None,
        subject: str,
        key: str,
        now: datetime,
        *,
        campaign_id: int | None = None,
        exclude_attempt: int | None = None,
    ) -> PolicyDecision:
        day = local_day(now, self.settings.tz)
        facts = gather_facts(
            conn,
            operator_id=self.operator_id,
            sender=sender,
            recipient=recipient,
            subject=subject,
            idem_key=key,
            day=day,
            day_start=day_start_utc(day, self.settings.tz),
            now=now,
            limits=self.limits,
            mailbox=mailbox,
            mailbox_daily_limit=None if mailbox is None else mailbox.daily_limit,
            campaign_id=campaign_id,
            lead_status=lead_status,
            exclude_attempt=exclude_attempt,
        )
        return evaluate(facts, self.limits)

    def _audit(
        self,
        conn: Connection,
        attempt: AttemptToSend,
        result: str,
        reason: str,
        now: datetime,
        decision: PolicyDecision | None,
    ) -> None:
        write_audit(
            conn,
            user_id=self.operator_id,
            policy_result=result,
            reason=reason,
            at=now,
            lead_email=attempt.recipient_email,
            sender_email=attempt.sender_email,
            subject=attempt.subject,
            legal_basis=decision.legal_basis if decision else None,
            attempt_id=attempt.id,
        )

    def _reject(
        self,
        conn: Connection,
        attempt: AttemptToSend,
        reason: str,
        now: datetime,
        decision: PolicyDecision | None = None,
    ) -> SendOutcome:
        reject_attempt(conn, attempt.id, reason, now)
        self._audit(conn, attempt, "blocked", reason, now, decision)
        return SendOutcome("blocked", reason, attempt_id=attempt.id, decision=decision)

    def _defer(
        self, conn: Connection, attempt: AttemptToSend, decision: PolicyDecision, now: datetime
    ) -> SendOutcome:
        """A temporary block (cap reached, paused): try again when it can clear."""
        later = next_day_start_utc(now, self.settings.tz)
        defer_attempt(conn, attempt.id, later, now)
        self._audit(conn, attempt, "blocked", decision.reason, now, decision)
        return SendOutcome(
            "deferred",
            decision.reason,
            attempt_id=attempt.id,
            decision=decision,
            next_attempt_at=later,
        )
