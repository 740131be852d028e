"""What an event does: one pure decision for everything that comes back about a send.

Three kinds of event reach it:

- `SendRefusal`: the server's final refusal of a send at SMTP time (the pipeline's outcome);
- `Report`: a delivery status notification, a spam complaint (ARF, a provider's complaint
  mail) or a provider's notification, about a message the server had accepted earlier (the
  reply inbox reads them from mail; an HTTP webhook hands its notifications in the same way);
- `HumanReply`: what a person (or their out-of-office) answered.

`decide(event, context)` gives the effects as values; engine/sending/event_effects.py is the
one module that carries them out (for the pipeline, the dispatcher, the reply inbox and the
operator's review alike). Nothing here reads a clock or a database: what the decision needs to
know (whether the report matches a send of ours, the lead, the replies mode, the address's
soft-bounce days so far) comes in the context.

The rules:

============================  ==========================================================
event                         effects
============================  ==========================================================
refusal, hard                 suppress the address (lead bounced), stop its sequences,
                              count ``mailbox_bounce`` (an attempt and a failure)
refusal, policy               count ``mailbox_policy`` (an attempt and a failure), record
                              the refusal (a burst alerts), stop this sequence; never
                              suppresses: the receiver refused *us*, not the address
refusal, soft                 count ``mailbox_soft_bounce``, a soft-bounce day for the
                              address (the Nth separate day suppresses), stop this sequence
report, unmatched             nothing (stored, shown as "unmatched report"): a report that
                              names no message and no recipient this mailbox sent is not
                              believed, in any mode
report, delay notice          nothing: delivery is still being tried
report, delivered/relayed     nothing
report, hard                  suppress (SUGGEST: suggest), lead bounced, stop its sequences,
                              count ``mailbox_bounce_report`` (a failure, not an attempt:
                              the send was counted when the server accepted it)
report, policy                count ``mailbox_policy_report``, record the refusal; the
                              message never arrived: the next step is held
report, soft                  count ``mailbox_soft_bounce``, a soft-bounce day (the Nth
                              suppresses); the message never arrived: the next step is held
complaint                     count ``mailbox_complaint`` (the monitor pauses on it),
                              suppress the complainant (SUGGEST: suggest), stop sequences
reply: interested, wrong      stop every sequence of the lead (company-wide where the
person, other                 campaign asks), lead replied
reply: not interested,        the same, and suppress the sender (SUGGEST: suggest);
unsubscribe                   unsubscribe: lead unsubscribed. Honoured from anyone: a
                              person asking to be left alone is never "unmatched"
out of office                 the next step waits until after the return date
auto-reply                    nothing
============================  ==========================================================

Held, not re-threaded: a follow-up whose first message never arrived would go out as a "Re:"
to nothing; the enrollment waits (`held`, with the reason) for the operator, who sees it in
`outreach-tui leads why` and the Inbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Literal

from outreach_tui.core.bounce_rules import BounceClass, classify
from outreach_tui.core.states import CounterScope, ErrorClass, LeadStatus

#: How a report was tied to something this mailbox sent: one of our Message-IDs, a recipient
#: it sent to lately, the attempt itself (SMTP time), or the operator's word (a relabel).
Match = Literal["message_id", "recipient", "attempt", "operator"]
ReportKind = Literal["bounce", "complaint", "delivery"]
DeliveryStatus = Literal["failed", "delayed", "delivered"]

#: A person answered: the sequence stops.
HUMAN_KINDS = frozenset({"interested", "not_interested", "unsubscribe", "wrong_person", "other"})
#: A person asked not to be written to: suppressed, from anyone.
REFUSING_KINDS = frozenset({"not_interested", "unsubscribe"})
#: Reply kinds that are reports about a send (matched before they act).
REPORT_KINDS = frozenset({"bounce_hard", "bounce_soft", "complaint"})
#: SMTP-time classes whose refusal is about this recipient or this message (the rest are the
#: mailbox's trouble or a retry).
REFUSALS = frozenset({ErrorClass.HARD_BOUNCE, ErrorClass.REJECTED_MESSAGE})


# -- events -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SendRefusal:
    """A send that ended without a 250: `error_class` as the transport read it, the reply's
    code and text. `failed_reason` is what the operator reads when its sequence stops."""

    error_class: ErrorClass
    code: int | None
    text: str
    failed_reason: str = "send failed"

    @property
    def bounce_class(self) -> BounceClass | None:
        return refusal_class(self.error_class, self.code, self.text)


@dataclass(frozen=True, slots=True)
class Report:
    """A report about a send the server accepted: a bounce (hard, soft or policy), a
    complaint, or a delivery report (delivered, relayed)."""

    kind: ReportKind
    bounce_class: BounceClass | None = None
    delivery_status: DeliveryStatus | None = None
    expired: bool = False
    """Returned because retries ran out: the message never arrived."""
    status_code: str | None = None


@dataclass(frozen=True, slots=True)
class HumanReply:
    kind: str
    """interested, not_interested, unsubscribe, wrong_person, other, out_of_office, auto_reply"""
    return_date: date | None = None


Event = SendRefusal | Report | HumanReply


@dataclass(frozen=True, slots=True)
class EventContext:
    """What the decision needs to know beyond the event."""

    mailbox: str
    """The mailbox that sent our message (its counters); else the one that received it."""
    address: str | None
    """Whom the event is about: the refused or bounced recipient, the complainant, the
    sender of a reply."""
    matched: Match | None
    """How the event was tied to a send of this mailbox; None: to nothing."""
    has_lead: bool = False
    suggest: bool = False
    """`[replies] mode = "suggest"`: suppressions from the inbox wait for the operator."""
    soft_days: int = 0
    """Separate local days the address soft-bounced on before this event (today included
    when `soft_today`)."""
    soft_today: bool = False
    soft_bounce_days: int = 3
    """`[replies] soft_bounce_days`: on this many separate days, a soft bounce suppresses."""


# -- effects ----------------------------------------------------------------------------------


class EffectKind(StrEnum):
    SUPPRESS = "suppress"
    """The address goes on the suppression list; `status`: the lead's final status."""
    SUGGEST_SUPPRESSION = "suggest_suppression"
    """SUGGEST mode: the suppression waits for the operator in the Inbox."""
    STOP_SEQUENCES = "stop_sequences"
    """Every sequence of the lead stops (`company_wide`: its colleagues' too, in campaigns
    that ask for it); `status`: the lead's new status unless it is final already."""
    STOP_ENROLLMENT = "stop_enrollment"
    """Only the sequence the send belonged to stops."""
    HOLD_NEXT_STEP = "hold_next_step"
    """The send's sequence waits for the operator: its message never arrived."""
    COUNT = "count"
    """A daily counter (`scope`) of the sending mailbox goes up by one."""
    SOFT_DAY = "soft_day"
    """The address soft-bounced today (kept per address and local day)."""
    RESCHEDULE = "reschedule"
    """Out of office: the lead's next step waits until after the return date."""
    MARK_ATTEMPT = "mark_attempt"
    """The ledger notes what a report says became of the accepted send (`error_class`)."""
    POLICY_REFUSAL = "policy_refusal"
    """A policy refusal is recorded against the mailbox (the monitor alerts on a burst)."""
    NOTHING = "nothing"
    """Stored, nothing else (`reason` says why)."""


