"""The recovery state machine: verdicts, pauses, the walk back, relapses."""

from datetime import UTC, datetime, timedelta

from outreach_tui.core.recovery import (
    GuardRules,
    MailboxState,
    Rates,
    assess,
    check_relapse,
    next_step,
    pause,
    relapse,
)
from outreach_tui.core.states import MailboxPhase as P

NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)
RULES = GuardRules()


def state(phase=P.HEALTHY, **kw):
    values = {
        "phase": phase, "phase_changed_at": NOW, "cooldown_until": None, "offence_count": 0,
        "relapse_count": 0, "needs_review": False, "resilience_score": 100,
    }  # fmt: skip
    values.update(kw)
    return MailboxState(**values)


def test_no_verdict_on_bounces_before_the_minimum_sends():
    assert assess(Rates(sent=15, bounced=4), RULES).level == "ok"


def test_bounce_rate_above_three_percent_warns_and_above_five_pauses():
    assert assess(Rates(sent=97, bounced=3), RULES).level == "ok"  # exactly 3 %
    assert assess(Rates(sent=96, bounced=4), RULES).level == "warn"
    assert assess(Rates(sent=95, bounced=5), RULES).level == "warn"  # exactly 5 %
    assert assess(Rates(sent=94, bounced=6), RULES).level == "pause"


def test_one_complaint_pauses_even_before_the_minimum_sends():
    verdict = assess(Rates(sent=3, complaints=1), RULES)
    assert verdict.level == "pause" and "complaint" in verdict.reason


def test_pause_costs_fifteen_points_and_the_cooldown_grows_with_offences():
    cooldowns = []
    for offences in range(4):
        tr = pause(state(offence_count=offences), "x", NOW, RULES)
        assert tr.to_phase is P.PAUSED and tr.offence_count == offences + 1
        assert tr.resilience_score == 85
        cooldowns.append(tr.cooldown_until - NOW)
    assert cooldowns == [timedelta(hours=24), timedelta(hours=72), timedelta(days=7),
                         timedelta(days=7)]  # fmt: skip


def test_walk_back_paused_quarantine_restricted_warm_healthy():
    s = state(P.PAUSED, cooldown_until=NOW + timedelta(hours=24), offence_count=1)
    assert next_step(s, Rates(), now=NOW, dns_healthy=True, rules=RULES) is None
    later = NOW + timedelta(hours=24)
    tr = next_step(s, Rates(), now=later, dns_healthy=False, rules=RULES)
    assert tr.to_phase is P.QUARANTINE
    q = state(P.QUARANTINE, offence_count=1)
    assert next_step(q, Rates(), now=later, dns_healthy=False, rules=RULES) is None
    assert next_step(q, Rates(), now=later, dns_healthy=True, rules=RULES).to_phase is (
        P.RESTRICTED_SEND
    )
    r = state(P.RESTRICTED_SEND, offence_count=1)
    assert next_step(r, Rates(sent=14), now=later, dns_healthy=True, rules=RULES) is None
    assert next_step(r, Rates(sent=15), now=later, dns_healthy=True, rules=RULES).to_phase is (
        P.WARM_RECOVERY
    )
    w = state(P.WARM_RECOVERY, offence_count=1, phase_changed_at=NOW)
    clean = Rates(sent=200, bounced=3)  # 1.5 %
    assert next_step(w, clean, now=NOW + timedelta(days=2, hours=23), dns_healthy=True,
                     rules=RULES) is None  # fmt: skip
    assert next_step(w, Rates(sent=200, bounced=5), now=NOW + timedelta(days=3),
                     dns_healthy=True, rules=RULES) is None  # 2.4 %  # fmt: skip
    done = next_step(w, clean, now=NOW + timedelta(days=3), dns_healthy=True, rules=RULES)
    assert done.to_phase is P.HEALTHY


def test_a_repeat_offender_needs_twenty_five_clean_sends():
    r = state(P.RESTRICTED_SEND, offence_count=2)
    assert next_step(r, Rates(sent=24), now=NOW, dns_healthy=True, rules=RULES) is None
    assert next_step(r, Rates(sent=25), now=NOW, dns_healthy=True, rules=RULES) is not None


def test_relapses_escalate_quarantine_doubled_then_72h_then_a_week_and_review():
    s = state(P.RESTRICTED_SEND, offence_count=1)
    first = relapse(s, "x", NOW, RULES)
    assert first.to_phase is P.QUARANTINE and first.cooldown_until - NOW == timedelta(hours=48)
    second = relapse(state(P.WARM_RECOVERY, offence_count=1, relapse_count=1), "x", NOW, RULES)
    assert second.to_phase is P.PAUSED and second.cooldown_until - NOW == timedelta(hours=72)
    assert not second.needs_review
    third = relapse(state(P.WARM_RECOVERY, offence_count=1, relapse_count=2), "x", NOW, RULES)
    assert third.to_phase is P.PAUSED and third.cooldown_until - NOW == timedelta(days=7)
    assert third.needs_review and third.relapse_count == 3


def test_a_mailbox_flagged_for_review_stays_paused():
    s = state(P.PAUSED, needs_review=True, cooldown_until=NOW - timedelta(days=1))
    assert next_step(s, Rates(), now=NOW, dns_healthy=True, rules=RULES) is None


def test_restricted_send_relapses_on_any_bounce_warm_recovery_on_the_pause_line():
    assert check_relapse(state(P.RESTRICTED_SEND), Rates(sent=5, bounced=1), NOW, RULES)
    warm = state(P.WARM_RECOVERY)
    assert check_relapse(warm, Rates(sent=10, bounced=1), NOW, RULES) is None  # < min sends
    assert check_relapse(warm, Rates(sent=95, bounced=5), NOW, RULES) is None
    assert check_relapse(warm, Rates(sent=94, bounced=6), NOW, RULES) is not None
    assert check_relapse(state(P.HEALTHY), Rates(sent=1, bounced=1), NOW, RULES) is None
