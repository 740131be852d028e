"""What an inbound message does: stored, threaded to our attempt, and its effects applied.

`ReplyEffects.apply` runs inside ONE write transaction of the caller (the poller, the
sandbox): the reply row, every effect and its audit rows commit together with the IMAP
cursor, or none of them does. Applying the same message twice is impossible by
construction: the reply's (mailbox, folder, UIDVALIDITY, UID) is unique, and a message
already stored under another location (a re-scan after a UIDVALIDITY change) is found by its
Message-ID (or, without one, the SHA-256 of its bytes) and only moved. Storing and threading
are engine/inbox/storing.py; what each kind of message does (stop the sequence, suppress,
postpone, count a bounce or a complaint) is engine/inbox/kind_effects.py.

What a message does is decided once (core/event_effects.py) from its class and whether it
matches something this mailbox sent, then carried out by engine/sending/event_effects.py. A
bounce or complaint that matches nothing is stored as an "unmatched report" and does nothing.
The reply row keeps what was decided: the report's class, how it was matched, the counter it
moved and its effects in words (the Inbox shows them).

In SUGGEST mode (`[replies] mode`) the suppressions wait: the reply is marked
`review = "pending"` and a `suppression_suggestion` event names it; the operator confirms
or relabels it (engine/inbox/review.py). Everything else (stopping a sequence, counting a
bounce) happens in both modes: stopping is the safe direction and counts are facts.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import Connection

from outreach_tui.core.event_effects import EffectKind, describe
from outreach_tui.db.repos.journal import AuditEntry
from outreach_tui.engine.context import EngineContext
from outreach_tui.engine.inbox.kind_effects import (
    HANDLED_KINDS,
    Acting,
    KindEffects,
    ReplyContext,
)
from outreach_tui.engine.inbox.reply_lookups import ChunkLookups, bracketed, clean
from outreach_tui.engine.inbox.storing import (
    Applied,
    InboundMessage,
    already_here,
    base_subject,
    message_digest,
    move_if_stored,
    reply_subject,
    store,
    thread,
)
from outreach_tui.mail.inbound import InboundAnalysis

# What the console, the sandbox and the tests import from here.
__all__ = ["Applied", "InboundMessage", "ReplyEffects", "base_subject", "reply_subject"]


class ReplyEffects:
    """Applies inbound messages. Holds the settings (and, on the thread running
    `apply_many`, that chunk's lookups): safe to share."""

    def __init__(self, ctx: EngineContext, *, kinds: KindEffects) -> None:
        self.settings = ctx.settings
        self.operator_id = ctx.operator_id
        self.kinds = kinds
        self._local = threading.local()

    # -- the poller's entry points ------------------------------------------------------------

    def apply_many(
        self,
        conn: Connection,
        items: Sequence[tuple[InboundMessage, InboundAnalysis]],
        now: datetime,
    ) -> list[Applied]:
        """`apply` for several messages of one mailbox in the caller's transaction: what they
        need to read is read once for all of them, their audit rows are written together."""
        if not items:
            return []
        lookups = self._lookups(conn, items)
        self._local.lookups = lookups
        try:
            # Through `self.apply`, message by message, in order: exactly what applying them
            # one after the other in this transaction would do.
            out = [self.apply(conn, message, analysis, now) for message, analysis in items]
        finally:
            self._local.lookups = None
        lookups.flush(conn)
        return out

    def apply(
        self, conn: Connection, message: InboundMessage, analysis: InboundAnalysis, now: datetime
    ) -> Applied:
        """Store the message and apply its effects, in the caller's transaction."""
        lookups: ChunkLookups | None = getattr(self._local, "lookups", None)
        if lookups is not None:
            return self._apply(
                conn, lookups, message, analysis, now, Acting(self.operator_id, lookups)
            )
        lookups = self._lookups(conn, [(message, analysis)])
        # Alone, its effects' audit rows are written as they are made (`Acting` without a
        # chunk); the rows of its arrival are the lookups', written by `flush`.
        applied = self._apply(conn, lookups, message, analysis, now, Acting(self.operator_id))
        lookups.flush(conn)
        return applied

    @staticmethod
    def _lookups(
        conn: Connection, items: Sequence[tuple[InboundMessage, InboundAnalysis]]
    ) -> ChunkLookups:
        mailboxes = {message.mailbox_id for message, _ in items}
        if len(mailboxes) != 1:
            raise ValueError("apply_many takes the messages of one mailbox")
        return ChunkLookups.load(
            conn,
            mailboxes.pop(),
            [
                (m.folder, m.uidvalidity, m.uid, bracketed(a.message_id), message_digest(m.raw))
                for m, a in items
            ],
            [a for _, a in items],
        )

    def _apply(
        self,
        conn: Connection,
        lookups: ChunkLookups,
        message: InboundMessage,
        analysis: InboundAnalysis,
        now: datetime,
        by: Acting,
    ) -> Applied:
        here = already_here(lookups, message)
        if here is not None:
            return here
        digest = message_digest(message.raw)
        message_id = bracketed(analysis.message_id)
        moved = move_if_stored(conn, lookups, message, message_id, digest)
        if moved is not None:
            return moved

        match_days = self.settings.replies.report_match_days
        found = thread(conn, lookups, analysis, now - timedelta(days=match_days))
        affected, attempt = found.affected, found.attempt
        kind = analysis.kind
        attempt_id = attempt.id if attempt is not None else None
        subject = clean(analysis.subject, 500)
        context = ReplyContext(
            reply_id=0,  # known once stored; the decision does not need it
            kind=kind,
            lead_id=found.lead_id,
            affected=affected,
            attempt_id=attempt_id,
            mailbox_email=attempt.sender_email if attempt is not None else lookups.mailbox_email,
            mailbox_id=lookups.mailbox_id,
            message_id=message_id,
            subject=subject,
            return_date=analysis.return_date,
            status_code=analysis.status_code,
            diagnostic=clean(analysis.diagnostic, 500),
            sender_at_fault=analysis.sender_at_fault,
            bounce_class=analysis.bounce_class,
            delivery_status=analysis.delivery_status,
            expired=analysis.expired,
            match=found.match,
            enrollment_id=attempt.campaign_lead_id if attempt is not None else None,
            step=attempt.step_position if attempt is not None else None,
        )
        effects = self.kinds.decide(conn, context, now, suggest=self._suggest)
        suggested = any(e.kind is EffectKind.SUGGEST_SUPPRESSION for e in effects)
        counted = next((e.scope for e in effects if e.kind is EffectKind.COUNT), None)
        reply_id = store(
            conn,
            lookups,
            message,
            analysis,
            found,
            message_id=message_id,
            digest=digest,
            handled=kind in HANDLED_KINDS,
            review="pending" if suggested else None,
            now=now,
            counted=counted.value if counted is not None else None,
            effect=describe(effects, context.mailbox_email),
        )
        lookups.audit(
            AuditEntry(
                user_id=self.operator_id,
                policy_result="reply",
                reason=clean(
                    f"{kind} ({analysis.classified_by}: {analysis.reason})"
                    + (f"; unreadable: {analysis.problem}" if analysis.problem else "")
                    + ("" if found.match or not found.report else "; unmatched report"),
                    600,
                )
                or "",
                at=now,
                lead_email=affected,
                sender_email=lookups.mailbox_email,
                subject=subject,
                attempt_id=attempt_id,
            )
        )
        done = self.kinds.apply(conn, replace(context, reply_id=reply_id), effects, now, by)
        return Applied(reply_id, kind, attempt_id=attempt_id, effects=tuple(done.names))

    @property
    def _suggest(self) -> bool:
        return self.settings.replies.mode == "suggest"