@dataclass(frozen=True, slots=True)
class Effect:
    kind: EffectKind
    reason: str = ""
    scope: CounterScope | None = None
    status: LeadStatus | None = None
    company_wide: bool = False
    error_class: ErrorClass | None = None


def _count(scope: CounterScope) -> Effect:
    return Effect(EffectKind.COUNT, scope=scope)


def _nothing(why: str) -> tuple[Effect, ...]:
    return (Effect(EffectKind.NOTHING, reason=why),)


def refusal_class(error_class: ErrorClass, code: int | None, text: str) -> BounceClass | None:
    """The class of a permanent refusal at SMTP time, by the words of the reply first (as a
    report's, core/bounce_rules.py), so a "552 5.2.2 mailbox full" at RCPT is soft and a
    "550 5.7.1 blocked using zen.spamhaus.org" is policy; None for what is not a refusal
    of this recipient or message."""
    if error_class not in REFUSALS:
        return None
    words = f"{code} {text}" if code is not None else text
    return classify(words, transient=False).bounce_class


def decide(event: Event, ctx: EventContext) -> tuple[Effect, ...]:
    """The effects of `event` (see the module docstring's table)."""
    if isinstance(event, SendRefusal):
        return _refusal(event, ctx)
    if isinstance(event, Report):
        return _report(event, ctx)
    return _reply(event, ctx)


