"""What an inbound message does: stored, threaded to our attempt, and its effects applied.

`ReplyEffects.apply` runs inside ONE write transaction of the caller (the poller, the
sandbox): the reply row, every effect and its audit rows commit together with the IMAP
cursor, or none of them does. Applying the same message twice is impossible by
construction: the reply's (mailbox, folder, UIDVALIDITY, UID) is unique, and a message
already stored under another location (a re-scan after a UIDVALIDITY change) is found by its
Message-ID (or, without one, the SHA-256 of its bytes) and only moved.

Effects, by kind (decisions the issue leaves open are marked *):
    interested, not_interested, unsubscribe, wrong_person, other
        a real reply: every sequence of the lead stops (its colleagues' too in campaigns
        that ask for it), lead → replied (unsubscribe: unsubscribed)
    not_interested, unsubscribe
        + the sender is suppressed (reason and source message recorded)
    out_of_office
        * NOT a real reply (FACTS.md: sequencers that count it as one lose leads): the
          sequence continues, its next step waits until the day after the stated return
          date (or `[replies] ooo_default_days` when none is stated)
    auto_reply
        * stored and marked handled, nothing else (ticket systems, "we got your mail")
    bounce_hard
        the failed recipient is suppressed, lead → bounced, its sequences stop, and the
        bounce counts against the mailbox that sent the message (`mailbox_bounce` counter:
        the monitor's bounce rate)
    bounce_soft
        counted (`mailbox_soft_bounce`), nothing suppressed, the sequence goes on
    complaint (ARF)
        counts against the sending mailbox (`mailbox_complaint`: the monitor pauses on
        any), the complainant is suppressed and their sequences stop

In SUGGEST mode (`[replies] mode`) the suppressions above wait: the reply is marked
`review = "pending"` and a `suppression_suggestion` event names it; the operator confirms
(`confirm`) or relabels (`relabel`). Everything else (stopping a sequence, counting a
bounce) happens in both modes: stopping is the safe direction and counts are facts.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from outreach_tui.config import Settings
from outreach_tui.core.days import local_day
from outreach_tui.core.states import CounterScope, LeadStatus
from outreach_tui.db import tables as t
from outreach_tui.db.repos.counters import increment_counter
from outreach_tui.engine.inbox.reply_lookups import (
    INSERT_AUDIT,
    INSERT_EVENT,
    INSERT_REPLY,
    INSERT_SUPPRESSION,
    MARK_ATTEMPT_BOUNCED,
    MOVE_REPLY,
    POSTPONE_ATTEMPTS,
    POSTPONE_ENROLLMENTS,
    SET_LEAD_STATUS_UNLESS_FINAL,
    SUPPRESSION_EXISTS,
    ChunkLookups,
    StoredReply,
    bracketed,
    clean,
)
from outreach_tui.engine.sending.sequences import stop_lead
from outreach_tui.mail.inbound import SUPPRESSING_KINDS, InboundAnalysis, ReplyKind

log = logging.getLogger(__name__)


#: A person answered: the sequence stops.
HUMAN_KINDS = frozenset({"interested", "not_interested", "unsubscribe", "wrong_person", "other"})
#: Kinds whose suppression SUGGEST mode holds back for review.
REVIEWED_KINDS = SUPPRESSING_KINDS | {"complaint"}
#: Nothing left for the operator to do once stored.
HANDLED_KINDS = frozenset({"auto_reply", "out_of_office", "bounce_hard", "bounce_soft"})
ALL_KINDS: frozenset[str] = HUMAN_KINDS | HANDLED_KINDS | {"complaint"}

_RE_PREFIX = re.compile(
    r"^\s*((re|aw|sv|vs|antw|antwort|r|rif|ref|fw|fwd|wg|tr)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A message as the poller found it (or the sandbox made it)."""

    mailbox_id: int
    folder: str
    uidvalidity: int
    uid: int
    raw: bytes
    internaldate: datetime | None = None


