"""The send pipeline, in the order DESIGN.md fixes (steps 1-7).

    identity → resolve lead → policy (one write transaction: facts, decision, audit,
    attempt row in `sending`, COMMIT) → SMTP → finalize (one write transaction: counters,
    idempotency, lead, attempt, or the failure's effects)

Nothing is consumed (counters, idempotency key, lead status) until the server's final 250.
Both transactions go through a `GroupCommit` (db/session.py): their statements run on the
event loop's thread, the COMMIT (the fsync) on a helper thread, and sends that reach either
step while a commit is under way share the next transaction and its single COMMIT. Each
send still waits for its own commit: the attempt row is durable before DATA, "sent" is
durable before the caller hears it, and policy facts are read in the write transaction
(BEGIN IMMEDIATE) that inserts the attempt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from email.errors import MessageError
from functools import partial
from types import SimpleNamespace
from typing import Any, Literal, TypeVar

from sqlalchemy import Connection, Engine, Row, bindparam, func, insert, select, update

from outreach_tui.config import Settings
from outreach_tui.core.addresses import normalize_address
from outreach_tui.core.days import day_start_utc, local_day, next_day_start_utc
from outreach_tui.core.errors import HeaderInjection, InputError
from outreach_tui.core.policy import PolicyDecision, evaluate, idempotency_key
from outreach_tui.core.region import domain_of
from outreach_tui.core.retry import next_retry_at
from outreach_tui.core.states import AttemptState, EnrollmentState, ErrorClass, LeadStatus
from outreach_tui.db import tables as t
from outreach_tui.db.records import MailboxRecord
from outreach_tui.db.repos.attempts import mark_interrupted_unknown, record_idempotency
from outreach_tui.db.repos.counters import (
    cap_scopes,
    concurrent_transactions_bound,
    consume_caps,
    lock_scopes,
)
from outreach_tui.db.repos.journal import write_audit, write_event
from outreach_tui.db.repos.leads import get_or_create_lead
from outreach_tui.db.repos.mailboxes import mailbox_by_email, mailbox_by_id
from outreach_tui.db.repos.policy import gather_facts
from outreach_tui.db.repos.suppression import add_suppression
from outreach_tui.db.session import (
    ConcurrentWrites,
    DriverStatement,
    GroupCommit,
    read_tx,
    write_tx,
)
from outreach_tui.engine.clock import Clock
from outreach_tui.engine.sending import leases
from outreach_tui.engine.sending.cap_locks import CapLockChooser
from outreach_tui.mail.message import (
    OutgoingMessage,
    build_message,
    check_outgoing,
    new_message_id,
    unsubscribe_url,
)
from outreach_tui.mail.smtp import DeliveryResult, MailSender, SmtpEndpoint
from outreach_tui.secrets import secret_getter

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Called with the outcome inside the transaction that records it (see `send_attempt`),
#: and the attempt as it was sent (None when it never reached the server); returns when
#: the mailbox may send next (its pacing gap), or None.
AfterSend = Callable[[Connection, "SendOutcome", Any], datetime | None]

Status = Literal["sent", "blocked", "deferred", "retry", "failed", "unknown", "skipped"]
#: A `skipped` outcome's message when the mailbox's lease went to another process.
LEASE_LOST = "mailbox leased elsewhere"
#: A cap counted under its shared lock came near full: the attempt waits for the next tick,
#: to be counted again under the cap's exclusive lock (engine/sending/cap_locks.py).
NEAR_A_CAP = "near a cap: counted again under its exclusive lock"


@dataclass(frozen=True, slots=True)
class SendRequest:
    """A one-off send (CLI `send`, a reply from the inbox)."""

    sender_email: str
    recipient_email: str
    subject: str
    body: str
    in_reply_to: str | None = None
    references: str | None = None
    postal_address: str | None = None


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """What the caller may show: a short sentence, never server details or secrets."""

    status: Status
    message: str
    attempt_id: int | None = None
    decision: PolicyDecision | None = None
    error_class: ErrorClass | None = None
    next_attempt_at: datetime | None = None

    @property
    def sent(self) -> bool:
        return self.status == "sent"


@dataclass(frozen=True, slots=True)
class _Prepared:
    attempt: Any  # a Row, or the values just inserted
    mailbox: MailboxRecord
    decision: PolicyDecision


_SHORT_MESSAGES: dict[ErrorClass, str] = {
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
}


# Prebuilt statements (see db/ledger.py for why); those run for every send are
# DriverStatements (compiled once, executed without SQLAlchemy's per-call overhead).
_ATTEMPT_COLUMNS = (
    "lead_id", "campaign_id", "mailbox_id", "operator_id", "sender_email", "recipient_email",
    "recipient_domain", "subject", "body", "idempotency_key", "state", "message_id",
    "in_reply_to", "references", "legal_basis", "region", "policy_result", "retry_count",
    "first_tried_at", "sending_started_at", "approved_by", "approved_at", "created_at",
    "updated_at",
)  # fmt: skip
_ATTEMPT_INSERT = DriverStatement(
    insert(t.attempt)
    .values({name: bindparam(name) for name in _ATTEMPT_COLUMNS})
    .returning(t.attempt.c.id)
)
_ATTEMPT_SENT = DriverStatement(
    update(t.attempt)
    .where(t.attempt.c.id == bindparam("attempt_id"))
    .values(
        {
            name: bindparam(name)
            for name in ("state", "sent_at", "smtp_code", "smtp_response", "error_class",
                         "error_detail", "updated_at")
        }
    )
)  # fmt: skip
# With the campaign's postal address: the footer a campaign sets for its messages.
# And the lead's address and status, which the policy needs (one round trip, not two).
_ATTEMPT_BY_ID = (
    select(
        t.attempt,
        t.campaign.c.postal_address,
        t.lead.c.email.label("lead_email"),
        t.lead.c.status.label("lead_status"),
    )
    .join(t.lead, t.lead.c.id == t.attempt.c.lead_id)
    .outerjoin(t.campaign, t.campaign.c.id == t.attempt.c.campaign_id)
    .where(t.attempt.c.id == bindparam("id"))
)
# PostgreSQL's claim: the row is locked from the read to the COMMIT, and a row another
# worker is claiming right now is skipped, not waited for (it is theirs).
_ATTEMPT_TO_CLAIM = _ATTEMPT_BY_ID.where(
    t.attempt.c.state == AttemptState.APPROVED.value
).with_for_update(of=t.attempt, skip_locked=True)
# The claim: approved to sending, the row as it now is returned (no second read). Not a
# DriverStatement: the row's values need their types' result processing (UTC datetimes).
_ATTEMPT_CLAIM = (
    update(t.attempt)
    .where(
        t.attempt.c.id == bindparam("attempt_id"),
        t.attempt.c.state == AttemptState.APPROVED.value,
    )
    .values(
        {
            name: bindparam(name)
            for name in ("state", "sending_started_at", "first_tried_at", "legal_basis",
                         "region", "policy_result", "updated_at")
        }
    )
    .returning(*t.attempt.c)
)  # fmt: skip
_ATTEMPT_UPDATE = update(t.attempt).where(t.attempt.c.id == bindparam("attempt_id"))
_LEAD_CONTACTED = DriverStatement(
    update(t.lead)
    .where(t.lead.c.id == bindparam("lead_id"), t.lead.c.status == LeadStatus.NEW.value)
    .values(status=bindparam("status"), updated_at=bindparam("updated_at"))
)
# After a send: when it went (if it did) and when the mailbox may send next (its pacing
# gap, if the caller set one), in one statement; a NULL parameter keeps the column.
_MAILBOX_STAMP = DriverStatement(
    update(t.mailbox)
    .where(t.mailbox.c.id == bindparam("mailbox_id"))
    .values(
        last_sent_at=func.coalesce(
            bindparam("last_sent_at", type_=t.mailbox.c.last_sent_at.type),
            t.mailbox.c.last_sent_at,
        ),
        next_send_at=func.coalesce(
            bindparam("next_send_at", type_=t.mailbox.c.next_send_at.type),
            t.mailbox.c.next_send_at,
        ),
    )
)


class SendPipeline:
    def __init__(
        self,
        *,
        db: Engine,
        settings: Settings,
        clock: Clock,
        transport: MailSender,
        operator_id: str,
        db_thread: bool = False,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.transport = transport
        self.operator_id = operator_id
        self.limits = settings.policy.limits()
        self.retry_rules = settings.retry.rules()
        # SQLite: statements on the loop's thread by default: a second thread doing CPU work
        # fights the event loop for the GIL (every socket send then waits out the switch
        # interval), which cost 5x in bench/send_pipeline.py. Only the COMMIT, which waits
        # for the disk without the GIL, runs on GroupCommit's helper thread. `db_thread`
        # moves it all.
        #: Several processes on one PostgreSQL: the caps and claims need database locks.
        self.shared = db.dialect.name != "sqlite"
        self._executor: ThreadPoolExecutor | None = None
        self._writes: GroupCommit | ConcurrentWrites
        #: Which cap locks a claim takes shared (PostgreSQL only; engine/sending/cap_locks.py).
        self._cap_locks = CapLockChooser(self.limits, concurrency=0)
        if self.shared:
            # PostgreSQL: every statement is a round trip the caller waits for, so the
            # transactions run on lanes of their own, several at once (db/session.py).
            self._writes = ConcurrentWrites(db, settings.scheduler.db_connections)
            with db.connect() as conn:
                concurrency = concurrent_transactions_bound(conn)
            self._cap_locks = CapLockChooser(self.limits, concurrency)
        else:
            if db_thread:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="outreach-db")
            self._writes = GroupCommit(db, self._executor)

    async def write(self, fn: Callable[[Connection], T]) -> T:
        """Run `fn(conn)` in the pipeline's group commit (one write transaction shared with
        the sends in flight, its COMMIT off the event loop); returns `fn`'s result once it
        is committed. `fn` must be pure database work: it may run a second time, alone,
        when the shared transaction fails."""
        return await self._writes.run(fn)

    def close(self) -> None:
        self._writes.close()
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    # -- read-only check ---------------------------------------------------------------

    def check(self, sender: str, recipient: str, subject: str) -> PolicyDecision:
        """The decision a send would get now, without writing anything (`policy check`)."""
        now = self.clock.now()
        sender, recipient = sender.strip().lower(), recipient.strip().lower()
        with read_tx(self.db) as conn:
            mailbox = mailbox_by_email(conn, sender)
            lead_status = conn.execute(
                select(t.lead.c.status).where(t.lead.c.email == recipient)
            ).scalar()
            facts = gather_facts(
                conn,
                operator_id=self.operator_id,
                sender=sender,
                recipient=recipient,
                subject=subject,
                idem_key=idempotency_key(sender, recipient, subject),
                day=local_day(now, self.settings.tz),
                day_start=day_start_utc(local_day(now, self.settings.tz), self.settings.tz),
                now=now,
                limits=self.limits,
                mailbox=mailbox,
                mailbox_daily_limit=_mailbox_limit(mailbox),
                lead_status=lead_status,
            )
        return evaluate(facts, self.limits)

    # -- sending -------------------------------------------------------------------------

    async def send_new(self, request: SendRequest) -> SendOutcome:
        """Steps 1-7 for a one-off message (creates the lead if it is new)."""
        prepared = await self._writes.run(partial(self._prepare_new, request=request))
        if isinstance(prepared, SendOutcome):
            return prepared
        return await self._deliver(prepared)

    async def send_attempt(
        self, attempt_id: int, *, then: AfterSend | None = None, lease_holder: str | None = None
    ) -> SendOutcome:
        """Steps 3-7 for an attempt already in the ledger (approved and due).

        `lease_holder` (PostgreSQL): the claim renews the mailbox's dispatch lease in its own
        transaction and is skipped when the lease was lost (this process stalled past its
        expiry and another took the mailbox over), so only the holder ever sends.

        `then(conn, outcome, attempt)` runs in the transaction that records the outcome (not for
        `skipped`): the sequence moves on in the same COMMIT as the attempt becomes `sent`,
        so a crash between the two can never leave a sent step whose sequence is stuck."""
        prepared = await self._writes.run(
            partial(
                self._prepare_queued_then, attempt_id=attempt_id, then=then, holder=lease_holder
            )
        )
        if isinstance(prepared, SendOutcome):
            return prepared
        return await self._deliver(prepared, then)

    def recover_interrupted(self) -> list[int]:
        """At start-up: attempts left `sending` by a crash become `unknown`."""
        now = self.clock.now()
        with write_tx(self.db) as conn:
            # Another live process on this database (a console and a worker on one SQLite
            # file, workers on one PostgreSQL) may be sending right now: the attempts of the
            # mailboxes it holds are its sends in flight. The leases of local processes that
            # are gone are freed first, so what a dead process left is judged here.
            leases.release_dead_local(conn)
            found = mark_interrupted_unknown(conn, now, unless_leased=True)
            # Their sequences wait for the operator (or the Sent folder), as after any
            # unknown outcome; left `queued` they would wait for nothing, unseen.
            conn.execute(
                update(t.campaign_lead)
                .where(
                    t.campaign_lead.c.id.in_(
                        select(t.attempt.c.campaign_lead_id).where(t.attempt.c.id.in_(found))
                    ),
                    t.campaign_lead.c.state == EnrollmentState.QUEUED.value,
                )
                .values(
                    state=EnrollmentState.HELD.value,
                    stop_reason=_SHORT_MESSAGES[ErrorClass.UNKNOWN_OUTCOME],
                    updated_at=now,
                )
            )
            for attempt_id in found:
                write_event(
                    conn,
                    kind="attempt_unknown",
                    severity="warning",
                    subject_type="attempt",
                    subject_id=attempt_id,
                    message="a send was interrupted; its outcome is unknown and it will not be "
                    "resent automatically",
                    at=now,
                )
        if found:
            log.warning("marked %d interrupted attempts as unknown: %s", len(found), found)
        return found

    async def _deliver(self, prepared: _Prepared, then: AfterSend | None = None) -> SendOutcome:
        attempt, mailbox = prepared.attempt, prepared.mailbox
        endpoint = self.endpoint_for(mailbox)
        try:
            payload = self._payload(attempt, mailbox)
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
        outcome = await self._writes.run(
            partial(self._finalize_then, attempt=attempt, mailbox=mailbox, result=result, then=then)
        )
        return SendOutcome(
            status=outcome.status,
            message=outcome.message,
            attempt_id=attempt.id,
            decision=prepared.decision,
            error_class=outcome.error_class,
            next_attempt_at=outcome.next_attempt_at,
        )

    def endpoint_for(self, mailbox: MailboxRecord) -> SmtpEndpoint:
        return SmtpEndpoint(
            host=mailbox.smtp_host,
            port=mailbox.smtp_port,
            security="tls" if mailbox.smtp_security == "tls" else "starttls",
            username=mailbox.smtp_user or mailbox.email,
            password=secret_getter(
                mailbox.smtp_password_ref, key=f"SMTP password of {mailbox.email}"
            ),
            verify_tls=bool(mailbox.verify_tls),
            timeout=self.settings.smtp_send_timeout,
            ca_file=self.settings.tls.ca_file,
            label=mailbox.email,
        )

    def _payload(self, attempt: Row[Any], mailbox: MailboxRecord) -> bytes:
        return build_message(self._outgoing(attempt, mailbox))

    def _outgoing(
        self, attempt: Row[Any], mailbox: MailboxRecord, **overrides: Any
    ) -> OutgoingMessage:
        sending = self.settings.sending
        fields: dict[str, Any] = {
            "sender_email": mailbox.email,
            "sender_name": mailbox.from_name or "",
            "recipient_email": attempt.recipient_email,
            "subject": attempt.subject,
            "body": attempt.body,
            "message_id": attempt.message_id,
            "date": attempt.sending_started_at or self.clock.now(),
            "in_reply_to": attempt.in_reply_to,
            "references": attempt.references,
            "unsubscribe_mailto": sending.unsubscribe_mailto or mailbox.email,
            "unsubscribe_url": unsubscribe_url(
                sending.unsubscribe_url,
                recipient=attempt.recipient_email,
                message_id=attempt.message_id,
            ),
            "postal_address": self._postal_address(attempt),
        }
        fields.update(overrides)
        return OutgoingMessage(**fields)

    def _postal_address(self, attempt: Row[Any]) -> str | None:
        return getattr(attempt, "postal_address", None) or self.settings.sending.postal_address

    # -- step 3-4: policy, audit, ledger ------------------------------------------------

    def _prepare_new(self, conn: Connection, request: SendRequest) -> _Prepared | SendOutcome:
        """Runs inside a write transaction that commits before the caller goes on."""
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
            conn, mailbox, lead.email, lead.status, request.subject, key, now, None, None
        )
        message_id = new_message_id(sender)
        injection = self._injection(
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
                conn,
                user_id=self.operator_id,
                policy_result="blocked",
                reason=reason,
                at=now,
                lead_email=recipient,
                sender_email=sender,
                subject=request.subject,
                legal_basis=decision.legal_basis,
            )
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
        attempt_id = int(_ATTEMPT_INSERT.execute(conn, values).scalar_one())
        write_audit(
            conn,
            user_id=self.operator_id,
            policy_result="allowed",
            reason="allowed",
            at=now,
            lead_email=recipient,
            sender_email=sender,
            subject=request.subject,
            legal_basis=decision.legal_basis,
            attempt_id=attempt_id,
        )
        # The row as written, without reading it back (one statement less per send).
        attempt = SimpleNamespace(id=attempt_id, **values, postal_address=request.postal_address)
        return _Prepared(attempt, mailbox, decision)

    def _prepare_queued_then(
        self, conn: Connection, attempt_id: int, then: AfterSend | None, holder: str | None = None
    ) -> _Prepared | SendOutcome:
        prepared = self._prepare_queued(conn, attempt_id, holder)
        if then is not None and isinstance(prepared, SendOutcome) and prepared.status != "skipped":
            then(conn, prepared, None)  # blocked or deferred: in the same transaction
        return prepared

    def _prepare_queued(
        self, conn: Connection, attempt_id: int, lease_holder: str | None = None
    ) -> _Prepared | SendOutcome:
        """Runs inside a write transaction that commits before the caller goes on."""
        now = self.clock.now()
        query = _ATTEMPT_TO_CLAIM if self.shared else _ATTEMPT_BY_ID
        attempt = conn.execute(query, {"id": attempt_id}).first()
        if attempt is None or attempt.state != AttemptState.APPROVED.value:
            return SendOutcome("skipped", "not waiting to be sent", attempt_id=attempt_id)
        if attempt.next_attempt_at is not None and attempt.next_attempt_at > now:
            return SendOutcome("skipped", "not due yet", attempt_id=attempt_id)
        mailbox = mailbox_by_id(conn, attempt.mailbox_id)
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
            attempt.lead_email,
            attempt.lead_status,
            attempt.subject,
            attempt.idempotency_key,
            now,
            attempt.campaign_id,
            attempt.id,
        )
        if self.shared and not self._cap_locks.confirm(
            day, attempt.recipient_domain, lock_modes, decision
        ):
            return SendOutcome("skipped", NEAR_A_CAP, attempt_id=attempt_id)
        injection = self._injection(self._outgoing(attempt, mailbox, date=now))
        if injection is not None:
            return self._reject(conn, attempt, injection, now, decision)
        if not decision.allowed:
            if decision.temporary:
                return self._defer(conn, attempt, decision, now)
            return self._reject(conn, attempt, decision.reason, now, decision)
        claimed = conn.execute(
            _ATTEMPT_CLAIM,
            {
                "attempt_id": attempt.id,
                "state": AttemptState.SENDING.value,
                "sending_started_at": now,
                "first_tried_at": attempt.first_tried_at or now,
                "legal_basis": decision.legal_basis,
                "region": decision.region,
                "policy_result": "allowed",
                "updated_at": now,
            },
        ).first()
        if claimed is None:
            return SendOutcome("skipped", "taken by another sender", attempt_id=attempt_id)
        write_audit(
            conn,
            user_id=self.operator_id,
            policy_result="allowed",
            reason="allowed",
            at=now,
            lead_email=attempt.recipient_email,
            sender_email=attempt.sender_email,
            subject=attempt.subject,
            legal_basis=decision.legal_basis,
            attempt_id=attempt.id,
        )
        sending = SimpleNamespace(**claimed._mapping, postal_address=attempt.postal_address)
        return _Prepared(sending, mailbox, decision)

    def _decide(
        self,
        conn: Connection,
        mailbox: MailboxRecord,
        recipient: str,
        lead_status: str | None,
        subject: str,
        key: str,
        now: datetime,
        campaign_id: int | None,
        exclude_attempt: int | None,
    ) -> PolicyDecision:
        facts = gather_facts(
            conn,
            operator_id=self.operator_id,
            sender=mailbox.email,
            recipient=recipient,
            subject=subject,
            idem_key=key,
            day=local_day(now, self.settings.tz),
            day_start=day_start_utc(local_day(now, self.settings.tz), self.settings.tz),
            now=now,
            limits=self.limits,
            mailbox=mailbox,
            mailbox_daily_limit=_mailbox_limit(mailbox),
            campaign_id=campaign_id,
            lead_status=lead_status,
            exclude_attempt=exclude_attempt,
        )
        return evaluate(facts, self.limits)

    @staticmethod
    def _injection(message: OutgoingMessage) -> str | None:
        try:
            check_outgoing(message)
        except HeaderInjection as exc:
            return str(exc)
        return None

    def _reject(
        self,
        conn: Connection,
        attempt: Row[Any],
        reason: str,
        now: datetime,
        decision: PolicyDecision | None = None,
    ) -> SendOutcome:
        conn.execute(
            update(t.attempt)
            .where(t.attempt.c.id == attempt.id)
            .values(
                state=AttemptState.REJECTED.value,
                policy_result="blocked",
                error_detail=reason,
                updated_at=now,
            )
        )
        write_audit(
            conn,
            user_id=self.operator_id,
            policy_result="blocked",
            reason=reason,
            at=now,
            lead_email=attempt.recipient_email,
            sender_email=attempt.sender_email,
            subject=attempt.subject,
            legal_basis=decision.legal_basis if decision else None,
            attempt_id=attempt.id,
        )
        return SendOutcome("blocked", reason, attempt_id=attempt.id, decision=decision)

    def _defer(
        self, conn: Connection, attempt: Row[Any], decision: PolicyDecision, now: datetime
    ) -> SendOutcome:
        """A temporary block (cap reached, paused): try again when it can clear."""
        later = next_day_start_utc(now, self.settings.tz)
        conn.execute(
            update(t.attempt)
            .where(t.attempt.c.id == attempt.id)
            .values(next_attempt_at=later, policy_result="deferred", updated_at=now)
        )
        write_audit(
            conn,
            user_id=self.operator_id,
            policy_result="blocked",
            reason=decision.reason,
            at=now,
            lead_email=attempt.recipient_email,
            sender_email=attempt.sender_email,
            subject=attempt.subject,
            legal_basis=decision.legal_basis,
            attempt_id=attempt.id,
        )
        return SendOutcome(
            "deferred",
            decision.reason,
            attempt_id=attempt.id,
            decision=decision,
            next_attempt_at=later,
        )

    # -- step 6: finalize -----------------------------------------------------------------

    def _finalize_then(
        self,
        conn: Connection,
        attempt: Row[Any],
        mailbox: MailboxRecord,
        result: DeliveryResult,
        then: AfterSend | None,
    ) -> SendOutcome:
        now = self.clock.now()
        outcome = self._finalize(conn, attempt, mailbox, result, now)
        next_send_at = then(conn, outcome, attempt) if then is not None else None
        sent = outcome.status == "sent"
        if sent or next_send_at is not None:
            _MAILBOX_STAMP.execute(
                conn,
                {
                    "mailbox_id": mailbox.id,
                    "last_sent_at": now if sent else None,
                    "next_send_at": next_send_at,
                },
            )
        if sent:
            # Last, so that on PostgreSQL the operator's cap lock it takes is held only for
            # the counters and the COMMIT.
            self._consume_caps(conn, attempt, mailbox, now)
        return outcome

    def _finalize(
        self, conn: Connection, attempt: Row[Any], mailbox: MailboxRecord, result: DeliveryResult,
        now: datetime,
    ) -> SendOutcome:  # fmt: skip
        """Runs inside a write transaction that commits before the caller hears the outcome.
        A send's stamp on its mailbox and its cap counters are the caller's to write, after
        its own effects (`_finalize_then`)."""
        if result.accepted:
            self._record_sent(conn, attempt, result, now)
            return SendOutcome("sent", "sent", attempt_id=attempt.id)
        error_class = result.error_class or ErrorClass.UNKNOWN_OUTCOME
        log.warning(
            "attempt %s via %s to %s: %s (%s)",
            attempt.id, mailbox.email, attempt.recipient_email, error_class.value, result.detail,
        )  # fmt: skip
        return self._record_failure(conn, attempt, mailbox, result, error_class, now)

    def _record_sent(
        self, conn: Connection, attempt: Row[Any], result: DeliveryResult, now: datetime
    ) -> None:
        """The attempt `sent`, its idempotency key, the lead contacted (not the mailbox's
        stamp nor the counters: see `_finalize_then`, `settle_sent`)."""
        _ATTEMPT_SENT.execute(
            conn,
            {
                "attempt_id": attempt.id,
                "state": AttemptState.SENT.value,
                "sent_at": now,
                "smtp_code": result.code,
                "smtp_response": result.response[:500],
                "error_class": None,
                "error_detail": None,
                "updated_at": now,
            },
        )
        record_idempotency(conn, attempt.idempotency_key, attempt.id, now)
        _LEAD_CONTACTED.execute(
            conn,
            {"lead_id": attempt.lead_id, "status": LeadStatus.CONTACTED.value,
             "updated_at": now},
        )  # fmt: skip

    def _consume_caps(
        self, conn: Connection, attempt: Row[Any], mailbox: MailboxRecord, now: datetime
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

    def settle_sent(
        self, conn: Connection, attempt: Row[Any], mailbox: MailboxRecord, why: str
    ) -> None:
        """An `unknown` attempt turned out to have been accepted (found in the mailbox's Sent
        folder): consume exactly what a final 250 would have consumed."""
        now = self.clock.now()
        self._record_sent(conn, attempt, DeliveryResult(True, None, why), now)
        _MAILBOX_STAMP.execute(
            conn, {"mailbox_id": mailbox.id, "last_sent_at": now, "next_send_at": None}
        )
        self._consume_caps(conn, attempt, mailbox, now)

    def _record_failure(
        self,
        conn: Connection,
        attempt: Row[Any],
        mailbox: MailboxRecord,
        result: DeliveryResult,
        error_class: ErrorClass,
        now: datetime,
    ) -> SendOutcome:
        common = {
            "smtp_code": result.code,
            "smtp_response": (result.response or "")[:500],
            "error_class": error_class.value,
            "error_detail": result.detail[:1000],
            "updated_at": now,
        }
        if error_class is ErrorClass.UNKNOWN_OUTCOME:
            self._set_attempt(conn, attempt.id, state=AttemptState.UNKNOWN.value, **common)
            write_event(
                conn, kind="attempt_unknown", severity="warning", subject_type="attempt",
                subject_id=attempt.id, at=now,
                message=f"send to {attempt.recipient_email} may or may not have been accepted; "
                "not resent",
            )  # fmt: skip
            return SendOutcome("unknown", _SHORT_MESSAGES[error_class], error_class=error_class)
        if error_class is ErrorClass.HARD_BOUNCE:
            self._set_attempt(conn, attempt.id, state=AttemptState.FAILED.value, **common)
            add_suppression(
                conn, kind="address", value=attempt.recipient_email,
                reason=f"hard bounce: {result.code} {result.response}"[:300],
                source=f"bounce:attempt:{attempt.id}", at=now, created_by=self.operator_id,
            )  # fmt: skip
            conn.execute(
                update(t.lead)
                .where(t.lead.c.id == attempt.lead_id)
                .values(status=LeadStatus.BOUNCED.value, updated_at=now)
            )
            write_event(
                conn, kind="hard_bounce", severity="warning", subject_type="mailbox",
                subject_id=mailbox.id, at=now,
                message=f"{attempt.recipient_email} rejected by the server ({result.code}); "
                "suppressed",
                data={"attempt_id": attempt.id, "code": result.code},
            )  # fmt: skip
            return SendOutcome("failed", _SHORT_MESSAGES[error_class], error_class=error_class)
        if error_class in (ErrorClass.REJECTED_MESSAGE, ErrorClass.INVALID_MESSAGE):
            self._set_attempt(conn, attempt.id, state=AttemptState.FAILED.value, **common)
            write_event(
                conn, kind="message_rejected", severity="warning", subject_type="mailbox",
                subject_id=mailbox.id, at=now,
                message=f"message to {attempt.recipient_email} refused ({result.code})",
                data={"attempt_id": attempt.id, "code": result.code},
            )  # fmt: skip
            return SendOutcome("failed", _SHORT_MESSAGES[error_class], error_class=error_class)

        # Transient, or the mailbox's fault: nothing consumed, retried with backoff.
        if error_class.counts_against_mailbox:
            write_event(
                conn, kind="mailbox_health", severity="critical"
                if error_class in (ErrorClass.AUTH, ErrorClass.TLS) else "warning",
                subject_type="mailbox", subject_id=mailbox.id, at=now,
                message=f"{mailbox.email}: {_SHORT_MESSAGES[error_class]}",
                data={"error_class": error_class.value, "attempt_id": attempt.id},
            )  # fmt: skip
        retries = attempt.retry_count + 1
        retry_at = next_retry_at(self.retry_rules, retries, attempt.first_tried_at or now, now)
        if retry_at is None:
            common["error_class"] = ErrorClass.EXPIRED.value
            self._set_attempt(
                conn, attempt.id, state=AttemptState.FAILED.value, retry_count=retries, **common
            )
            return SendOutcome(
                "failed", _SHORT_MESSAGES[ErrorClass.EXPIRED], error_class=ErrorClass.EXPIRED
            )
        self._set_attempt(
            conn,
            attempt.id,
            state=AttemptState.APPROVED.value,
            retry_count=retries,
            next_attempt_at=retry_at,
            **common,
        )
        return SendOutcome(
            "retry", _SHORT_MESSAGES[error_class], error_class=error_class,
            next_attempt_at=retry_at,
        )  # fmt: skip

    @staticmethod
    def _set_attempt(conn: Connection, attempt_id: int, **values: Any) -> None:
        conn.execute(_ATTEMPT_UPDATE, {"attempt_id": attempt_id, **values})


def _mailbox_limit(mailbox: MailboxRecord | None) -> int | None:
    if mailbox is None:
        return None
    limit = mailbox.daily_limit
    return None if limit is None else int(limit)
