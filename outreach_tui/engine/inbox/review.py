"""The operator's review of stored replies: confirm or dismiss what SUGGEST mode held back,
or relabel a reply whose class was wrong.

Each runs in the caller's write transaction, on behalf of the operator named (the audit rows
say who). The effects themselves go through the one applier (engine/sending/event_effects.py):
a relabel takes back what the old class did that can be taken back (`EventEffects.undo`: its
suppression, the final lead status it set, the counter it moved, its soft-bounce day), then
the new class's effects are decided (core/event_effects.py) and applied. The operator's word
ties a report to the send it is threaded to: a relabelled report acts even if it was stored
as unmatched.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import Connection

from outreach_tui.core.event_effects import (
    REPORT_KINDS,
    EffectKind,
    as_bounce_class,
    as_delivery_status,
    as_match,
    describe,
)
from outreach_tui.core.states import CounterScope
from outreach_tui.db.repos.leads import lead_id_by_email
from outreach_tui.db.repos.replies import (
    ReplyUnderReview,
    record_reply_effect,
    relabel_reply,
    reply_under_review,
    set_reply_effect,
    set_review,
)
from outreach_tui.engine.context import EngineContext
from outreach_tui.engine.inbox.kind_effects import (
    ALL_KINDS,
    HANDLED_KINDS,
    Acting,
    KindEffects,
    ReplyContext,
)
from outreach_tui.mail.inbound import ReplyKind

#: The counter a reply of this class moved before replies kept it (rows stored before
#: migration 0009): a relabel takes it back.
_COUNTED_BEFORE = {
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
        c = _context(reply_under_review(conn, reply_id))
        if c is None or c.review != "pending":
            return False
        by = Acting(operator_id)
        self.kinds.suppress(conn, c, now, by)
        set_review(conn, reply_id, "confirmed", handled=True)
        now_done = describe(self.kinds.decide(conn, c, now, suggest=False), c.mailbox_email)
        set_reply_effect(conn, reply_id, f"{now_done} (confirmed by {operator_id})")
        by.audit(
            conn, c, now, "suggestion_confirmed", f"{operator_id} confirmed: suppress {c.affected}"
        )
        return True

    def dismiss(self, conn: Connection, reply_id: int, operator_id: str, now: datetime) -> bool:
        """Drop a pending suggestion: nothing is suppressed."""
        c = _context(reply_under_review(conn, reply_id))
        if c is None or c.review != "pending":
            return False
        set_review(conn, reply_id, "dismissed")
        held = describe(self.kinds.decide(conn, c, now, suggest=True), c.mailbox_email)
        kept = held.replace("suppression suggested", f"not suppressed (dismissed by {operator_id})")
        set_reply_effect(conn, reply_id, kept)
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
        taken back are, the new class's are applied. A stopped or held sequence is not
        restarted: re-enrol the lead."""
        if kind not in ALL_KINDS:
            raise ValueError(f"unknown reply class {kind!r}")
        row = reply_under_review(conn, reply_id)
        c = _context(row)
        if c is None or row is None:
            return False
        old = c.kind
        if old == kind:
            return False
        by = Acting(operator_id)
        counted_on = c.created_at or now
        counted = CounterScope(row.counted) if row.counted else None
        if counted is None and row.report_match is None:
            counted = _COUNTED_BEFORE.get(old)
        self.kinds.events.undo(
            conn, self.kinds.subject(c), kind=old, counted=counted, counted_on=counted_on,
            now=now, operator_id=operator_id, audit=by.sink(conn),
            under_review=c.review == "pending",
        )  # fmt: skip
        report = kind in REPORT_KINDS
        lead_id = c.lead_id
        if lead_id is None and c.affected:  # an unmatched report was tied to no lead
            lead_id = lead_id_by_email(conn, c.affected)
        new = replace(
            c,
            kind=kind,
            lead_id=lead_id,
            bounce_class=None,  # the operator's class decides
            delivery_status=None,
            expired=False,
            sender_at_fault=False,
            match=(c.match or "operator") if report else c.match,
        )
        effects = self.kinds.decide(conn, new, now, suggest=False)
        done = self.kinds.apply(conn, new, effects, now, by, counted_on=counted_on)
        relabel_reply(
            conn,
            reply_id,
            classification=kind,
            classified_by="operator",
            reason=f"relabelled by {operator_id} (was {old})",
            review="confirmed" if c.review == "pending" else c.review,
            handled=kind in HANDLED_KINDS,
        )
        moved = next((e.scope for e in effects if e.kind is EffectKind.COUNT), None)
        klass = {"bounce_hard": "hard", "bounce_soft": "soft"}.get(kind)
        record_reply_effect(
            conn,
            reply_id,
            counted=moved.value if moved is not None else None,
            effect=f"relabelled: {describe(effects, c.mailbox_email)}",
            report_match=(new.match or "unmatched") if report else None,
            bounce_class=klass,
        )
        by.audit(
            conn,
            new,
            now,
            "relabelled",
            f"{operator_id}: {old} → {kind}; applied: {', '.join(done.names) or 'nothing'}",
        )
        return True


def _context(row: ReplyUnderReview | None) -> ReplyContext | None:
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
        bounce_class=as_bounce_class(row.bounce_class),
        delivery_status=as_delivery_status(row.delivery_status),
        expired=bool(row.expired),
        match=as_match(row.report_match),
        enrollment_id=row.campaign_lead_id,
        step=row.step_position,
    )
