"""What each kind of inbound message does once it is stored and threaded.

    interested, not_interested, unsubscribe, wrong_person, other
        a real reply: every sequence of the lead stops (its colleagues' too in campaigns
        that ask for it), lead → replied (unsubscribe: unsubscribed)
    not_interested, unsubscribe
        + the sender is suppressed (reason and source message recorded)
    out_of_office
        * NOT a real reply (counting it as one would end the sequence of a lead who never
          answered): the sequence continues, its next step waits until the day after the
          stated return date (or `[replies] ooo_default_days` when none is stated)
    auto_reply
        * stored and marked handled, nothing else (ticket systems, "we got your mail")
    bounce_hard
        the failed recipient is suppressed, lead → bounced, its sequences stop, and the
        bounce counts against the mailbox that sent the message (`mailbox_bounce` counter:
        the monitor's bounce rate); a 5.7.x refusal (the server refused the sending mailbox,
        not the address) is counted and nothing else
    bounce_soft
        counted (`mailbox_soft_bounce`), nothing suppressed, the sequence goes on
    complaint (ARF)
        counts against the sending mailbox (`mailbox_complaint`: the monitor pauses on
        any), the complainant is suppressed and their sequences stop

(* where sequencers differ: this project's choice.) The effects run in the caller's
transaction: as a message is applied (engine/inbox/effects.py), and again when the operator
confirms or relabels a reply (engine/inbox/review.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Connection

from outreach_tui.core.days import local_day
from outreach_tui.core.states import CounterScope, LeadStatus
from outreach_tui.db.repos.attempts_inbox import mark_attempt_bounced, postpone_unsent_attempts
from outreach_tui.db.repos.campaigns import postpone_enrollments
from outreach_tui.db.repos.counters import increment_counter
from outreach_tui.db.repos.journal import AuditEntry, write_audits, write_event
from outreach_tui.db.repos.leads import set_status_unless_final
from outreach_tui.db.repos.suppression import add_suppression
from outreach_tui.engine.context import EngineContext
from outreach_tui.engine.inbox.reply_lookups import ChunkLookups
from outreach_tui.engine.sending.sequences import stop_lead
from outreach_tui.mail.inbound import SUPPRESSING_KINDS

#: A person answered: the sequence stops.
HUMAN_KINDS = frozenset({"interested", "not_interested", "unsubscribe", "wrong_person", "other"})
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


@dataclass(frozen=True, slots=True)
class Acting:
    """On whose behalf effects are applied, and where their audit rows go: held by the chunk
    being applied (written with its others, `ChunkLookups.flush`) or written at once. Same
    transaction either way."""

    operator_id: str
    chunk: ChunkLookups | None = None

    def audit(
        self, conn: Connection, c: ReplyContext, now: datetime, result: str, why: str
    ) -> None:
        entry = AuditEntry(
            user_id=self.operator_id,
            policy_result=result,
            reason=f"{why} [reply {c.reply_id}]",
            at=now,
            lead_email=c.affected,
            sender_email=c.mailbox_email,
            subject=c.subject,
            attempt_id=c.attempt_id,
        )
        if self.chunk is not None:
            self.chunk.audit(entry)
        else:
            write_audits(conn, [entry])


class KindEffects:
    """Applies the effects of a reply's kind. Holds only the settings: safe to share."""

    def __init__(self, ctx: EngineContext) -> None:
        self.settings = ctx.settings

    def apply(
        self,
        conn: Connection,
        c: ReplyContext,
        now: datetime,
        by: Acting,
        *,
        suppress: bool,
        count: bool,
    ) -> list[str]:
        """The effects of reply `c`'s kind (`suppress`: its suppression too; `count`: its
        counter too); what was done, as the names `Applied.effects` lists."""
        done: list[str] = []
        day = local_day(now, self.settings.tz)

        def note(result: str, why: str) -> None:
            by.audit(conn, c, now, result, why)

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
                operator_id=by.operator_id,
                now=now,
                lead_status=status,
                company_wide=True,
            )
            note(
                "sequence_stopped",
                f"{c.kind.replace('_', ' ')} reply: {stopped} sequence(s) stopped",
            )
            done.append("sequence_stopped")
        if c.kind == "out_of_office" and c.lead_id is not None:
            resume = self._resume_at(c.return_date, now)
            # Out of office: the lead's next step (planned or queued) waits until `resume`.
            moved = postpone_enrollments(conn, c.lead_id, resume, now)
            moved += postpone_unsent_attempts(conn, c.lead_id, resume, now)
            note(
                "rescheduled",
                f"out of office: next step not before {resume:%Y-%m-%d %H:%M} UTC ({moved} moved)",
            )
            done.append("rescheduled")
        if c.kind == "bounce_hard":
            if count:
                increment_counter(conn, CounterScope.MAILBOX_BOUNCE, c.mailbox_email, day)
                write_event(
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
                    operator_id=by.operator_id,
                    now=now,
                    lead_status=LeadStatus.BOUNCED,
                )
                if c.attempt_id is not None:
                    detail = f"DSN {c.status_code or ''} {c.diagnostic or ''}"[:1000]
                    mark_attempt_bounced(conn, c.attempt_id, detail, now)
                note("bounce", f"hard bounce {c.status_code or ''}".strip())
                done.append("lead_bounced")
        if c.kind == "bounce_soft" and count:
            increment_counter(conn, CounterScope.MAILBOX_SOFT_BOUNCE, c.mailbox_email, day)
            note("bounce", f"soft bounce {c.status_code or ''}".strip())
            done.append("soft_bounce_counted")
        if c.kind == "complaint":
            if count:
                increment_counter(conn, CounterScope.MAILBOX_COMPLAINT, c.mailbox_email, day)
                write_event(
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
                note("complaint", "spam complaint (feedback loop)")
                done.append("complaint_counted")
            if c.lead_id is not None:
                stop_lead(
                    conn,
                    lead_id=c.lead_id,
                    reason="spam complaint",
                    operator_id=by.operator_id,
                    now=now,
                )
                done.append("sequence_stopped")
        if (
            suppress
            and c.affected
            and c.kind in REVIEWED_KINDS
            and not c.sender_at_fault
            and self.suppress(conn, c, now, by)
        ):
            done.append("suppressed")
        return done

    def suppress(self, conn: Connection, c: ReplyContext, now: datetime, by: Acting) -> bool:
        """Suppress the address reply `c` is about (and set its lead's final status); True
        when the address was not suppressed yet."""
        reason = {
            "not_interested": "replied: not interested",
            "unsubscribe": "replied: unsubscribe",
            "bounce_hard": f"hard bounce {c.status_code or ''}".strip(),
            "complaint": "spam complaint",
        }[c.kind]
        assert c.affected is not None
        added = add_suppression(
            conn,
            kind="address",
            value=c.affected,
            reason=f"{reason} (message {c.message_id or 'without Message-ID'})"[:300],
            source=f"reply:{c.reply_id}",
            at=now,
            created_by=by.operator_id,
        )
        status = {
            "unsubscribe": LeadStatus.UNSUBSCRIBED,
            "bounce_hard": LeadStatus.BOUNCED,
        }.get(c.kind, LeadStatus.SUPPRESSED)
        if c.kind != "not_interested":
            set_status_unless_final(conn, c.affected, status, now)
        if added:
            by.audit(
                conn, c, now, "suppressed", f"address {c.affected} added to suppression: {reason}"
            )
        return added

    def _resume_at(self, return_date: date | None, now: datetime) -> datetime:
        if return_date is None:
            return now + timedelta(days=self.settings.replies.ooo_default_days)
        # The day after they are back, from its start in the operator's timezone: the
        # campaign's window decides the hour.
        try:
            start = datetime.combine(return_date + timedelta(days=1), time(0), self.settings.tz)
            return max(start.astimezone(UTC), now)
        except OverflowError:  # "back on 31 December 9999": no date a datetime holds
            return now + timedelta(days=self.settings.replies.ooo_default_days)
