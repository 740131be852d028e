"""The one place that carries out what an event does (the decision is core/event_effects.py).

Everything that learns how a send ended goes through `EventEffects`: the outcome recorder at
SMTP time (engine/sending/outcomes.py, for campaign steps and one-off sends alike), the reply
inbox for reports and replies (engine/inbox/effects.py) and the operator's confirm, dismiss
and relabel (engine/inbox/review.py, which takes a reply's effects back with `undo` and
applies the new class's here again). So a hard bounce is counted once, in one counter, by one
function, whoever notices it.

It sits in the bottom wing because the send pipeline uses it; the inbox above it hands in an
audit sink (its chunk writes its audit rows together). Everything runs in the caller's
transaction. docs/ARCHITECTURE.md shows where it sits in a send and in a reply.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Connection

from outreach_tui.core.days import local_day
from outreach_tui.core.event_effects import Effect, EffectKind, EventContext, Match
from outreach_tui.core.states import CounterScope, ErrorClass, LeadStatus
from outreach_tui.db.repos.attempts_inbox import mark_attempt_reported, postpone_unsent_attempts
from outreach_tui.db.repos.campaigns import postpone_enrollments
from outreach_tui.db.repos.counters import increment_counter
from outreach_tui.db.repos.enrollments import hold_open_enrollment, stop_enrollment
from outreach_tui.db.repos.journal import AuditEntry, write_event
from outreach_tui.db.repos.leads import set_status_unless_final, undo_final_status
from outreach_tui.db.repos.soft_bounces import (
    record_soft_bounce,
    remove_soft_bounces,
    soft_days,
)
from outreach_tui.db.repos.suppression import add_suppression, remove_suppressions_by_source
from outreach_tui.engine.context import EngineContext
from outreach_tui.engine.sending.sequences import stop_lead, withdraw_unsent

#: Where the audit rows of applied effects go (the inbox's chunk holds them for one write).
AuditSink = Callable[[AuditEntry], None]


@dataclass(frozen=True, slots=True)
class EventSubject:
    """What an event is about, as its effects need it."""

    source: str
    """Names what made the effects (`reply:ID`, `bounce:attempt:ID`): the suppression's
    source and the soft bounce's, so a relabel takes exactly these back."""
    kind: str
    """The event's class in words for the journal: a reply kind, or hard / soft / policy."""
    mailbox_email: str
    """The mailbox that sent our message: its counters."""
    mailbox_id: int
    address: str | None
    lead_id: int | None = None
    attempt_id: int | None = None
    enrollment_id: int | None = None
    step: int | None = None
    reply_id: int | None = None
    message_id: str | None = None
    """The reply's own Message-ID (named in a suppression's reason)."""
    subject: str | None = None
    status_code: str | None = None
    diagnostic: str | None = None
    host: str | None = None
    """Where a refusal came from: our SMTP server at send time, the recipient's domain for a
    report (named by the policy-burst alert)."""
    return_date: date | None = None


@dataclass
class Done:
    """What applying effects did: the names (for `Applied.effects` and the audit trail) and
    the counter moved (stored on the reply, so a relabel takes it back)."""

    names: list[str] = field(default_factory=list)
    counted: CounterScope | None = None


