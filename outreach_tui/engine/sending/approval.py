"""The approval queue: attempts of manual campaigns wait in `pending_approval` until an
operator approves, rejects or edits them. Every decision is an audit row naming the OS
login of the person who made it.
"""

from __future__ import annotations

from outreach_tui.core.errors import HeaderInjection, InputError
from outreach_tui.core.headers import check_header_value
from outreach_tui.core.policy import idempotency_key
from outreach_tui.core.states import AttemptState
from outreach_tui.db.repos.attempts_planned import (
    QueueItem,
    approve_attempts,
    attempt_by_id,
    edit_attempt,
    pending_attempts,
    pending_count,
    pending_ids,
    pending_page,
    reject_attempts,
)
from outreach_tui.db.repos.journal import write_audit
from outreach_tui.engine.context import EngineContext
from outreach_tui.engine.sending.sequences import stop_enrollment

# The console's Queue pane shows these.
__all__ = ["ApprovalQueue", "QueueItem"]


class ApprovalQueue:
    """The operator's decisions on attempts waiting for approval."""

    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx

    def count(self) -> int:
        with self.ctx.db.read() as conn:
            return pending_count(conn)

    def page(self, *, offset: int = 0, limit: int = 100) -> list[QueueItem]:
        with self.ctx.db.read() as conn:
            return pending_page(conn, offset=offset, limit=limit)

    def approve(self, attempt_ids: list[int]) -> int:
        """Approve waiting attempts; returns how many were still waiting and are now approved."""
        return self._decide(attempt_ids, AttemptState.APPROVED, "approved", "approved by operator")

    def reject(self, attempt_ids: list[int], reason: str = "") -> int:
        """Reject waiting attempts; the lead's sequence in that campaign stops."""
        why = f"rejected by operator: {reason}" if reason else "rejected by operator"
        return self._decide(attempt_ids, AttemptState.REJECTED, "rejected", why)

    def _decide(self, attempt_ids: list[int], state: AttemptState, result: str, reason: str) -> int:
        if not attempt_ids:
            return 0
        operator = self.ctx.operator_id
        now = self.ctx.clock.now()
        with self.ctx.db.write() as conn:
            rows = pending_attempts(conn, attempt_ids)
            if not rows:
                return 0
            ids = [r.id for r in rows]
            if state is AttemptState.APPROVED:
                approve_attempts(conn, ids, by=operator, at=now)
            else:
                reject_attempts(conn, ids, reason=reason, at=now)
            for row in rows:
                write_audit(
                    conn,
                    user_id=operator,
                    policy_result=result,
                    reason=reason,
                    at=now,
                    lead_email=row.recipient_email,
                    sender_email=row.sender_email,
                    subject=row.subject,
                    legal_basis=row.legal_basis,
                    attempt_id=row.id,
                )
                if state is AttemptState.REJECTED and row.campaign_lead_id is not None:
                    stop_enrollment(conn, row.campaign_lead_id, reason, now)
        return len(rows)

    def edit(self, attempt_id: int, *, subject: str, body: str) -> None:
        """Change a waiting attempt's subject and body; the audit keeps what it was."""
        try:
            check_header_value("Subject", subject)
        except HeaderInjection as exc:
            raise InputError(str(exc)) from None
        if not subject.strip():
            raise InputError("the subject cannot be empty")
        if not body.strip():
            raise InputError("the body cannot be empty")
        operator = self.ctx.operator_id
        now = self.ctx.clock.now()
        with self.ctx.db.write() as conn:
            row = attempt_by_id(conn, attempt_id)
            if row is None or row.state != AttemptState.PENDING_APPROVAL.value:
                raise InputError(f"attempt {attempt_id} is not waiting for approval")
            changes = []
            if row.subject != subject:
                changes.append(f"subject {row.subject!r} → {subject!r}")
            if row.body != body:
                changes.append(f"body changed ({len(row.body)} → {len(body)} characters)")
            if not changes:
                return
            edit_attempt(
                conn,
                attempt_id,
                subject=subject,
                body=body,
                idempotency_key=idempotency_key(row.sender_email, row.recipient_email, subject),
                by=operator,
                at=now,
            )
            write_audit(
                conn,
                user_id=operator,
                policy_result="edited",
                reason="; ".join(changes),
                at=now,
                lead_email=row.recipient_email,
                sender_email=row.sender_email,
                subject=subject,
                legal_basis=row.legal_basis,
                attempt_id=attempt_id,
            )

    def pending_ids(self, *, limit: int = 100_000) -> list[int]:
        with self.ctx.db.read() as conn:
            return pending_ids(conn, limit=limit)
