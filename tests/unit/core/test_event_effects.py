"""What an event does (core/event_effects.py): the one decision behind the pipeline's
refusals, the inbox's reports and replies and the operator's relabel."""

from __future__ import annotations

import pytest

from outreach_tui.core.event_effects import (
    EffectKind,
    EventContext,
    HumanReply,
    Report,
    SendRefusal,
    decide,
    describe,
    refusal_class,
    report_event,
)
from outreach_tui.core.recovery import GuardRules, Rates, assess
from outreach_tui.core.states import CounterScope, ErrorClass, LeadStatus

MAILBOX = "alex@brand.test"


def ctx(**kw):
    values = {"mailbox": MAILBOX, "address": "ann@firm.test", "matched": "message_id",
              "has_lead": True}  # fmt: skip
    values.update(kw)
    return EventContext(**values)


def kinds(effects):
    return [e.kind for e in effects]


def counted(effects):
    return [e.scope for e in effects if e.kind is EffectKind.COUNT]


def test_only_a_hard_bounce_suppresses_the_address():
    hard = decide(Report("bounce", "hard"), ctx())
    policy = decide(Report("bounce", "policy"), ctx())
    soft = decide(Report("bounce", "soft"), ctx())

    assert EffectKind.SUPPRESS in kinds(hard)
    assert EffectKind.SUPPRESS not in kinds(policy)
    assert EffectKind.SUPPRESS not in kinds(soft)


def test_a_report_that_matches_nothing_we_sent_does_nothing_in_any_mode():
    for suggest in (False, True):
        for event in (Report("bounce", "hard"), Report("complaint"), Report("bounce", "policy")):
            effects = decide(event, ctx(matched=None, suggest=suggest))
            assert kinds(effects) == [EffectKind.NOTHING]
            assert describe(effects, MAILBOX) == "nothing: unmatched report"


def test_a_person_asking_to_be_left_alone_is_honoured_whoever_they_are():
    effects = decide(HumanReply("unsubscribe"), ctx(matched=None, has_lead=False))

    assert kinds(effects) == [EffectKind.SUPPRESS]
    assert effects[0].status is LeadStatus.UNSUBSCRIBED


def test_a_delay_notice_changes_nothing():
    effects = decide(Report("bounce", "soft", "delayed"), ctx())

    assert kinds(effects) == [EffectKind.NOTHING]


def test_policy_counts_against_the_mailbox_as_a_report_and_holds_the_undelivered_step():
    effects = decide(Report("bounce", "policy", "failed"), ctx())

    assert counted(effects) == [CounterScope.MAILBOX_POLICY_REPORT]
    assert EffectKind.POLICY_REFUSAL in kinds(effects)
    assert EffectKind.HOLD_NEXT_STEP in kinds(effects)


def test_an_expired_message_holds_the_next_step_and_counts_a_soft_bounce():
    effects = decide(Report("bounce", "soft", "failed", expired=True, status_code="4.4.1"), ctx())

    assert counted(effects) == [CounterScope.MAILBOX_SOFT_BOUNCE]
    hold = next(e for e in effects if e.kind is EffectKind.HOLD_NEXT_STEP)
    assert "expired" in hold.reason
    mark = next(e for e in effects if e.kind is EffectKind.MARK_ATTEMPT)
    assert mark.error_class is ErrorClass.UNDELIVERED


@pytest.mark.parametrize(("days", "today", "suppressed"), [
    (0, False, False), (1, False, False), (2, True, False), (2, False, True), (5, True, True),
])  # fmt: skip
def test_soft_bounces_on_the_nth_separate_day_suppress(days, today, suppressed):
    effects = decide(
        Report("bounce", "soft", "failed"),
        ctx(soft_days=days, soft_today=today, soft_bounce_days=3),
    )

    assert (EffectKind.SUPPRESS in kinds(effects)) is suppressed


def test_smtp_time_refusals_are_classed_by_their_words():
    assert refusal_class(ErrorClass.HARD_BOUNCE, 550, "5.1.1 User unknown") == "hard"
    assert refusal_class(ErrorClass.HARD_BOUNCE, 552, "5.2.2 Mailbox full") == "soft"
    assert (
        refusal_class(ErrorClass.REJECTED_MESSAGE, 550, "5.7.1 blocked using zen.spamhaus.org")
        == "policy"
    )
    assert refusal_class(ErrorClass.AUTH, 535, "5.7.8 bad credentials") is None


def test_each_smtp_time_refusal_is_counted_once_in_its_class_counter():
    hard = decide(SendRefusal(ErrorClass.HARD_BOUNCE, 550, "5.1.1 User unknown"), ctx())
    policy = decide(SendRefusal(ErrorClass.REJECTED_MESSAGE, 554, "5.7.1 spam"), ctx())
    invalid = decide(SendRefusal(ErrorClass.INVALID_MESSAGE, None, ""), ctx())

    assert counted(hard) == [CounterScope.MAILBOX_BOUNCE]
    assert counted(policy) == [CounterScope.MAILBOX_POLICY]
    assert counted(invalid) == [] and kinds(invalid) == [EffectKind.STOP_ENROLLMENT]


def test_suggest_mode_holds_back_the_suppressions_of_reports_and_replies():
    assert EffectKind.SUGGEST_SUPPRESSION in kinds(decide(Report("complaint"), ctx(suggest=True)))
    refusal = decide(SendRefusal(ErrorClass.HARD_BOUNCE, 550, "5.1.1 no"), ctx(suggest=True))
    assert EffectKind.SUPPRESS in kinds(refusal)  # the server's own word: not a guess


def test_a_relabelled_kind_becomes_its_report():
    assert report_event("bounce_hard", bounce_class=None, delivery_status=None, expired=False,
                        status_code=None) == Report("bounce", "hard")  # fmt: skip
    policy = report_event("bounce_hard", bounce_class=None, delivery_status=None,
                          expired=False, status_code=None, sender_at_fault=True)  # fmt: skip
    assert policy is not None and policy.bounce_class == "policy"
    assert report_event("interested", bounce_class=None, delivery_status=None, expired=False,
                        status_code=None) is None  # fmt: skip


def test_window_figures_count_reports_as_failures_not_attempts():
    # 15 accepted sends, 5 DSN bounces: 5 failures of 15 attempts (not 5 of 20).
    rates = Rates(sent=15, bounce_reports=5)
    assert (rates.attempted, rates.failures) == (15, 5)
    # SMTP-time refusals are attempts and failures; policy counts like a hard bounce.
    mixed = Rates(sent=30, bounced=3, policy=2, bounce_reports=2, policy_reports=1)
    assert (mixed.attempted, mixed.failures) == (35, 8)
    assert mixed.failure_words() == "8 failure(s) (hard bounces and policy refusals)"


def test_a_rate_between_5_0_and_5_26_percent_pauses_once_reports_add_no_attempt():
    # Counted twice it read 2/41 = 4.9 % (a warning); counted once it is 2/39 = 5.1 %.
    verdict = assess(Rates(sent=39, bounce_reports=2), GuardRules())

    assert verdict.level == "pause" and "(2/39)" in verdict.reason