class EventEffects:
    """Carries out `core.event_effects` effects. Holds only the settings: safe to share."""

    def __init__(self, ctx: EngineContext) -> None:
        self.settings = ctx.settings

    # -- the context a decision needs ----------------------------------------------------------

    def context(
        self,
        conn: Connection,
        *,
        mailbox: str,
        address: str | None,
        matched: Match | None,
        has_lead: bool,
        now: datetime,
        suggest: bool = False,
        soft: bool = False,
    ) -> EventContext:
        """The decision's context; `soft`: the event may be a soft bounce, so the address's
        soft-bounce days are read."""
        today = local_day(now, self.settings.tz)
        days = soft_days(conn, address, today) if soft and address else None
        return EventContext(
            mailbox=mailbox,
            address=address,
            matched=matched,
            has_lead=has_lead,
            suggest=suggest,
            soft_days=days.days if days else 0,
            soft_today=days.today if days else False,
            soft_bounce_days=self.settings.replies.soft_bounce_days,
        )

    # -- applying ------------------------------------------------------------------------------

    def apply(
        self,
        conn: Connection,
        effects: Sequence[Effect],
        s: EventSubject,
        now: datetime,
        *,
        operator_id: str,
        audit: AuditSink | None = None,
        counted_on: datetime | None = None,
    ) -> Done:
        """Carry out `effects` about `s`. `audit`: where audit rows go (None: none are
        written, the send path's way); `counted_on`: the moment whose local day the counters
        move on (a relabel counts on the reply's day), now by default."""
        done = Done()
        day = local_day(counted_on or now, self.settings.tz)
        suppressing = any(e.kind is EffectKind.SUPPRESS for e in effects) and bool(s.address)

        def note(result: str, why: str) -> None:
            if audit is not None:
                audit(
                    AuditEntry(
                        user_id=operator_id,
                        policy_result=result,
                        reason=f"{why} [reply {s.reply_id}]" if s.reply_id else why,
                        at=now,
                        lead_email=s.address,
                        sender_email=s.mailbox_email,
                        subject=s.subject,
                        attempt_id=s.attempt_id,
                    )
                )

        for effect in effects:
            kind = effect.kind
            if kind is EffectKind.COUNT and effect.scope is not None:
                increment_counter(conn, effect.scope, s.mailbox_email, day)
                done.counted = effect.scope
                self._counted(conn, effect.scope, s, now, note, done, suppressing)
            elif kind is EffectKind.STOP_SEQUENCES and s.lead_id is not None:
                stopped = stop_lead(
                    conn, lead_id=s.lead_id, reason=effect.reason, operator_id=operator_id,
                    now=now, lead_status=effect.status, company_wide=effect.company_wide,
                )  # fmt: skip
                if effect.company_wide:  # a person's reply
                    note("sequence_stopped", f"{s.kind.replace('_', ' ')} reply: {stopped} "
                         "sequence(s) stopped")  # fmt: skip
                done.names.append("sequence_stopped")
                if effect.status is LeadStatus.BOUNCED:
                    done.names.append("lead_bounced")
            elif kind is EffectKind.STOP_ENROLLMENT and s.enrollment_id is not None:
                stop_enrollment(conn, s.enrollment_id, effect.reason, now)
                done.names.append("sequence_stopped")
            elif kind is EffectKind.HOLD_NEXT_STEP and s.enrollment_id is not None:
                self._hold(conn, effect, s, now, operator_id, note, done)
            elif kind is EffectKind.SUPPRESS and s.address:
                if self._suppress(conn, effect, s, now, operator_id, note):
                    done.names.append("suppressed")
            elif kind is EffectKind.SUGGEST_SUPPRESSION and s.address:
                self._suggest(conn, s, now, operator_id, note)
                done.names.append("suppression_suggested")
            elif kind is EffectKind.SOFT_DAY and s.address:
                record_soft_bounce(conn, s.address, local_day(now, self.settings.tz), s.source, now)
                note("bounce", f"soft bounce {s.status_code or ''}".strip())
                done.names.append("soft_bounce_counted")
            elif kind is EffectKind.RESCHEDULE and s.lead_id is not None:
                resume = self.resume_at(s.return_date, now)
                moved = postpone_enrollments(conn, s.lead_id, resume, now)
                moved += postpone_unsent_attempts(conn, s.lead_id, resume, now)
                note("rescheduled", f"out of office: next step not before "
                     f"{resume:%Y-%m-%d %H:%M} UTC ({moved} moved)")  # fmt: skip
                done.names.append("rescheduled")
            elif kind is EffectKind.MARK_ATTEMPT and s.attempt_id is not None:
                detail = f"{effect.reason}: {s.diagnostic or ''}".strip(": ")[:1000]
                error = effect.error_class.value if effect.error_class else ""
                mark_attempt_reported(conn, s.attempt_id, error, detail, now)
                if effect.error_class is ErrorClass.HARD_BOUNCE:
                    note("bounce", f"hard bounce {s.status_code or ''}".strip())
            elif kind is EffectKind.POLICY_REFUSAL:
                self._policy_refusal(conn, effect, s, now)
                done.names.append("policy_refusal")
        return done

    def _counted(
        self, conn: Connection, scope: CounterScope, s: EventSubject, now: datetime,
        note: Callable[[str, str], None], done: Done, suppressing: bool,
    ) -> None:  # fmt: skip
        """The journal's word on a counted event."""
        code = s.status_code or ""
        if scope in (CounterScope.MAILBOX_BOUNCE, CounterScope.MAILBOX_BOUNCE_REPORT):
            smtp = scope is CounterScope.MAILBOX_BOUNCE
            write_event(
                conn, kind="hard_bounce", severity="warning", subject_type="mailbox",
                subject_id=s.mailbox_id, at=now,
                message=f"{s.address or 'a recipient'} "
                + (f"rejected by the server ({code})" if smtp else f"bounced ({code or 'DSN'})")
                + ("; suppressed" if suppressing else ""),
                data={"attempt_id": s.attempt_id, "reply_id": s.reply_id, "code": code,
                      "email": s.address},
            )  # fmt: skip
            done.names.append("bounce_counted")
        elif scope is CounterScope.MAILBOX_COMPLAINT:
            write_event(
                conn, kind="complaint", severity="critical", subject_type="mailbox",
                subject_id=s.mailbox_id, at=now,
                message=f"spam complaint about mail from {s.mailbox_email}"
                + (f" to {s.address}" if s.address else ""),
                data={"reply_id": s.reply_id, "attempt_id": s.attempt_id, "email": s.address},
            )  # fmt: skip
            note("complaint", "spam complaint (feedback loop)")
            done.names.append("complaint_counted")
        elif scope in (CounterScope.MAILBOX_POLICY, CounterScope.MAILBOX_POLICY_REPORT):
            done.names.append("policy_counted")

    def _suppress(
        self, conn: Connection, effect: Effect, s: EventSubject, now: datetime,
        operator_id: str, note: Callable[[str, str], None],
    ) -> bool:  # fmt: skip
        """The address on the suppression list and its lead's final status; True when the
        address was not suppressed yet."""
        assert s.address is not None
        reason = effect.reason
        if s.reply_id is not None:
            reason = f"{reason} (message {s.message_id or 'without Message-ID'})"
        added = add_suppression(
            conn, kind="address", value=s.address, reason=reason[:300], source=s.source,
            at=now, created_by=operator_id,
        )  # fmt: skip
        if effect.status is not None:
            set_status_unless_final(conn, s.address, effect.status, now)
        if added:
            note("suppressed", f"address {s.address} added to suppression: {effect.reason}")
        return added

    def _suggest(
        self, conn: Connection, s: EventSubject, now: datetime, operator_id: str,
        note: Callable[[str, str], None],
    ) -> None:  # fmt: skip
        """SUGGEST mode: the suppression waits for the operator (engine/inbox/review.py)."""
        write_event(
            conn, kind="suppression_suggestion", severity="info", subject_type="reply",
            subject_id=s.reply_id, at=now,
            message=f"suggest suppressing {s.address}: {s.kind.replace('_', ' ')}",
            data={"reply_id": s.reply_id, "kind": s.kind, "email": s.address},
        )  # fmt: skip
        note("suppression_suggested", f"{s.kind}: waiting for the operator (suggest mode)")

    def _hold(
        self, conn: Connection, effect: Effect, s: EventSubject, now: datetime,
        operator_id: str, note: Callable[[str, str], None], done: Done,
    ) -> None:  # fmt: skip
        """The message never arrived: the sequence waits for the operator instead of sending
        its next step as a "Re:" to it (a queued next step is withdrawn)."""
        assert s.enrollment_id is not None
        step = f"step {s.step} " if s.step is not None else ""
        reason = f"{step}{effect.reason}; next step held (it would answer a message that "
        reason += "never arrived)"
        if hold_open_enrollment(conn, s.enrollment_id, reason, now):
            withdraw_unsent(
                conn, enrollment_ids=[s.enrollment_id], reason=f"sequence held: {reason}",
                operator_id=operator_id, now=now,
            )  # fmt: skip
            note("held", reason)
            done.names.append("next_step_held")

    def _policy_refusal(
        self, conn: Connection, effect: Effect, s: EventSubject, now: datetime
    ) -> None:
        """A policy refusal in the journal, with where it came from: the monitor counts them
        per mailbox and alerts on a burst (engine/guard/policy_burst.py)."""
        where = s.host or "the receiver"
        write_event(
            conn, kind="policy_refusal", severity="warning", subject_type="mailbox",
            subject_id=s.mailbox_id, at=now,
            message=f"{s.mailbox_email}: refused by policy at {where}"
            + (f" ({s.address})" if s.address else "")
            + f": {(s.diagnostic or effect.reason)[:300]}",
            data={"mailbox": s.mailbox_email, "host": where, "code": s.status_code,
                  "recipient": s.address,
                  "diagnostic": (s.diagnostic or effect.reason)[:500],
                  "attempt_id": s.attempt_id, "reply_id": s.reply_id},
        )  # fmt: skip

    # -- taking back (a relabel) ---------------------------------------------------------------

    def undo(
        self,
        conn: Connection,
        s: EventSubject,
        *,
        kind: str,
        counted: CounterScope | None,
        counted_on: datetime,
        now: datetime,
        operator_id: str,
        audit: AuditSink | None = None,
        under_review: bool = False,
    ) -> None:
        """Take back what a reply's effects did that can be taken back: its suppression, the
        final status it gave the lead, its counter, its soft-bounce day. A stopped or held
        sequence is not restarted (the operator re-enrols the lead)."""

        def note(result: str, why: str) -> None:
            if audit is not None:
                audit(
                    AuditEntry(
                        user_id=operator_id, policy_result=result, at=now,
                        reason=f"{why} [reply {s.reply_id}]", lead_email=s.address,
                        sender_email=s.mailbox_email, subject=s.subject, attempt_id=s.attempt_id,
                    )
                )  # fmt: skip

        if remove_suppressions_by_source(conn, s.source):
            note("unsuppressed", f"{s.address} removed: was {kind}")
        suppressing = {"not_interested", "unsubscribe", "bounce_hard", "complaint"}
        if kind in suppressing and s.address and not under_review:
            undone = LeadStatus.CONTACTED if kind == "bounce_hard" else LeadStatus.REPLIED
            undo_final_status(conn, s.address, undone, now)
        if counted is not None:
            day = local_day(counted_on, self.settings.tz)
            increment_counter(conn, counted, s.mailbox_email, day, by=-1)
        remove_soft_bounces(conn, s.source)

    # -- helpers -------------------------------------------------------------------------------

    def resume_at(self, return_date: date | None, now: datetime) -> datetime:
        """When an out-of-office lead's next step may go: the day after they are back, from
        its start in the operator's timezone (the campaign's window decides the hour)."""
        default = now + timedelta(days=self.settings.replies.ooo_default_days)
        if return_date is None:
            return default
        try:
            start = datetime.combine(return_date + timedelta(days=1), time(0), self.settings.tz)
            return max(start.astimezone(UTC), now)
        except OverflowError:  # "back on 31 December 9999": no date a datetime holds
            return default