@dataclass(frozen=True, slots=True)
class Applied:
    reply_id: int
    kind: str
    duplicate: bool = False
    attempt_id: int | None = None
    effects: tuple[str, ...] = ()


def base_subject(subject: str | None) -> str:
    """The subject without "Re:"/"AW:"/"Fwd:" prefixes, for matching a reply to our send."""
    return _RE_PREFIX.sub("", subject or "").strip().lower()


def reply_subject(subject: str | None) -> str:
    stripped = _RE_PREFIX.sub("", subject or "").strip()
    return f"Re: {stripped}" if stripped else "Re: your message"


class ReplyEffects:
    """Applies inbound messages. Holds the settings (and, on the thread running
    `apply_many`, that chunk's lookups): safe to share."""

    def __init__(self, settings: Settings, operator_id: str) -> None:
        self.settings = settings
        self.operator_id = operator_id
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
            return self._apply(conn, lookups, message, analysis, now)
        lookups = self._lookups(conn, [(message, analysis)])
        applied = self._apply(conn, lookups, message, analysis, now)
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
                (m.folder, m.uidvalidity, m.uid, bracketed(a.message_id), _digest(m.raw))
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
    ) -> Applied:
        location = (message.folder, message.uidvalidity, message.uid)
        here = lookups.at_location.get(location)
        if here is not None:
            return Applied(here.id, here.classification, duplicate=True)
        digest = _digest(message.raw)
        message_id = bracketed(analysis.message_id)
        seen = (
            lookups.by_message_id.get(message_id) if message_id else lookups.by_digest.get(digest)
        )
        if seen is not None:
            # Already applied under an earlier UIDVALIDITY (or a copy of it arrived): point
            # the stored reply at where the message is now, apply nothing again.
            MOVE_REPLY.execute(
                conn,
                {
                    "reply_id": seen.id,
                    "folder": message.folder,
                    "uidvalidity": message.uidvalidity,
                    "uid": message.uid,
                },
            )
            lookups.at_location[location] = seen
            return Applied(seen.id, seen.classification, duplicate=True)

        attempt = lookups.thread(analysis, base_subject)
        affected = _affected_email(analysis, attempt)
        lead_id = attempt.lead_id if attempt is not None else None
        if lead_id is None and affected:
            lead_id = lookups.lead_id(conn, affected)
        kind = analysis.kind
        # A 5.7.x refusal blames the sending mailbox, not the address: count it, suppress
        # nothing.
        blames_sender = kind == "bounce_hard" and analysis.sender_at_fault
        suppressible = kind in REVIEWED_KINDS and affected is not None and not blames_sender
        review = "pending" if self._suggest and suppressible else None
        attempt_id = attempt.id if attempt is not None else None
        subject = clean(analysis.subject, 500)
        reply_id = int(
            INSERT_REPLY.execute(
                conn,
                {
                    "mailbox_id": lookups.mailbox_id,
                    "folder": message.folder,
                    "uidvalidity": message.uidvalidity,
                    "uid": message.uid,
                    "attempt_id": attempt_id,
                    "lead_id": lead_id,
                    "message_id": message_id,
                    "from_email": clean((analysis.from_email or "").strip().lower(), 320) or None,
                    "subject": clean(analysis.subject, 2000),
                    "received_at": _received_at(analysis.received_at, message.internaldate, now),
                    "classification": kind,
                    "classified_by": analysis.classified_by,
                    "return_date": analysis.return_date,
                    "snippet": clean(analysis.snippet, 1000),
                    "raw": message.raw,
                    "handled": kind in HANDLED_KINDS,
                    "created_at": now,
                    "reason": clean(analysis.reason, 500),
                    "problem": clean(analysis.problem, 500),
                    "affected_email": affected,
                    "digest": digest,
                    "review": review,
                },
            ).scalar_one()
        )
        lookups.stored(location, message_id, digest, StoredReply(reply_id, kind))
        lookups.audit(
            _audit_row(
                user_id=self.operator_id,
                policy_result="reply",
                reason=clean(
                    f"{kind} ({analysis.classified_by}: {analysis.reason})"
                    + (f"; unreadable: {analysis.problem}" if analysis.problem else ""),
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
        context = _Context(
            reply_id=reply_id,
            kind=kind,
            lead_id=lead_id,
            affected=affected,
            attempt=attempt,
            mailbox_email=attempt.sender_email if attempt is not None else lookups.mailbox_email,
            mailbox_id=lookups.mailbox_id,
            message_id=message_id,
            subject=subject,
            return_date=analysis.return_date,
            status_code=analysis.status_code,
            diagnostic=analysis.diagnostic,
            sender_at_fault=blames_sender,
        )
        effects = self._effects(conn, context, now, suppress=review is None, count=True)
        if review is not None:
            effects.append("suppression_suggested")
            _event(
                conn,
                kind="suppression_suggestion",
                severity="info",
                subject_type="reply",
                subject_id=reply_id,
                at=now,
                message=f"suggest suppressing {affected}: {kind.replace('_', ' ')}",
                data={"reply_id": reply_id, "kind": kind, "email": affected},
            )
            lookups.audit(
                _audit_row(
                    user_id=self.operator_id,
                    policy_result="suppression_suggested",
                    reason=f"{kind}: waiting for the operator (suggest mode)",
                    at=now,
                    lead_email=affected,
                    sender_email=lookups.mailbox_email,
                    subject=subject,
                    attempt_id=attempt_id,
                )
            )
        return Applied(reply_id, kind, attempt_id=attempt_id, effects=tuple(effects))

    @property
    def _suggest(self) -> bool:
        return self.settings.replies.mode == "suggest"

    # -- effects -------------------------------------------------------------------------------

    def _effects(
        self, conn: Connection, c: _Context, now: datetime, *, suppress: bool, count: bool
    ) -> list[str]:
        done: list[str] = []
        day = local_day(now, self.settings.tz)
        if c.kind in HUMAN_KINDS and c.lead_id is not None:
            status = (
                LeadStatus.UNSUBSCRIBED
                if c.kind == "unsubscribe" and suppress
                else LeadStatus.REPLIED
            )
            stopped = stop_lead(
                conn,
                lead_id=c.lead_id,
                reason=f"reply: {c.kind.replace('_', ' ')}",
                operator_id=self.operator_id,
                now=now,
                lead_status=status,
                company_wide=True,
            )
            self._audit(
                conn,
                c,
                now,
                "sequence_stopped",
                f"{c.kind.replace('_', ' ')} reply: {stopped} sequence(s) stopped",
            )
            done.append("sequence_stopped")
        if c.kind == "out_of_office" and c.lead_id is not None:
            resume = self._resume_at(c.return_date, now)
            moved = _postpone(conn, c.lead_id, resume, now)
            self._audit(
                conn,
                c,
                now,
                "rescheduled",
                f"out of office: next step not before {resume:%Y-%m-%d %H:%M} UTC ({moved} moved)",
            )
            done.append("rescheduled")
        if c.kind == "bounce_hard":
            if count:
                increment_counter(conn, CounterScope.MAILBOX_BOUNCE, c.mailbox_email, day)
                _event(
                    conn,
                    kind="hard_bounce",
                    severity="warning",
                    subject_type="mailbox",
                    subject_id=c.mailbox_id,
                    at=now,
                    message=f"{c.affected or 'a recipient'} bounced ({c.status_code or 'DSN'})"
                    f"{'; suppressed' if suppress and c.affected else ''}",
                    data={"reply_id": c.reply_id, "code": c.status_code},
                )
                done.append("bounce_counted")
            if c.lead_id is not None and not c.sender_at_fault:
                stop_lead(
                    conn,
                    lead_id=c.lead_id,
                    reason="hard bounce (DSN)",
                    operator_id=self.operator_id,
                    now=now,
                    lead_status=LeadStatus.BOUNCED,
                )
                if c.attempt is not None:
                    MARK_ATTEMPT_BOUNCED.execute(
                        conn,
                        {
                            "attempt_id": c.attempt.id,
                            "error_detail": f"DSN {c.status_code or ''} {c.diagnostic or ''}"[
                                :1000
                            ],
                            "updated_at": now,
                        },
                    )
                self._audit(conn, c, now, "bounce", f"hard bounce {c.status_code or ''}".strip())
                done.append("lead_bounced")
        if c.kind == "bounce_soft" and count:
            increment_counter(conn, CounterScope.MAILBOX_SOFT_BOUNCE, c.mailbox_email, day)
            self._audit(conn, c, now, "bounce", f"soft bounce {c.status_code or ''}".strip())
            done.append("soft_bounce_counted")
        if c.kind == "complaint":
            if count:
                increment_counter(conn, CounterScope.MAILBOX_COMPLAINT, c.mailbox_email, day)
                _event(
                    conn,
                    kind="complaint",
                    severity="critical",
                    subject_type="mailbox",
                    subject_id=c.mailbox_id,
                    at=now,
                    message=f"spam complaint about mail from {c.mailbox_email}"
                    f"{f' to {c.affected}' if c.affected else ''}",
                    data={"reply_id": c.reply_id},
                )
                self._audit(conn, c, now, "complaint", "spam complaint (feedback loop)")
                done.append("complaint_counted")
            if c.lead_id is not None:
                stop_lead(
                    conn,
                    lead_id=c.lead_id,
                    reason="spam complaint",
                    operator_id=self.operator_id,
                    now=now,
                )
                done.append("sequence_stopped")
        if (
            suppress
            and c.affected
            and c.kind in REVIEWED_KINDS
            and not c.sender_at_fault
            and self._suppress(conn, c, now)
        ):
            done.append("suppressed")
        return done

    def _suppress(self, conn: Connection, c: _Context, now: datetime) -> bool:
        reason = {
            "not_interested": "replied: not interested",
            "unsubscribe": "replied: unsubscribe",
            "bounce_hard": f"hard bounce {c.status_code or ''}".strip(),
            "complaint": "spam complaint",
        }[c.kind]
        assert c.affected is not None
        added = _add_suppression(
            conn,
            value=c.affected,
            reason=f"{reason} (message {c.message_id or 'without Message-ID'})"[:300],
            source=f"reply:{c.reply_id}",
            at=now,
            created_by=self.operator_id,
        )
        status = {
            "unsubscribe": LeadStatus.UNSUBSCRIBED,
            "bounce_hard": LeadStatus.BOUNCED,
        }.get(c.kind, LeadStatus.SUPPRESSED)
        if c.kind != "not_interested":
            _set_status_unless_final(conn, c.affected, status, now)
        if added:
            self._audit(
                conn, c, now, "suppressed", f"address {c.affected} added to suppression: {reason}"
            )
        return added

    def _resume_at(self, return_date: date | None, now: datetime) -> datetime:
        if return_date is None:
            return now + timedelta(days=self.settings.replies.ooo_default_days)
        # The day after they are back, from its start in the operator's timezone: the
        # campaign's window decides the hour.
        start = datetime.combine(return_date + timedelta(days=1), time(0), self.settings.tz)
        return max(start.astimezone(UTC), now)

    def _audit(self, conn: Connection, c: _Context, now: datetime, result: str, why: str) -> None:
        row = _audit_row(
            user_id=self.operator_id,
            policy_result=result,
            reason=f"{why} [reply {c.reply_id}]",
            at=now,
            lead_email=c.affected,
            sender_email=c.mailbox_email,
            subject=c.subject,
            attempt_id=c.attempt.id if c.attempt is not None else None,
        )
        lookups: ChunkLookups | None = getattr(self._local, "lookups", None)
        if lookups is not None:
            lookups.audit(row)  # written with the chunk's others, same transaction
        else:
            INSERT_AUDIT.execute(conn, row)

    # -- the operator's review -----------------------------------------------------------------

    def confirm(self, conn: Connection, reply_id: int, operator_id: str, now: datetime) -> bool:
        """Apply the suppression a pending suggestion held back. False if none is pending."""
        c = self._context(conn, reply_id)
        if c is None or c.review != "pending":
            return False
        self._as(operator_id)._suppress(conn, c, now)
        if c.kind == "unsubscribe" and c.lead_id is not None:
            _set_status_unless_final(conn, c.affected or "", LeadStatus.UNSUBSCRIBED, now)
        conn.execute(
            update(t.reply).where(t.reply.c.id == reply_id).values(review="confirmed", handled=True)
        )
        self._as(operator_id)._audit(
            conn, c, now, "suggestion_confirmed", f"{operator_id} confirmed: suppress {c.affected}"
        )
        return True

    def dismiss(self, conn: Connection, reply_id: int, operator_id: str, now: datetime) -> bool:
        """Drop a pending suggestion: nothing is suppressed."""
        c = self._context(conn, reply_id)
        if c is None or c.review != "pending":
            return False
        conn.execute(update(t.reply).where(t.reply.c.id == reply_id).values(review="dismissed"))
        self._as(operator_id)._audit(
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
        me = self._as(operator_id)
        old = c.kind
        if old == kind:
            return False
        day = local_day(c.created_at or now, self.settings.tz)
        removed = conn.execute(
            delete(t.suppression).where(t.suppression.c.source == f"reply:{reply_id}")
        ).rowcount
        if removed:
            me._audit(conn, c, now, "unsuppressed", f"{c.affected} removed: was {old}")
        if old in REVIEWED_KINDS | {"bounce_hard"} and c.affected and c.review != "pending":
            undone = LeadStatus.CONTACTED if old == "bounce_hard" else LeadStatus.REPLIED
            conn.execute(
                update(t.lead)
                .where(
                    t.lead.c.email == c.affected,
                    t.lead.c.status.in_(
                        [
                            LeadStatus.UNSUBSCRIBED.value,
                            LeadStatus.SUPPRESSED.value,
                            LeadStatus.BOUNCED.value,
                        ]
                    ),
                )
                .values(status=undone.value, updated_at=now)
            )
        scope = {
            "bounce_hard": CounterScope.MAILBOX_BOUNCE,
            "bounce_soft": CounterScope.MAILBOX_SOFT_BOUNCE,
            "complaint": CounterScope.MAILBOX_COMPLAINT,
        }.get(old)
        if scope is not None:
            increment_counter(conn, scope, c.mailbox_email, day, by=-1)
        new = _replace(c, kind=kind)
        effects = me._effects(conn, new, now, suppress=True, count=True)
        conn.execute(
            update(t.reply)
            .where(t.reply.c.id == reply_id)
            .values(
                classification=kind,
                classified_by="operator",
                reason=f"relabelled by {operator_id} (was {old})",
                review="confirmed" if c.review == "pending" else c.review,
                handled=kind in HANDLED_KINDS,
            )
        )
        me._audit(
            conn,
            new,
            now,
            "relabelled",
            f"{operator_id}: {old} → {kind}; applied: {', '.join(effects) or 'nothing'}",
        )
        return True

    def _as(self, operator_id: str) -> ReplyEffects:
        return self if operator_id == self.operator_id else ReplyEffects(self.settings, operator_id)

    def _context(self, conn: Connection, reply_id: int) -> _Context | None:
        row = conn.execute(
            select(t.reply, t.mailbox.c.email.label("mailbox_email"))
            .join(t.mailbox, t.mailbox.c.id == t.reply.c.mailbox_id)
            .where(t.reply.c.id == reply_id)
        ).first()
        if row is None:
            return None
        attempt = (
            conn.execute(select(t.attempt).where(t.attempt.c.id == row.attempt_id)).first()
            if row.attempt_id is not None
            else None
        )
        return _Context(
            reply_id=row.id,
            kind=row.classification or "other",
            lead_id=row.lead_id,
            affected=row.affected_email,
            attempt=attempt,
            mailbox_email=attempt.sender_email if attempt is not None else row.mailbox_email,
            mailbox_id=row.mailbox_id,
            message_id=row.message_id,
            subject=row.subject,
            return_date=row.return_date,
            status_code=None,
            diagnostic=None,
            review=row.review,
            created_at=row.created_at,
        )


@dataclass(frozen=True, slots=True)
class _Context:
    reply_id: int
    kind: str
    lead_id: int | None
    affected: str | None
    attempt: Any
    mailbox_email: str
    mailbox_id: int
    message_id: str | None
    subject: str | None
    return_date: date | None
    status_code: str | None
    diagnostic: str | None
    review: str | None = None
    created_at: datetime | None = None
    sender_at_fault: bool = False


def _replace(c: _Context, **changes: Any) -> _Context:
    from dataclasses import replace

    return replace(c, **changes)


def _affected_email(analysis: InboundAnalysis, attempt: Any) -> str | None:
    """Whom the effects are about: a bounce's (or complaint's) failed recipient, else the
    sender; our attempt's recipient when the message does not say."""
    if analysis.kind in ("bounce_hard", "bounce_soft", "complaint"):
        if analysis.bounced_recipients:
            return clean(analysis.bounced_recipients[0].strip().lower(), 320)
        return attempt.recipient_email if attempt is not None else None
    if analysis.from_email:
        return clean(analysis.from_email.strip().lower(), 320)
    return attempt.recipient_email if attempt is not None else None


def _set_status_unless_final(
    conn: Connection, email: str, status: LeadStatus, now: datetime
) -> None:
    SET_LEAD_STATUS_UNLESS_FINAL.execute(
        conn, {"for_email": email, "status": status.value, "updated_at": now}
    )


def _postpone(conn: Connection, lead_id: int, resume: datetime, now: datetime) -> int:
    """Out of office: the lead's next step (planned or queued) waits until `resume`."""
    params = {"for_lead": lead_id, "resume": resume, "updated_at": now}
    moved = POSTPONE_ENROLLMENTS.execute(conn, params).rowcount
    moved += POSTPONE_ATTEMPTS.execute(conn, params).rowcount
    return int(moved)


def _add_suppression(
    conn: Connection, *, value: str, reason: str, source: str, at: datetime, created_by: str
) -> bool:
    """`add_suppression` of an address, with prebuilt statements: True when new."""
    value = value.strip().lower()
    if SUPPRESSION_EXISTS.execute(conn, {"kind": "address", "value": value}).first() is not None:
        return False
    INSERT_SUPPRESSION.execute(
        conn,
        {
            "kind": "address",
            "value": value,
            "reason": reason,
            "source": source,
            "created_at": at,
            "created_by": created_by,
        },
    )
    return True


def _audit_row(
    *,
    user_id: str,
    policy_result: str,
    reason: str,
    at: datetime,
    lead_email: str | None,
    sender_email: str | None,
    subject: str | None,
    attempt_id: int | None,
) -> dict[str, Any]:
    """The row `write_audit` writes."""
    return {
        "user_id": user_id,
        "lead_email": lead_email,
        "sender_email": sender_email,
        "subject": subject,
        "policy_result": policy_result,
        "reason": reason,
        "legal_basis": None,
        "timestamp": at,
        "attempt_id": attempt_id,
    }


def _event(
    conn: Connection,
    *,
    kind: str,
    severity: str,
    subject_type: str,
    subject_id: int,
    at: datetime,
    message: str,
    data: dict[str, Any],
) -> None:
    """The row `write_event` writes, with a prebuilt statement."""
    INSERT_EVENT.execute(
        conn,
        {
            "kind": kind,
            "severity": severity,
            "subject_type": subject_type,
            "subject_id": str(subject_id),
            "message": message,
            "data": data,
            "created_at": at,
            "acknowledged": False,
        },
    )


def _digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _received_at(header: str | None, internaldate: datetime | None, now: datetime) -> datetime:
    if header:
        try:
            parsed = parsedate_to_datetime(header)
        except (TypeError, ValueError, IndexError):
            parsed = None
        if parsed is not None:
            return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return internaldate or now