def _soft(ctx: EventContext, reason: str) -> list[Effect]:
    """A soft bounce of the address today: counted, its day kept, and on the Nth separate
    day, suppressed."""
    out = [_count(CounterScope.MAILBOX_SOFT_BOUNCE), Effect(EffectKind.SOFT_DAY, reason=reason)]
    days = ctx.soft_days + (0 if ctx.soft_today else 1)
    if ctx.address and days >= ctx.soft_bounce_days:
        why = f"soft bounces on {days} separate days"
        out.append(_suppress(ctx, why, LeadStatus.BOUNCED, reviewed=False))
        out.append(Effect(EffectKind.STOP_SEQUENCES, reason=why, status=LeadStatus.BOUNCED))
    return out


def _suppress(
    ctx: EventContext, reason: str, status: LeadStatus | None, *, reviewed: bool
) -> Effect:
    kind = EffectKind.SUGGEST_SUPPRESSION if reviewed and ctx.suggest else EffectKind.SUPPRESS
    return Effect(kind, reason=reason, status=status)


def _refusal(event: SendRefusal, ctx: EventContext) -> tuple[Effect, ...]:
    klass = event.bounce_class
    stop = Effect(EffectKind.STOP_ENROLLMENT, reason=event.failed_reason)
    if klass is None:
        return (stop,)
    said = f"{event.code or ''} {event.text}".strip()
    if klass == "hard":
        return (
            _suppress(ctx, f"hard bounce: {said}", LeadStatus.BOUNCED, reviewed=False),
            Effect(EffectKind.STOP_SEQUENCES, reason="hard bounce", status=LeadStatus.BOUNCED),
            _count(CounterScope.MAILBOX_BOUNCE),
        )
    if klass == "policy":
        return (
            _count(CounterScope.MAILBOX_POLICY),
            Effect(EffectKind.POLICY_REFUSAL, reason=said),
            stop,
        )
    return (*_soft(ctx, said), stop)


def _report(event: Report, ctx: EventContext) -> tuple[Effect, ...]:
    if ctx.matched is None:
        return _nothing("unmatched report")
    if event.delivery_status == "delayed":
        return _nothing("delay notice: still being tried")
    if event.kind == "delivery" or event.delivery_status == "delivered":
        return _nothing("delivery report")
    if event.kind == "complaint":
        out = [_count(CounterScope.MAILBOX_COMPLAINT)]
        if ctx.has_lead:
            out.append(Effect(EffectKind.STOP_SEQUENCES, reason="spam complaint"))
        if ctx.address:
            out.append(_suppress(ctx, "spam complaint", LeadStatus.SUPPRESSED, reviewed=True))
        return tuple(out)
    code = event.status_code or ""
    if event.bounce_class == "hard":
        reason = f"hard bounce {code}".strip()
        out = [_count(CounterScope.MAILBOX_BOUNCE_REPORT)]
        if ctx.has_lead:
            out.append(
                Effect(
                    EffectKind.STOP_SEQUENCES, reason="hard bounce (DSN)", status=LeadStatus.BOUNCED
                )
            )
        out.append(Effect(EffectKind.MARK_ATTEMPT, reason, error_class=ErrorClass.HARD_BOUNCE))
        if ctx.address:
            out.append(_suppress(ctx, reason, LeadStatus.BOUNCED, reviewed=True))
        return tuple(out)
    # Policy or soft: the address is fine, the message did not arrive.
    undelivered = "returned undelivered" + (" (expired in the queue)" if event.expired else "")
    said = f"{undelivered} {code}".strip()
    held = [
        Effect(EffectKind.MARK_ATTEMPT, said, error_class=ErrorClass.UNDELIVERED),
        Effect(EffectKind.HOLD_NEXT_STEP, reason=said),
    ]
    if event.bounce_class == "policy":
        return (
            _count(CounterScope.MAILBOX_POLICY_REPORT),
            Effect(EffectKind.POLICY_REFUSAL, reason=f"policy refusal {code}".strip()),
            *held,
        )
    return (*_soft(ctx, f"soft bounce {code}".strip()), *held)


