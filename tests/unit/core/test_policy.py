"""Policy rules: caps, suppression, idempotency, pauses, and the order of reasons."""

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from outreach_tui.core.policy import (
    BlockCode,
    PolicyFacts,
    PolicyLimits,
    evaluate,
    idempotency_key,
)

BASE = PolicyFacts(
    operator_id="ops", sender="me@brand.com", recipient="anna@firma.de", subject="Hello"
)
LIMITS = PolicyLimits()


def test_clean_send_is_allowed_with_region_and_basis():
    decision = evaluate(BASE, LIMITS)
    assert decision.allowed and decision.code is None
    assert (decision.region, decision.legal_basis) == ("EU", "consent")


def test_twenty_first_send_to_one_domain_is_blocked():
    assert evaluate(replace(BASE, domain_count_today=19), LIMITS).allowed
    decision = evaluate(replace(BASE, domain_count_today=20), LIMITS)
    assert not decision.allowed and decision.code is BlockCode.DOMAIN_CAP
    assert "firma.de" in decision.reason and decision.temporary


def test_operator_cap_of_100_blocks_the_101st():
    assert evaluate(replace(BASE, user_count_today=99), LIMITS).allowed
    assert evaluate(replace(BASE, user_count_today=100), LIMITS).code is BlockCode.USER_CAP


def test_duplicate_within_window_is_a_permanent_block():
    decision = evaluate(replace(BASE, duplicate_within_window=True), LIMITS)
    assert decision.code is BlockCode.DUPLICATE and not decision.temporary


def test_suppression_outranks_caps():
    facts = replace(BASE, suppressed_domain="firma.de", user_count_today=500)
    assert evaluate(facts, LIMITS).code is BlockCode.SUPPRESSED_DOMAIN


def test_disabled_check_does_not_block():
    limits = replace(LIMITS, check_domain_cap=False)
    assert evaluate(replace(BASE, domain_count_today=999), limits).allowed


def test_mailbox_limit_blocks_at_the_limit():
    facts = replace(BASE, mailbox_daily_limit=10, mailbox_count_today=10)
    assert evaluate(facts, LIMITS).code is BlockCode.MAILBOX_LIMIT


def test_lead_in_final_status_is_blocked_first():
    facts = replace(BASE, lead_final_status="bounced", suppressed_address=True)
    assert evaluate(facts, LIMITS).code is BlockCode.LEAD_FINAL


@given(cap=st.integers(0, 500), count=st.integers(0, 1000))
def test_domain_cap_allows_exactly_below_the_cap(cap, count):
    limits = replace(LIMITS, daily_domain_cap=cap)
    assert evaluate(replace(BASE, domain_count_today=count), limits).allowed is (count < cap)


@given(cap=st.integers(0, 500), count=st.integers(0, 1000))
def test_user_cap_allows_exactly_below_the_cap(cap, count):
    limits = replace(LIMITS, daily_user_cap=cap)
    assert evaluate(replace(BASE, user_count_today=count), limits).allowed is (count < cap)


def test_idempotency_key_ignores_case_and_whitespace_of_subject_and_addresses():
    a = idempotency_key("Me@Brand.com", "ANNA@firma.de", "Quick  question")
    b = idempotency_key("me@brand.com", "anna@firma.de", " quick question ")
    assert a == b
    assert a != idempotency_key("me@brand.com", "anna@firma.de", "Another question")


def test_policy_check_json_has_the_contract_fields():
    assert set(evaluate(BASE, LIMITS).as_dict()) == {
        "allowed",
        "reason",
        "legal_basis",
        "daily_user_count",
        "daily_user_limit",
        "daily_domain_count",
        "daily_domain_limit",
        "region",
    }
