"""The approval queue: attempts of manual campaigns wait in `pending_approval` until an
operator approves, rejects or edits them. Every decision is an audit row naming the OS
login of the person who made it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select, update

from outreach_tui.core.errors import HeaderInjection, InputError
from outreach_tui.core.headers import check_header_value
from outreach_tui.core.policy import idempotency_key
from outreach_tui.core.states import AttemptState
from outreach_tui.db import tables as t
from outreach_tui.db.repos.journal import write_audit
from outreach_tui.db.session import read_tx, write_tx
from outreach_tui.engine.clock import Clock
from outreach_tui.engine.sending.sequences import stop_enrollment

_PENDING = AttemptState.PENDING_APPROVAL.value


@dataclass(frozen=True, slots=True)
class QueueItem:
    attempt_id: int
    campaign: str | None
    step: int | None
    sender: str
    recipient: str
    subject: str
    body: str
    scheduled_at: Any
    lead_health: str | None
    legal_basis: str | None
    edited_by: str | None


class ApprovalQueue:
    def __init__(self, db: Engine, clock: Clock, operator_id: str) -> None:
        self.db = db
        self.clock = clock
        self.operator_id = operator_id

    def count(self) -> int:
        with read_tx(self.db) as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(t.attempt).where(t.attempt.c.state == _PENDING)
                ).scalar()
                or 0
            )

    def page(self, *, offset: int = 0, limit: int = 100) -> list[QueueItem]:
        query = (
            select(
                t.attempt.c.id,
                t.campaign.c.name,
                t.attempt.c.step_position,
                t.attempt.c.sender_email,
                t.attempt.c.recipient_email,
                t.attempt.c.subject,
                t.attempt.c.body,
                t.attempt.c.next_attempt_at,
                t.lead.c.health,
                t.attempt.c.legal_basis,
                t.attempt.c.edited_by,
            )
            .join(t.lead, t.lead.c.id == t.attempt.c.lead_id)
            .outerjoin(t.campaign, t.campaign.c.id == t.attempt.c.campaign_id)
            .where(t.attempt.c.state == _PENDING)
            .order_by(t.attempt.c.next_attempt_at, t.attempt.c.id)
            .offset(offset)
            .limit(limit)
        )
        with read_tx(self.db) as conn:
            return [QueueItem(*row) for row in conn.execute(query)]

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
        now = self.clock.now()
        with write_tx(self.db) as conn:
            rows = conn.execute(
                select(t.attempt).where(
                    t.attempt.c.id.in_(attempt_ids), t.attempt.c.state == _PENDING
                )
            ).all()
            if not rows:
                return 0
            values: dict[str, Any] = {"state": state.value, "updated_at": now}
            if state is AttemptState.APPROVED:
                values.update(approved_by=self.operator_id, approved_at=now)
            else:
                values.update(policy_result="rejected", error_detail=reason[:300])
            conn.execute(
                update(t.attempt)
                .where(t.attempt.c.id.in_([r.id for r in rows]), t.attempt.c.state == _PENDING)
                .values(**values)
            )
            for row in rows:
                write_audit(
                    conn,
                    user_id=self.operator_id,
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
        now = self.clock.now()
        with write_tx(self.db) as conn:
            row = conn.execute(select(t.attempt).where(t.attempt.c.id == attempt_id)).first()
            if row is None or row.state != _PENDING:
                raise InputError(f"attempt {attempt_id} is not waiting for approval")
            changes = []
            if row.subject != subject:
                changes.append(f"subject {row.subject!r} → {subject!r}")
            if row.body != body:
                changes.append(f"body changed ({len(row.body)} → {len(body)} characters)")
            if not changes:
                return
            conn.execute(
                update(t.attempt)
                .where(t.attempt.c.id == attempt_id)
                .values(
                    subject=subject,
                    body=body,
                    idempotency_key=idempotency_key(row.sender_email, row.recipient_email, subject),
                    edited_by=self.operator_id,
                    edited_at=now,
                    updated_at=now,
                )
            )
            write_audit(
                conn,
                user_id=self.operator_id,
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
        with read_tx(self.db) as conn:
            return list(
                conn.execute(
                    select(t.attempt.c.id)
                    .where(t.attempt.c.state == _PENDING)
                    .order_by(t.attempt.c.next_attempt_at, t.attempt.c.id)
                    .limit(limit)
                ).scalars()
            )
