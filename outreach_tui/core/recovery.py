"""The recovery state machine of a mailbox: when it pauses, how it walks back, when it relapses.

PAUSED → QUARANTINE (cooldown over) → RESTRICTED_SEND (domain DNS healthy) → WARM_RECOVERY
(enough clean sends) → HEALTHY (enough days under the bounce ceiling). A bounce or complaint
while recovering is a relapse: 1st → QUARANTINE with a doubled cooldown, 2nd → PAUSED 72 h,
3rd and after → PAUSED 7 days and flagged for manual review.

Pure: the engine reads the facts (the mailbox's row and its counters), asks here, and applies
the answer as a compare-and-set on the phase. Nothing here reads a clock or a database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from outreach_tui.core.states import MailboxPhase

TransitionKind = Literal["pause", "progress", "relapse"]

RECOVERING = (MailboxPhase.RESTRICTED_SEND, MailboxPhase.WARM_RECOVERY)


@dataclass(frozen=True, slots=True)
class GuardRules:
    """Every number of the monitor and the recovery ([monitor] in config.toml)."""

    min_sends: int = 20
    warn_rate: float = 0.03
    pause_rate: float = 0.05
    pause_on_complaints: int = 1
    resilience_cost: int = 15
    cooldown_hours: tuple[float, ...] = (24, 72, 168)
    restricted_clean_sends: int = 15
    restricted_clean_sends_repeat: int = 25
    recovery_min_days: float = 3
    recovery_max_rate: float = 0.02
    recovery_min_sends: int = 20

    def cooldown(self, offences: int) -> timedelta:
        """Cooldown of the `offences`-th offence (1-based); the last step holds afterwards."""
        index = min(max(offences, 1), len(self.cooldown_hours)) - 1
        return timedelta(hours=self.cooldown_hours[index])


@dataclass(frozen=True, slots=True)
class Rates:
    """A mailbox's figures over some span (the window, or the phase), each event counted
    once: sends the server accepted, refusals at SMTP time (hard and policy), and reports
    that came back later about accepted sends (hard and policy DSNs), plus complaints.

    The rate the monitor judges is failures / attempts: the attempts are the accepted sends
    and the SMTP-time refusals (a refused send is an attempt that never got a 250); the
    failures are those refusals plus the later reports (a report is about an attempt counted
    already, so it never adds one). Policy refusals are failures like hard bounces: they say
    the receivers refuse this mailbox, which is what the monitor pauses for. Soft bounces
    are not failures (core/event_effects.py)."""

    sent: int = 0
    bounced: int = 0
    """Hard refusals at SMTP time."""
    complaints: int = 0
    policy: int = 0
    """Policy refusals at SMTP time."""
    bounce_reports: int = 0
    """Hard bounces reported later (DSNs) about accepted sends."""
    policy_reports: int = 0
    """Policy refusals reported later about accepted sends."""

    @property
    def attempted(self) -> int:
        """Accepted sends and the sends the server refused at SMTP time."""
        return self.sent + self.bounced + self.policy

    @property
    def failures(self) -> int:
        """Refusals at SMTP time and later reports, hard and policy."""
        return self.bounced + self.policy + self.bounce_reports + self.policy_reports

    @property
    def bounce_rate(self) -> float:
        # A report may come in the window about a send from before it: never above 100 %.
        return min(1.0, self.failures / self.attempted) if self.attempted else 0.0

    def failure_words(self) -> str:
        """The failures in words: `3 hard bounce(s)`, or with policy refusals among them,
        `3 failure(s) (hard bounces and policy refusals)`."""
        if self.policy == 0 and self.policy_reports == 0:
            return f"{self.failures} hard bounce(s)"
        return f"{self.failures} failure(s) (hard bounces and policy refusals)"


@dataclass(frozen=True, slots=True)
class Verdict:
    level: Literal["ok", "warn", "pause"]
    reason: str = ""
    rate: float = 0.0


def assess(window: Rates, rules: GuardRules) -> Verdict:
    """A HEALTHY mailbox's verdict from its window: complaints pause at once; a bounce rate
    above the pause line pauses, above the warning line warns, both only after `min_sends`."""
    rate = window.bounce_rate
    if window.complaints >= rules.pause_on_complaints:
        return Verdict("pause", f"{window.complaints} spam complaint(s)", rate)
    if window.attempted < rules.min_sends:
        return Verdict("ok", rate=rate)
    if rate > rules.pause_rate:
        return Verdict(
            "pause",
            f"bounce rate {rate:.1%} ({window.failures}/{window.attempted}) above "
            f"{rules.pause_rate:.0%}",
            rate,
        )
    if rate > rules.warn_rate:
        return Verdict(
            "warn",
            f"bounce rate {rate:.1%} ({window.failures}/{window.attempted}) above "
            f"{rules.warn_rate:.0%}",
            rate,
        )
    return Verdict("ok", rate=rate)


@dataclass(frozen=True, slots=True)
class MailboxState:
    """What the state machine needs to know about one mailbox."""

    phase: MailboxPhase
    phase_changed_at: datetime | None
    cooldown_until: datetime | None
    offence_count: int
    relapse_count: int
    needs_review: bool
    resilience_score: int


@dataclass(frozen=True, slots=True)
class Transition:
    """One move of the state machine: the new values of the mailbox's health columns."""

    kind: TransitionKind
    from_phase: MailboxPhase
    to_phase: MailboxPhase
    reason: str
    cooldown_until: datetime | None
    offence_count: int
    relapse_count: int
    needs_review: bool
    resilience_score: int

    def describe(self) -> str:
        return f"{self.from_phase.value} → {self.to_phase.value}: {self.reason}"


