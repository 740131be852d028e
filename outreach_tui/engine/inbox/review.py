"""The operator's review of stored replies: confirm or dismiss what SUGGEST mode held back,
or relabel a reply whose class was wrong.

Each runs in the caller's write transaction, on behalf of the operator named (the audit rows
say who). The effects themselves are engine/inbox/kind_effects.py's: a relabel undoes what
the old class did that can be undone, then applies the new class's effects.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import Connection

from outreach_tui.core.days import local_day
from outreach_tui.core.states import CounterScope, LeadStatus
from outreach_tui.db.repos.counters import increment_counter
from outreach_tui.db.repos.leads import set_status_unless_final, undo_final_status
from outreach_tui.db.repos.replies import relabel_reply, reply_under_review, set_review
from outreach_tui.db.repos.suppression import remove_suppressions_by_source
from outreach_tui.engine.context import EngineContext
from outreach_tui.engine.inbox.kind_effects import (
    ALL_KINDS,
    HANDLED_KINDS,
    REVIEWED_KINDS,
    Acting,
    KindEffects,
    ReplyContext,
)
from outreach_tui.mail.inbound import ReplyKind

#: The counter a reply of this class moved (a relabel takes it back).
_COUNTED = {
    "bounce_hard": CounterScope.MAILBOX_BOUNCE,
    "bounce_soft": CounterScope.MAILBOX_SOFT_BOUNCE,
    "complaint": CounterScope.MAILBOX_COMPLAINT,
}


class ReplyReview:
    def __init__(self, ctx: EngineContext, *, kinds: KindEffects) -> None:
        self.settings = ctx.settings
        self.kinds = kinds

    def confirm(self, conn: Connection, reply_id: int, operator_id: str, now: datetime) -> bool:
        """Apply the suppression a pending suggestion held back. False if none is pending."""
        c = self._context(conn, reply_id)
        if c is None or c.review != "pending":
            return False
        by = Acting(operator_id)
        self.kinds.suppress(conn, c, now, by)
        if c.kind == "unsubscribe" and c.lead_id is not None:
            set_status_unless_final(conn, c.affected or "", LeadStatus.UNSUBSCRIBED, now)
        set_review(conn, reply_id, "confirmed", handled=True)
        by.audit(
            conn, c, now, "suggestion_confirmed", f"{operator_id} confirmed: suppress {c.affected}"
        )
        return True

    def dismiss(self, conn: Connection, reply_id: int, operator_id: str, now: datetime) -> bool:
        """Drop a pending suggestion: nothing is suppressed."""
        c = self._context(conn, reply_id)
        if c is None or c.review != "pending":
            return False
        set_review(conn, reply_id, "dismissed")
        by = Acting(operator_id)
        by.audit(
            conn,
            c,
            now,
            "suggestion_dismissed",
            f"{operator_id} kept {c.affected} (not suppressed)",
        )
        return True

    def relabel(
        self, conn: Connection, reply_id: int, kind: ReplyKind, operator_id: str, now: datetime
    ) -> bool:
        """The operator says what the message really is: the old class's effects that can be
        undone are (its suppression, the final lead status it set, its counter), the new
        class's are applied. A stopped sequence is not restarted: re-enrol the lead."""
        if kind not in ALL_KINDS:
            raise ValueError(f"unknown reply class {kind!r}")
        c = self._context(conn, reply_id)
        if c is None:
            return False
        old = c.kind
        if old == kind:
            return False
        by = Acting(operator_id)
        day = local_day(c.created_at or now, self.settings.tz)
        if remove_suppressions_by_source(conn, f"reply:{reply_id}"):
            by.audit(conn, c, now, "unsuppressed", f"{c.affected} removed: was {old}")
        if old in REVIEWED_KINDS | {"bounce_hard"} and c.affected and c.review != "pending":
            undone = LeadStatus.CONTACTED if old == "bounce_hard" else LeadStatus.REPLIED
            undo_final_status(conn, c.affected, undone, now)
        scope = _COUNTED.get(old)
        if scope is not None:
            increment_counter(conn, scope, c.mailbox_email, day, by=-1)
        new = replace(c, kind=kind)
        effects = self.kinds.apply(conn, new, now, by, suppress=True, count=True)
        relabel_reply(
            conn,
            reply_id,
            classification=kind,
            classified_by="operator",
            reason=f"relabelled by {operator_id} (was {old})",
            review="confirmed" if c.review == "pending" else c.review,
            handled=kind in HANDLED_KINDS,
        )
        by.audit(
            conn,
            new,
            now,
            "relabelled",
            f"{operator_id}: {old} → {kind}; applied: {', '.join(effects) or 'nothing'}",
        )
        return True

    @staticmethod
    def _context(conn: Connection, reply_id: int) -> ReplyContext | None:
        row = reply_under_review(conn, reply_id)
        if row is None:
            return None
        return ReplyContext(
            reply_id=row.id,
            kind=row.classification or "other",
            lead_id=row.lead_id,
            affected=row.affected_email,
            attempt_id=row.attempt_id,
            mailbox_email=row.mailbox_email,
            mailbox_id=row.mailbox_id,
            message_id=row.message_id,
            subject=row.subject,
            return_date=row.return_date,
            status_code=None,
            diagnostic=None,
            review=row.review,
            created_at=row.created_at,
        )
