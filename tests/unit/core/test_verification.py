"""What an SMTP probe's replies mean, and the score and health of each verification status."""

import pytest

from outreach_tui.core.verification import (
    SCORES,
    Health,
    RcptVerdict,
    VerificationResult,
    VerificationStatus,
    classify_rcpt,
    health_for,
    result_for_rcpt,
)

V = VerificationStatus


@pytest.mark.parametrize(
    ("code", "text", "verdict"),
    [
        (250, "2.1.5 OK", RcptVerdict.ACCEPTED),
        (550, "5.1.1 <x@y.com>: Recipient address rejected: User unknown", RcptVerdict.NOT_FOUND),
        (550, "5.1.10 RESOLVER.ADR.RecipientNotFound", RcptVerdict.NOT_FOUND),
        (550, "5.7.1 Service unavailable; client host blocked", RcptVerdict.REFUSED_PROBE),
        (554, "5.7.26 unauthenticated sender", RcptVerdict.REFUSED_PROBE),
        (451, "4.7.1 Greylisted, try again later", RcptVerdict.TEMPORARY),
        (421, "4.7.0 Too many connections", RcptVerdict.TEMPORARY),
        (450, "4.2.1 receiving too fast", RcptVerdict.TEMPORARY),
        (550, "No such user here", RcptVerdict.NOT_FOUND),
        (550, "Blocked by Spamhaus, see https://...", RcptVerdict.REFUSED_PROBE),
        (552, "5.2.2 mailbox full", RcptVerdict.UNREADABLE),
        (500, "syntax error", RcptVerdict.UNREADABLE),
    ],
)
def test_rcpt_replies_are_read_by_their_enhanced_code_first(code, text, verdict):
    assert classify_rcpt(code, text) is verdict


def test_a_policy_refusal_is_never_read_as_a_missing_mailbox():
    result = result_for_rcpt(
        "ann@corp.com", 550, "5.7.1 blocked", mx_host="mx.corp.com", catch_all=False, retried=False
    )
    assert result is not None
    assert result.status is V.UNKNOWN
    assert "refused the probe" in result.detail
    assert result.smtp_code == 550


def test_452_means_one_recipient_per_session_only_on_a_later_rcpt():
    text = "4.5.3 Too many recipients"
    assert classify_rcpt(452, text, position=1) is RcptVerdict.TOO_MANY_RECIPIENTS
    assert classify_rcpt(452, text, position=0) is RcptVerdict.TEMPORARY


def test_a_first_deferral_asks_for_a_retry_and_a_second_is_greylisted():
    first = result_for_rcpt(
        "a@b.com", 451, "4.7.1 later", mx_host="m", catch_all=None, retried=False
    )
    assert first is None
    second = result_for_rcpt(
        "a@b.com", 451, "4.7.1 later", mx_host="m", catch_all=None, retried=True
    )
    assert second is not None and second.status is V.GREYLISTED
    assert second.health is Health.YELLOW


def test_an_accepted_address_at_a_catch_all_domain_is_catch_all_not_valid():
    result = result_for_rcpt("a@b.com", 250, "OK", mx_host="m", catch_all=True, retried=False)
    assert result is not None and result.status is V.CATCH_ALL
    assert result.health is Health.YELLOW


@pytest.mark.parametrize(
    ("score", "health"),
    [(100, Health.GREEN), (80, Health.GREEN), (79, Health.YELLOW), (50, Health.YELLOW),
     (49, Health.RED), (0, Health.RED)],
)  # fmt: skip
def test_health_bands_follow_design(score, health):
    assert health_for(score) is health


def test_every_status_has_a_score_and_hard_failures_are_red():
    assert set(SCORES) == set(V)
    assert health_for(SCORES[V.VALID]) is Health.GREEN
    for status in (V.CATCH_ALL, V.UNKNOWN, V.GREYLISTED, V.TIMEOUT):
        assert health_for(SCORES[status]) is Health.YELLOW, status
    for status in (V.MAILBOX_NOT_FOUND, V.INVALID_SYNTAX, V.NO_MX, V.DISPOSABLE):
        assert health_for(SCORES[status]) is Health.RED, status


def test_result_has_the_validate_contract_fields():
    result = VerificationResult.of("a@b.com", V.VALID, "250 OK", mx_host="mx.b.com", smtp_code=250)
    assert result.as_dict() == {
        "email": "a@b.com",
        "status": "VALID",
        "score": 95,
        "health": "GREEN",
        "mx_host": "mx.b.com",
        "smtp_code": 250,
        "detail": "250 OK",
    }
