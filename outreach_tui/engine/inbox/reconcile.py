"""Settling `unknown` attempts (the connection broke after DATA) from the Sent folder.

For each mailbox with unknown attempts older than `[replies] reconcile_min_age_minutes`:
open its Sent folder (the one marked \\Sent, else `[replies] sent_folder`) read-only and
search for each attempt's Message-ID (sent as a literal, after the CR/LF/NUL check).

    found        → sent: counters, idempotency key, lead contacted, exactly as a final 250
                   would have done (`SendPipeline.settle_sent`), and the sequence moves on
    not found    → failed, but only when this Sent folder is known to keep our mail (a
                   message of ours that was certainly sent is in it). Many servers do not
                   copy what was submitted over SMTP into Sent; there, absence proves
                   nothing, the attempt stays unknown and an event says why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection

from outreach_tui.core.errors import ConfigError
from outreach_tui.core.states import EnrollmentState
from outreach_tui.db.records import AttemptRecord, MailboxRecord
from outreach_tui.db.repos.attempts_inbox import (
    UnknownAttempt,
    fail_attempt,
    last_sent_message_id,
    unknown_attempt,
    unknown_attempts_to_settle,
)
from outreach_tui.db.repos.campaigns import enrollment_state
from outreach_tui.db.repos.journal import last_event_message, write_audit, write_event
from outreach_tui.db.repos.mailboxes import mailbox_by_id, mailboxes_by_id
from outreach_tui.engine.context import EngineContext
from outreach_tui.engine.inbox.poller import ClientFactory, endpoint_for
from outreach_tui.engine.sending.pipeline import SendPipeline
from outreach_tui.engine.sending.sequences import advance_after_send, stop_enrollment
from outreach_tui.mail.imap import ImapArgumentError, ImapClient, ImapError

log = logging.getLogger(__name__)


@dataclass
class ReconcileReport:
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    undecided: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Reconciler:
    def __init__(
        self, ctx: EngineContext, *, pipeline: SendPipeline, client_factory: ClientFactory
    ) -> None:
        self.db = ctx.db
        self.settings = ctx.settings
        self.clock = ctx.clock
        self.pipeline = pipeline
        self.operator_id = ctx.operator_id
        self.client_factory = client_factory

    async def run(self) -> ReconcileReport:
        report = ReconcileReport()
        cutoff = self.clock.now() - timedelta(
            minutes=self.settings.replies.reconcile_min_age_minutes
        )
        with self.db.read() as conn:
            rows = unknown_attempts_to_settle(conn, cutoff)
            ids = sorted({r.mailbox_id for r in rows})
            boxes = {box.id: box for box in mailboxes_by_id(conn, ids)}
        by_box: dict[int, list[UnknownAttempt]] = {}
        for row in rows:
            by_box.setdefault(row.mailbox_id, []).append(row)
        for mailbox_id, attempts in by_box.items():
            await self._mailbox(boxes[mailbox_id], attempts, report)
        return report

    async def _mailbox(
        self, box: MailboxRecord, attempts: list[UnknownAttempt], report: ReconcileReport
    ) -> None:
        try:
            async with self.client_factory(endpoint_for(box, self.settings)) as imap:
                folder = await imap.sent_folder(self.settings.replies.sent_folder)
                await imap.examine(folder)
                keeps = await self._sent_folder_keeps_mail(imap, box.id)
                for attempt in attempts:
                    try:
                        found = bool(await imap.search_header("Message-ID", attempt.message_id))
                    except ImapArgumentError as exc:
                        report.undecided.append(attempt.id)
                        self._event(attempt.id, f"not looked up in Sent: {exc}")
                        continue
                    if found:
                        self._settle_sent(attempt.id, box.id, folder)
                        report.sent.append(attempt.id)
                    elif keeps:
                        self._settle_failed(attempt.id, folder)
                        report.failed.append(attempt.id)
                    else:
                        report.undecided.append(attempt.id)
                        self._event(
                            attempt.id,
                            f"not in {folder}, but {box.email}'s {folder} folder does not keep "
                            "mail sent over SMTP; left unknown for the operator",
                        )
        except (ImapError, ConfigError) as exc:
            log.warning("reconciling %s: %s", box.email, exc)
            report.errors.append(f"{box.email}: {exc}")
        except Exception as exc:  # one mailbox's failure never stops the others
            log.exception("reconciling %s failed", box.email)
            report.errors.append(f"{box.email}: internal error ({type(exc).__name__})")

    async def _sent_folder_keeps_mail(self, imap: ImapClient, mailbox_id: int) -> bool:
        """True when a message of this mailbox that certainly went out is in the folder."""
        with self.db.read() as conn:
            proof = last_sent_message_id(conn, mailbox_id)
        if proof is None:
            return False
        try:
            return bool(await imap.search_header("Message-ID", proof))
        except ImapArgumentError:
            return False

    def _settle_sent(self, attempt_id: int, mailbox_id: int, folder: str) -> None:
        with self.db.write() as conn:
            attempt = unknown_attempt(conn, attempt_id)
            mailbox = mailbox_by_id(conn, mailbox_id)
            if attempt is None or mailbox is None:
                return
            now = self.clock.now()
            self.pipeline.settle_sent(conn, attempt, mailbox, f"found in {folder}")
            if attempt.campaign_lead_id is not None:
                assert attempt.step_position is not None  # a campaign's attempt has its step
                advance_after_send(
                    conn,
                    enrollment_id=attempt.campaign_lead_id,
                    sent_position=attempt.step_position,
                    message_id=attempt.message_id,
                    subject=attempt.subject,
                    mailbox_id=mailbox_id,
                    sent_at=now,
                )
            self._audit(conn, attempt, "settled_sent", f"found in {folder}", now)

    def _settle_failed(self, attempt_id: int, folder: str) -> None:
        with self.db.write() as conn:
            now = self.clock.now()
            attempt = unknown_attempt(conn, attempt_id)
            if attempt is None:
                return
            fail_attempt(conn, attempt_id, f"outcome unknown; not found in {folder}", now)
            if attempt.campaign_lead_id is not None:
                held = enrollment_state(conn, attempt.campaign_lead_id)
                if held == EnrollmentState.HELD.value:
                    stop_enrollment(
                        conn,
                        attempt.campaign_lead_id,
                        f"step not delivered (not found in {folder})",
                        now,
                    )
            self._audit(conn, attempt, "settled_failed", f"not found in {folder}", now)

    def _audit(
        self, conn: Connection, attempt: AttemptRecord, result: str, where: str, now: datetime
    ) -> None:
        """The audit row of a settled unknown outcome."""
        write_audit(
            conn,
            user_id=self.operator_id,
            policy_result=result,
            reason=f"unknown outcome settled: {where}",
            at=now,
            lead_email=attempt.recipient_email,
            sender_email=attempt.sender_email,
            subject=attempt.subject,
            attempt_id=attempt.id,
        )

    def _event(self, attempt_id: int, message: str) -> None:
        with self.db.write() as conn:
            if last_event_message(conn, "attempt", attempt_id) == message:
                return  # said already: every cycle would repeat it
            write_event(
                conn,
                kind="attempt_unknown",
                severity="warning",
                subject_type="attempt",
                subject_id=attempt_id,
                message=message,
                at=self.clock.now(),
            )