def _reply(event: HumanReply, ctx: EventContext) -> tuple[Effect, ...]:
    kind = event.kind
    if kind == "out_of_office":
        return (Effect(EffectKind.RESCHEDULE),) if ctx.has_lead else _nothing("out of office")
    if kind not in HUMAN_KINDS:
        return _nothing("automatic reply")
    out: list[Effect] = []
    words = kind.replace("_", " ")
    if ctx.has_lead:
        unsubscribed = kind == "unsubscribe" and not ctx.suggest
        out.append(
            Effect(
                EffectKind.STOP_SEQUENCES,
                reason=f"reply: {words}",
                status=LeadStatus.UNSUBSCRIBED if unsubscribed else LeadStatus.REPLIED,
                company_wide=True,
            )
        )
    if kind in REFUSING_KINDS and ctx.address:
        status = LeadStatus.UNSUBSCRIBED if kind == "unsubscribe" else None
        out.append(_suppress(ctx, f"replied: {words}", status, reviewed=True))
    return tuple(out)


# -- what the operator reads ------------------------------------------------------------------


def describe(effects: Sequence[Effect], mailbox: str) -> str:
    """The effects in a few words for the Inbox: "suppressed, sequence stopped, counted
    against alex@…", "nothing: unmatched report"."""
    words: list[str] = []
    for effect in effects:
        kind = effect.kind
        if kind is EffectKind.SUPPRESS:
            words.append("suppressed")
        elif kind is EffectKind.SUGGEST_SUPPRESSION:
            words.append("suppression suggested")
        elif kind in (EffectKind.STOP_SEQUENCES, EffectKind.STOP_ENROLLMENT):
            words.append("sequence stopped")
        elif kind is EffectKind.HOLD_NEXT_STEP:
            words.append("next step held")
        elif kind is EffectKind.COUNT and effect.scope is not CounterScope.MAILBOX_SOFT_BOUNCE:
            words.append(f"counted against {mailbox}")
        elif kind is EffectKind.SOFT_DAY:
            words.append(f"soft bounce counted against {mailbox}")
        elif kind is EffectKind.RESCHEDULE:
            words.append("next step after the return")
        elif kind is EffectKind.NOTHING:
            words.append(f"nothing: {effect.reason}")
    return ", ".join(dict.fromkeys(words)) or "nothing"


def report_event(
    kind: str,
    *,
    bounce_class: BounceClass | None,
    delivery_status: DeliveryStatus | None,
    expired: bool,
    status_code: str | None,
    sender_at_fault: bool = False,
) -> Report | None:
    """The `Report` a classified inbound message is (None: it is a person's reply). A
    report's class comes from the parser; without one (a relabel by the operator, an old
    row), the kind decides: `bounce_hard` is hard (policy when the sender was at fault),
    `bounce_soft` soft."""
    if kind == "complaint":
        return Report("complaint")
    if kind in ("bounce_hard", "bounce_soft"):
        klass: BounceClass = bounce_class or (
            "soft" if kind == "bounce_soft" else "policy" if sender_at_fault else "hard"
        )
        return Report("bounce", klass, delivery_status, expired, status_code)
    if delivery_status == "delivered":
        return Report("delivery", None, delivery_status)
    return None


_BOUNCE_CLASSES: dict[str, BounceClass] = {"hard": "hard", "soft": "soft", "policy": "policy"}
_STATUSES: dict[str, DeliveryStatus] = {
    "failed": "failed",
    "delayed": "delayed",
    "delivered": "delivered",
}
_MATCHES: dict[str, Match] = {
    "message_id": "message_id",
    "recipient": "recipient",
    "attempt": "attempt",
    "operator": "operator",
}


def as_bounce_class(value: str | None) -> BounceClass | None:
    """A stored class back as its type (None for anything else)."""
    return _BOUNCE_CLASSES.get(value or "")


def as_delivery_status(value: str | None) -> DeliveryStatus | None:
    """A stored delivery status back as its type (None for anything else)."""
    return _STATUSES.get(value or "")


def as_match(value: str | None) -> Match | None:
    """A stored match back as its type (None: unmatched, or never a report)."""
    return _MATCHES.get(value or "")
