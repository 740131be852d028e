"""What a stored inbound message does: its class and context handed to the one decision
(core/event_effects.py `decide`, whose module docstring has the whole table) and carried out
by the one applier (engine/sending/event_effects.py).

In short: a person's reply stops the lead's sequences (not interested and unsubscribe also
suppress the sender, from anyone: compliance first); an out-of-office moves the next step
after the return date; a report (bounce, complaint, provider notification) acts only when it
matches something this mailbox sent (one of our Message-IDs, else a recipient it sent to
within `[replies] report_match_days`): a hard bounce suppresses and counts, a policy refusal
counts and never suppresses, a soft bounce counts a soft-bounce day, a complaint counts and
suppresses; an unmatched report is stored and does nothing, in every mode.

The effects run in the caller's transaction: as a message is applied
(engine/inbox/effects.py), and again when the operator confirms or relabels a reply
(engine/inbox/review.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection

from outreach_tui.core.bounce_rules import BounceClass
from outreach_tui.core.event_effects import (
    HUMAN_KINDS,
    Effect,
    EffectKind,
    HumanReply,
    Match,
    as_delivery_status,
    decide,
    report_event,
)
from outreach_tui.db.repos.journal import AuditEntry, write_audits
from outreach_tui.engine.context import EngineContext
from outreach_tui.engine.inbox.reply_lookups import ChunkLookups
from outreach_tui.engine.sending.event_effects import Done, EventEffects, EventSubject
from outreach_tui.mail.inbound import SUPPRESSING_KINDS

__all__ = [
    "ALL_KINDS",
    "HANDLED_KINDS",
    "HUMAN_KINDS",
    "REVIEWED_KINDS",
    "Acting",
    "KindEffects",
    "ReplyContext",
]

#: Kinds whose suppression SUGGEST mode holds back for review.
REVIEWED_KINDS = SUPPRESSING_KINDS | {"complaint"}
#: Nothing left for the operator to do once stored.
HANDLED_KINDS = frozenset({"auto_reply", "out_of_office", "bounce_hard", "bounce_soft"})
ALL_KINDS: frozenset[str] = HUMAN_KINDS | HANDLED_KINDS | {"complaint"}


@dataclass(frozen=True, slots=True)
class ReplyContext:
    """A stored reply as its effects see it (a message just stored, or one under review)."""

    reply_id: int
    kind: str
    lead_id: int | None
    affected: str | None
    attempt_id: int | None
    mailbox_email: str
    """The mailbox that sent our message (else the one that received the reply): counters."""
    mailbox_id: int
    message_id: str | None
    subject: str | None
    return_date: date | None
    status_code: str | None
    diagnostic: str | None
    review: str | None = None
    created_at: datetime | None = None
    sender_at_fault: bool = False
    bounce_class: BounceClass | None = None
    delivery_status: str | None = None
    expired: bool = False
    match: Match | None = None
    """How a report was tied to a send of this mailbox; None: to nothing (unmatched)."""
    enrollment_id: int | None = None
    step: int | None = None


@dataclass(frozen=True, slots=True)
class Acting:
    """On whose behalf effects are applied, and where their audit rows go: held by the chunk
    being applied (written with its others, `ChunkLookups.flush`) or written at once. Same
    transaction either way."""

    operator_id: str
    chunk: ChunkLookups | None = None

    def sink(self, conn: Connection) -> AuditSinkFor:
        return AuditSinkFor(conn, self.chunk)

    def audit(
        self, conn: Connection, c: ReplyContext, now: datetime, result: str, why: str
    ) -> None:
        self.sink(conn)(
            AuditEntry(
                user_id=self.operator_id,
                policy_result=result,
                reason=f"{why} [reply {c.reply_id}]",
                at=now,
                lead_email=c.affected,
                sender_email=c.mailbox_email,
                subject=c.subject,
                attempt_id=c.attempt_id,
            )
        )


@dataclass(frozen=True, slots=True)
class AuditSinkFor:
    """An audit sink: into the chunk's held rows, or written at once."""

    conn: Connection
    chunk: ChunkLookups | None

    def __call__(self, entry: AuditEntry) -> None:
        if self.chunk is not None:
            self.chunk.audit(entry)
        else:
            write_audits(self.conn, [entry])


def is_report(c: ReplyContext) -> bool:
    """A report about a send (bounce, complaint, delivery report), not a person's reply."""
    return c.kind in ("bounce_hard", "bounce_soft", "complaint") or c.delivery_status is not None


class KindEffects:
    """The inbox's side of the event model: from a reply to its effects, and back."""

    def __init__(self, ctx: EngineContext, *, events: EventEffects) -> None:
        self.settings = ctx.settings
        self.events = events

    def decide(
        self, conn: Connection, c: ReplyContext, now: datetime, *, suggest: bool
    ) -> tuple[Effect, ...]:
        """What reply `c` does (`suggest`: SUGGEST mode holds its suppressions back)."""
        report = report_event(
            c.kind,
            bounce_class=c.bounce_class,
            delivery_status=as_delivery_status(c.delivery_status),
            expired=c.expired,
            status_code=c.status_code,
            sender_at_fault=c.sender_at_fault,
        )
        soft = report is not None and report.bounce_class == "soft"
        context = self.events.context(
            conn, mailbox=c.mailbox_email, address=c.affected, matched=c.match,
            has_lead=c.lead_id is not None, now=now, suggest=suggest, soft=soft,
        )  # fmt: skip
        event = report if report is not None else HumanReply(c.kind, c.return_date)
        return decide(event, context)

    def apply(
        self,
        conn: Connection,
        c: ReplyContext,
        effects: Sequence[Effect],
        now: datetime,
        by: Acting,
        *,
        counted_on: datetime | None = None,
    ) -> Done:
        """Carry out `effects` of reply `c` (the one applier), its audit rows to `by`."""
        return self.events.apply(
            conn, effects, self.subject(c), now, operator_id=by.operator_id,
            audit=by.sink(conn), counted_on=counted_on,
        )  # fmt: skip

    def suppress(self, conn: Connection, c: ReplyContext, now: datetime, by: Acting) -> bool:
        """Apply the suppression reply `c`'s class makes (the operator confirmed it); True
        when the address was not suppressed yet."""
        effects = [
            Effect(EffectKind.SUPPRESS, reason=e.reason, status=e.status)
            for e in self.decide(conn, c, now, suggest=True)
            if e.kind in (EffectKind.SUGGEST_SUPPRESSION, EffectKind.SUPPRESS)
        ]
        done = self.apply(conn, c, effects, now, by)
        return "suppressed" in done.names

    @staticmethod
    def subject(c: ReplyContext) -> EventSubject:
        host = c.affected.rsplit("@", 1)[-1] if c.affected and "@" in c.affected else None
        return EventSubject(
            source=f"reply:{c.reply_id}",
            kind=c.kind,
            mailbox_email=c.mailbox_email,
            mailbox_id=c.mailbox_id,
            address=c.affected,
            lead_id=c.lead_id,
            attempt_id=c.attempt_id,
            enrollment_id=c.enrollment_id,
            step=c.step,
            reply_id=c.reply_id,
            message_id=c.message_id,
            subject=c.subject,
            status_code=c.status_code,
            diagnostic=c.diagnostic,
            host=host,
            return_date=c.return_date,
        )