def pause(state: MailboxState, reason: str, now: datetime, rules: GuardRules) -> Transition:
    """The monitor pauses a HEALTHY mailbox: one more offence, its cooldown, resilience cost."""
    offences = state.offence_count + 1
    cooldown = rules.cooldown(offences)
    return Transition(
        kind="pause",
        from_phase=state.phase,
        to_phase=MailboxPhase.PAUSED,
        reason=f"{reason}; offence {offences}, cooldown {_hours(cooldown)}",
        cooldown_until=now + cooldown,
        offence_count=offences,
        relapse_count=state.relapse_count,
        needs_review=state.needs_review,
        resilience_score=max(0, state.resilience_score - rules.resilience_cost),
    )


def relapse(state: MailboxState, reason: str, now: datetime, rules: GuardRules) -> Transition:
    """A recovering mailbox failed again: 1st relapse → QUARANTINE with the doubled cooldown
    of its offence; 2nd → PAUSED with the second step's cooldown (72 h); 3rd and after →
    PAUSED with the last step (7 days) and flagged for manual review."""
    relapses = state.relapse_count + 1
    steps = len(rules.cooldown_hours)
    if relapses == 1:
        to, cooldown = MailboxPhase.QUARANTINE, 2 * rules.cooldown(state.offence_count)
    elif relapses == 2:
        to, cooldown = MailboxPhase.PAUSED, rules.cooldown(min(2, steps))
    else:
        to, cooldown = MailboxPhase.PAUSED, rules.cooldown(steps)
    review = state.needs_review or relapses >= 3
    return Transition(
        kind="relapse",
        from_phase=state.phase,
        to_phase=to,
        reason=f"relapse {relapses}: {reason}; cooldown {_hours(cooldown)}"
        + ("; needs manual review" if review and not state.needs_review else ""),
        cooldown_until=now + cooldown,
        offence_count=state.offence_count,
        relapse_count=relapses,
        needs_review=review,
        resilience_score=max(0, state.resilience_score - rules.resilience_cost),
    )


def check_relapse(
    state: MailboxState, in_phase: Rates, now: datetime, rules: GuardRules
) -> Transition | None:
    """A relapse of a recovering mailbox, or None. RESTRICTED_SEND must stay clean (any hard
    bounce or complaint relapses: its whole point is 15 clean sends); WARM_RECOVERY relapses
    on a complaint, or on a bounce rate in the phase above the pause line after `min_sends`."""
    if state.phase not in RECOVERING:
        return None
    if in_phase.complaints:
        return relapse(
            state, f"{in_phase.complaints} spam complaint(s) while recovering", now, rules
        )
    if state.phase is MailboxPhase.RESTRICTED_SEND:
        if in_phase.failures:
            return relapse(state, f"{in_phase.failure_words()} in RESTRICTED_SEND", now, rules)
        return None
    if in_phase.attempted >= rules.min_sends and in_phase.bounce_rate > rules.pause_rate:
        return relapse(
            state,
            f"bounce rate {in_phase.bounce_rate:.1%} in WARM_RECOVERY above {rules.pause_rate:.0%}",
            now,
            rules,
        )
    return None


def clean_sends_needed(state: MailboxState, rules: GuardRules) -> int:
    """RESTRICTED_SEND's bar: 15 clean sends, 25 for a repeat offender."""
    repeat = state.offence_count > 1 or state.relapse_count > 0
    return rules.restricted_clean_sends_repeat if repeat else rules.restricted_clean_sends


def next_step(
    state: MailboxState,
    in_phase: Rates,
    *,
    now: datetime,
    dns_healthy: bool,
    rules: GuardRules,
) -> Transition | None:
    """The forward move of a paused or recovering mailbox, or None (stay where it is).

    `in_phase`: sends, bounces and complaints since the phase began. A mailbox flagged for
    review stays PAUSED until an operator resumes it.
    """
    phase = state.phase
    cooling = state.cooldown_until is not None and state.cooldown_until > now

    def move(to: MailboxPhase, reason: str, cooldown: datetime | None = None) -> Transition:
        return Transition(
            kind="progress",
            from_phase=phase,
            to_phase=to,
            reason=reason,
            cooldown_until=cooldown,
            offence_count=state.offence_count,
            relapse_count=state.relapse_count,
            needs_review=state.needs_review,
            resilience_score=state.resilience_score,
        )

    if phase is MailboxPhase.PAUSED:
        if state.needs_review or cooling:
            return None
        # The cooldown is over; QUARANTINE waits for the domain's DNS.
        return move(MailboxPhase.QUARANTINE, "cooldown over")
    if phase is MailboxPhase.QUARANTINE:
        if cooling or not dns_healthy:
            return None
        return move(MailboxPhase.RESTRICTED_SEND, "cooldown over and domain DNS healthy")
    if phase is MailboxPhase.RESTRICTED_SEND:
        needed = clean_sends_needed(state, rules)
        if in_phase.failures or in_phase.complaints or in_phase.sent < needed:
            return None
        return move(MailboxPhase.WARM_RECOVERY, f"{in_phase.sent} clean sends (needed {needed})")
    if phase is MailboxPhase.WARM_RECOVERY:
        started = state.phase_changed_at
        if started is None or now - started < timedelta(days=rules.recovery_min_days):
            return None
        if in_phase.attempted < rules.recovery_min_sends or in_phase.complaints:
            return None
        if not in_phase.bounce_rate < rules.recovery_max_rate:
            return None
        return move(
            MailboxPhase.HEALTHY,
            f"{(now - started).days} days in WARM_RECOVERY, bounce rate "
            f"{in_phase.bounce_rate:.1%} over {in_phase.attempted} sends "
            f"(under {rules.recovery_max_rate:.0%})",
        )
    return None


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:g} days" if hours >= 168 and hours % 24 == 0 else f"{hours:g} h"
