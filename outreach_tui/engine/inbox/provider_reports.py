"""Provider event webhooks (SES through SNS, SendGrid, Mailgun) applied through the same
effects as a DSN read from a mailbox: `core.event_effects.decide` says what a `Report` does,
`engine/sending/event_effects.py` carries it out. Only events whose signature the HTTP side
verified get here (outreach_tui/api/webhooks/).

Each event is tied to a send of ours by its Message-ID, else by the latest send to its
recipient within `[replies] report_match_days`; the mailbox that sent it is the one counted
against. A signed event tied to no send of ours still suppresses a dead or complaining
address (the provider saw it), but moves no mailbox's counters. Every applied event is a
`provider_report` event (the console's journal) keyed by the provider's event id, so a
retried webhook is applied once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection

from outreach_tui.core.event_effects import EffectKind, Match, Report, decide
from outreach_tui.core.provider_events import ProviderEvent
from outreach_tui.db.repos.attempts_inbox import (
    ThreadAttempt,
    attempts_by_message_id,
    attempts_sent_to_address,
)
from outreach_tui.db.repos.journal import (
    AuditEntry,
    event_with_key_after,
    write_audits,
    write_event,
)
from outreach_tui.db.repos.leads import lead_id_by_email
from outreach_tui.db.repos.mailboxes import mailbox_by_email
from outreach_tui.engine.context import EngineContext
from outreach_tui.engine.sending.event_effects import AuditSink, EventEffects, EventSubject

#: Effects that need a send of ours (a mailbox to count against, an attempt, a sequence).
_NEED_A_SEND = frozenset(
    {EffectKind.COUNT, EffectKind.MARK_ATTEMPT, EffectKind.HOLD_NEXT_STEP,
     EffectKind.POLICY_REFUSAL, EffectKind.STOP_ENROLLMENT}
)  # fmt: skip
#: How long a provider's event id is remembered against repeats.
DEDUP_DAYS = 60


@dataclass
class ProviderOutcome:
    """What a request's events did."""

    received: int = 0
    applied: int = 0
    duplicates: int = 0
    unmatched: int = 0
    effects: list[str] = field(default_factory=list)


class ProviderReports:
    def __init__(self, ctx: EngineContext, *, events: EventEffects) -> None:
        self.ctx = ctx
        self.events = events

    def apply(self, reports: Sequence[ProviderEvent]) -> ProviderOutcome:
        """Apply verified provider events, all in one transaction."""
        outcome = ProviderOutcome(received=len(reports))
        now = self.ctx.clock.now()
        audits: list[AuditEntry] = []
        with self.ctx.db.write() as conn:
            for event in reports:
                key = event.event_id[:300]
                since = now - timedelta(days=DEDUP_DAYS)
                if event_with_key_after(conn, kind="provider_report", key=key, after=since):
                    outcome.duplicates += 1
                    continue
                names = self._apply_one(conn, event, key, now, audits.append)
                if names is None:
                    outcome.unmatched += 1
                else:
                    outcome.applied += 1
                    outcome.effects.extend(names)
            write_audits(conn, audits)
        return outcome

    def _apply_one(
        self, conn: Connection, e: ProviderEvent, key: str, now: datetime, audit: AuditSink
    ) -> list[str] | None:
        attempt, matched = self._match(conn, e, now)
        mailbox = mailbox_by_email(conn, attempt.sender_email) if attempt else None
        lead_id = attempt.lead_id if attempt else lead_id_by_email(conn, e.recipient)
        context = self.events.context(
            conn,
            mailbox=mailbox.email if mailbox else "",
            address=e.recipient,
            # Signed by the provider: believed even without a send of ours to tie it to.
            matched=matched or "recipient",
            has_lead=lead_id is not None,
            now=now,
            soft=e.bounce_class == "soft",
        )
        report = Report(
            kind=e.kind,
            bounce_class=e.bounce_class,
            delivery_status=e.delivery_status,
            status_code=e.status_code,
        )
        effects = decide(report, context)
        if mailbox is None:
            effects = tuple(x for x in effects if x.kind not in _NEED_A_SEND)
        subject = EventSubject(
            source=f"{e.provider}:{key}"[:300],
            kind=e.bounce_class or e.kind,
            mailbox_email=mailbox.email if mailbox else "",
            mailbox_id=mailbox.id if mailbox else 0,
            address=e.recipient,
            lead_id=lead_id,
            attempt_id=attempt.id if attempt else None,
            enrollment_id=attempt.campaign_lead_id if attempt else None,
            step=attempt.step_position if attempt else None,
            message_id=e.message_id,
            status_code=e.status_code,
            diagnostic=e.diagnostic or None,
            host=e.provider,
        )
        done = self.events.apply(
            conn, effects, subject, now,
            operator_id=f"{e.provider}-webhook", audit=audit,
        )  # fmt: skip
        what = e.bounce_class + " bounce" if e.kind == "bounce" and e.bounce_class else e.kind
        write_event(
            conn, kind="provider_report", severity="info", subject_type="lead",
            subject_id=lead_id, at=now,
            message=f"{e.provider}: {what} for {e.recipient}"
            + (f" ({e.status_code})" if e.status_code else "")
            + (f": {', '.join(done.names)}" if done.names else ": nothing to do")
            + ("" if mailbox else " (no send of ours found)"),
            data={"key": key, "provider": e.provider, "kind": e.kind, "email": e.recipient,
                  "bounce_class": e.bounce_class, "code": e.status_code,
                  "matched": matched, "attempt_id": attempt.id if attempt else None,
                  "effects": done.names},
        )  # fmt: skip
        return done.names if mailbox is not None or done.names else None

    def _match(
        self, conn: Connection, e: ProviderEvent, now: datetime
    ) -> tuple[ThreadAttempt | None, Match | None]:
        if e.message_id:
            found = attempts_by_message_id(conn, [e.message_id])
            for attempt in found:
                if attempt.recipient_email == e.recipient:
                    return attempt, "message_id"
        window = timedelta(days=self.ctx.settings.replies.report_match_days)
        for attempt in attempts_sent_to_address(conn, e.recipient):
            if attempt.sent_at is not None and now - attempt.sent_at <= window:
                return attempt, "recipient"
        return None, None
