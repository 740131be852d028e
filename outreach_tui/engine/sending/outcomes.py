"""Outcome recording: what a send's answer from the server does, in the write transaction
that commits before the caller hears it.

Nothing is consumed until the server's final 250: then the attempt becomes `sent`, its
idempotency key is recorded, a `new` lead becomes `contacted`, the mailbox is stamped and
the caps' counters move (last, so that on PostgreSQL the operator's cap lock is held only
for the counters and the COMMIT). A failure's effects depend on its class: an unknown
outcome is never resent; a final refusal fails the attempt, and what it does to the address,
the lead, its sequence and the mailbox's counters (a hard bounce suppresses and counts, a
policy refusal counts and never suppresses, a soft one counts a soft-bounce day) is
core/event_effects.py's decision, carried out by engine/sending/event_effects.py, for
campaign steps and one-off sends alike; the rest retry with backoff (core/retry.py) until
they expire.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from outreach_tui.core.days import local_day
from outreach_tui.core.event_effects import REFUSALS, SendRefusal, decide, refusal_class
from outreach_tui.core.retry import next_retry_at
from outreach_tui.core.states import AttemptState, ErrorClass
from outreach_tui.db.records import AttemptRecord, AttemptToSend, MailboxRecord
from outreach_tui.db.repos.attempts import record_idempotency
from outreach_tui.db.repos.attempts_sending import mark_attempt_sent, record_attempt_failure
from outreach_tui.db.repos.counters import consume_caps
from outreach_tui.db.repos.journal import write_event
from outreach_tui.db.repos.leads import mark_contacted
from outreach_tui.db.repos.mailboxes import stamp_mailbox
from outreach_tui.engine.context import EngineContext
from outreach_tui.engine.sending.cap_locks import CapLockChooser
from outreach_tui.engine.sending.event_effects import EventEffects, EventSubject
from outreach_tui.engine.sending.values import AfterSend, SendOutcome
from outreach_tui.mail.smtp import SECRET_UNREADABLE, DeliveryResult

#: What the operator reads for each failure class: a short sentence, no server detail.
SHORT_MESSAGES: dict[ErrorClass, str] = {
    ErrorClass.TRANSIENT: "temporary failure; will retry later",
    ErrorClass.HARD_BOUNCE: "recipient address rejected; suppressed",
    ErrorClass.REJECTED_MESSAGE: "the server refused the message",
    ErrorClass.SENDER_REFUSED: "the server refused the sending address",
    ErrorClass.AUTH: "mailbox authentication failed",
    ErrorClass.TLS: "secure connection to the mail server failed",
    ErrorClass.CONNECTION: "could not reach the mail server; will retry later",
    ErrorClass.UNKNOWN_OUTCOME: "outcome unknown (connection lost after sending); not resent",
    ErrorClass.INVALID_MESSAGE: "message refused before sending",
    ErrorClass.EXPIRED: "gave up after retrying for too long",
    ErrorClass.UNDELIVERED: "accepted, then returned undelivered",
}


class OutcomeRecorder:
    def __init__(
        self, ctx: EngineContext, *, cap_locks: CapLockChooser, events: EventEffects
    ) -> None:
        """`cap_locks`: whether the operator's cap lock is taken shared when the counters
        move (PostgreSQL; inert on SQLite); `events` carries out what a refusal does."""
        self.settings = ctx.settings
        self.clock = ctx.clock
        self.operator_id = ctx.operator_id
        self.retry_rules = ctx.settings.retry.rules()
        self.shared = ctx.db.shared
        self._cap_locks = cap_locks
        self._events = events

    def record(
        self,
        conn: Connection,
        attempt: AttemptToSend,
        mailbox: MailboxRecord,
        result: DeliveryResult,
        then: AfterSend | None,
    ) -> SendOutcome:
        """The outcome of `result`, its effects, then `then`'s (the caller's, in the same
        transaction), the mailbox's stamp and, after a 250, the caps' counters."""
        now = self.clock.now()
        outcome = self._record(conn, attempt, mailbox, result, now)
        next_send_at = then(conn, outcome, attempt) if then is not None else None
        sent = outcome.status == "sent"
        if sent or next_send_at is not None:
            stamp_mailbox(
                conn, mailbox.id, last_sent_at=now if sent else None, next_send_at=next_send_at
            )
        if sent:
            # Last, so that on PostgreSQL the operator's cap lock it takes is held only for
            # the counters and the COMMIT.
            self._consume_caps(conn, attempt, mailbox, now)
        return outcome

    def settle_sent(
        self, conn: Connection, attempt: AttemptRecord, mailbox: MailboxRecord, why: str
    ) -> None:
        """An `unknown` attempt turned out to have been accepted (found in the mailbox's Sent
        folder): consume exactly what a final 250 would have consumed."""
        now = self.clock.now()
        self._record_sent(conn, attempt, DeliveryResult(True, None, why), now)
        stamp_mailbox(conn, mailbox.id, last_sent_at=now, next_send_at=None)
        self._consume_caps(conn, attempt, mailbox, now)

    def _record(
        self, conn: Connection, attempt: AttemptRecord, mailbox: MailboxRecord,
        result: DeliveryResult, now: datetime,
    ) -> SendOutcome:  # fmt: skip
        """The attempt's own effects; its stamp on the mailbox and its cap counters are
        `record`'s to write, after the caller's effects."""
        if result.accepted:
            self._record_sent(conn, attempt, result, now)
            return SendOutcome("sent", "sent", attempt_id=attempt.id)
        error_class = result.error_class or ErrorClass.UNKNOWN_OUTCOME
        return self._record_failure(conn, attempt, mailbox, result, error_class, now)

    def _record_sent(
        self, conn: Connection, attempt: AttemptRecord, result: DeliveryResult, now: datetime
    ) -> None:
        """The attempt `sent`, its idempotency key, the lead contacted (not the mailbox's
        stamp nor the counters: see `record`, `settle_sent`)."""
        mark_attempt_sent(
            conn, attempt.id, at=now, smtp_code=result.code, smtp_response=result.response[:500]
        )
        record_idempotency(conn, attempt.idempotency_key, attempt.id, now)
        mark_contacted(conn, attempt.lead_id, now)

    def _consume_caps(
        self, conn: Connection, attempt: AttemptRecord, mailbox: MailboxRecord, now: datetime
    ) -> None:
        """The caps' counters after a final 250. On PostgreSQL under the operator's lock,
        taken before the counter rows' own locks (the order every transaction keeps)."""
        day = local_day(now, self.settings.tz)
        consume_caps(
            conn,
            attempt.operator_id,
            attempt.recipient_domain,
            mailbox.email,
            day,
            shared=self.shared and self._cap_locks.operator_shared(day),
        )

    def _refused(
        self, conn: Connection, attempt: AttemptRecord, mailbox: MailboxRecord,
        refusal: SendRefusal, now: datetime,
    ) -> None:  # fmt: skip
        """What a final refusal does (core/event_effects.py): the address, the lead, its
        sequence and the mailbox's counters, for campaign steps and one-off sends alike."""
        klass = refusal.bounce_class
        address = attempt.recipient_email
        context = self._events.context(
            conn, mailbox=mailbox.email, address=address, matched="attempt", has_lead=True,
            now=now, soft=klass == "soft",
        )  # fmt: skip
        subject = EventSubject(
            source=f"bounce:attempt:{attempt.id}", kind=klass or refusal.error_class.value,
            mailbox_email=mailbox.email, mailbox_id=mailbox.id, address=address,
            lead_id=attempt.lead_id, attempt_id=attempt.id,
            enrollment_id=attempt.campaign_lead_id, step=attempt.step_position,
            subject=attempt.subject,
            status_code=str(refusal.code) if refusal.code is not None else None,
            diagnostic=refusal.text[:500] or None, host=mailbox.smtp_host,
        )  # fmt: skip
        self._events.apply(
            conn, decide(refusal, context), subject, now, operator_id=self.operator_id
        )

    def _record_failure(
        self,
        conn: Connection,
        attempt: AttemptRecord,
        mailbox: MailboxRecord,
        result: DeliveryResult,
        error_class: ErrorClass,
        now: datetime,
    ) -> SendOutcome:
        code, response = result.code, (result.response or "")[:500]
        detail = result.detail[:1000]

        def set_attempt(
            state: AttemptState,
            error: ErrorClass = error_class,
            *,
            retry_count: int | None = None,
            next_attempt_at: datetime | None = None,
        ) -> None:
            record_attempt_failure(
                conn, attempt.id, state=state, smtp_code=code, smtp_response=response,
                error_class=error.value, error_detail=detail, at=now, retry_count=retry_count,
                next_attempt_at=next_attempt_at,
            )  # fmt: skip

        if error_class is ErrorClass.UNKNOWN_OUTCOME:
            set_attempt(AttemptState.UNKNOWN)
            write_event(
                conn, kind="attempt_unknown", severity="warning", subject_type="attempt",
                subject_id=attempt.id, at=now,
                message=f"send to {attempt.recipient_email} may or may not have been accepted; "
                "not resent",
            )  # fmt: skip
            return SendOutcome("unknown", SHORT_MESSAGES[error_class], error_class=error_class)
        if error_class in (*REFUSALS, ErrorClass.INVALID_MESSAGE):
            # The words decide the class (a "552 5.2.2 mailbox full" at RCPT is no hard bounce).
            klass = refusal_class(error_class, result.code, result.response or "")
            stored = (
                ErrorClass.HARD_BOUNCE
                if klass == "hard"
                else ErrorClass.REJECTED_MESSAGE
                if error_class is ErrorClass.HARD_BOUNCE
                else error_class
            )
            refusal = SendRefusal(
                error_class, result.code, result.response or "",
                failed_reason=f"send failed: {SHORT_MESSAGES[stored]}",
            )  # fmt: skip
            set_attempt(AttemptState.FAILED, stored)
            if klass != "hard" and klass != "policy":
                write_event(
                    conn, kind="message_rejected", severity="warning", subject_type="mailbox",
                    subject_id=mailbox.id, at=now,
                    message=f"message to {attempt.recipient_email} refused ({result.code})",
                    data={"attempt_id": attempt.id, "code": result.code},
                )  # fmt: skip
            self._refused(conn, attempt, mailbox, refusal, now)
            return SendOutcome("failed", SHORT_MESSAGES[stored], error_class=stored)

        # Transient, or the mailbox's fault: nothing consumed, retried with backoff.
        short = SHORT_MESSAGES[error_class]
        if result.response == SECRET_UNREADABLE:
            # Nothing was connected; the detail names the secret's key and file or variable
            # (never its value), which is what the operator has to fix.
            short = f"{SECRET_UNREADABLE}: {detail}"
        if error_class.counts_against_mailbox:
            write_event(
                conn, kind="mailbox_health", severity="critical"
                if error_class in (ErrorClass.AUTH, ErrorClass.TLS) else "warning",
                subject_type="mailbox", subject_id=mailbox.id, at=now,
                message=f"{mailbox.email}: {short}",
                data={"error_class": error_class.value, "attempt_id": attempt.id},
            )  # fmt: skip
        retries = attempt.retry_count + 1
        retry_at = next_retry_at(self.retry_rules, retries, attempt.first_tried_at or now, now)
        if retry_at is None:
            set_attempt(AttemptState.FAILED, ErrorClass.EXPIRED, retry_count=retries)
            expired = SendRefusal(
                ErrorClass.EXPIRED, result.code, response,
                failed_reason=f"send failed: {SHORT_MESSAGES[ErrorClass.EXPIRED]}",
            )  # fmt: skip
            self._refused(conn, attempt, mailbox, expired, now)
            return SendOutcome(
                "failed", SHORT_MESSAGES[ErrorClass.EXPIRED], error_class=ErrorClass.EXPIRED
            )
        set_attempt(AttemptState.APPROVED, retry_count=retries, next_attempt_at=retry_at)
        return SendOutcome(
            "retry", short, error_class=error_class,
            next_attempt_at=retry_at,
        )  # fmt: skip
