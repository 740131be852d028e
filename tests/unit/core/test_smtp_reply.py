"""Classifying SMTP replies by stage and enhanced status code (RFC 3463)."""

from outreach_tui.core.smtp_reply import Stage, classify_reply, parse_enhanced
from outreach_tui.core.states import ErrorClass


def test_4xx_anywhere_is_transient():
    for stage in Stage:
        assert classify_reply(stage, 451, "4.7.1 try later") is ErrorClass.TRANSIENT


def test_550_511_on_rcpt_is_a_hard_bounce():
    assert classify_reply(Stage.RCPT, 550, "5.1.1 User unknown") is ErrorClass.HARD_BOUNCE


def test_policy_refusal_is_not_a_hard_bounce():
    assert classify_reply(Stage.RCPT, 554, "5.7.1 Relay denied") is ErrorClass.REJECTED_MESSAGE
    assert classify_reply(Stage.DATA_END, 550, "5.7.26 unauthenticated") is (
        ErrorClass.REJECTED_MESSAGE
    )


def test_unknown_recipient_after_data_is_a_hard_bounce():
    assert classify_reply(Stage.DATA_END, 550, "5.1.10 not found") is ErrorClass.HARD_BOUNCE


def test_size_refusal_after_data_rejects_the_message():
    assert classify_reply(Stage.DATA_END, 552, "5.3.4 too big") is ErrorClass.REJECTED_MESSAGE


def test_5xx_on_mail_from_is_the_senders_fault():
    assert classify_reply(Stage.MAIL, 553, "5.7.1 sender not allowed") is (
        ErrorClass.SENDER_REFUSED
    )


def test_enhanced_code_parsing():
    assert str(parse_enhanced("5.1.1 User unknown")) == "5.1.1"
    assert parse_enhanced("User unknown") is None


def test_an_unreadable_reply_before_the_final_dot_is_a_retry_never_a_refusal():
    # aiosmtplib reports -1 for a reply line it cannot parse (9,000 bytes, no digits).
    for stage in (Stage.MAIL, Stage.RCPT, Stage.DATA_START, Stage.DATA_BODY):
        for code in (-1, None, 0, 199, 251, 354, 600, 999):
            assert classify_reply(stage, code, "Response too long") is ErrorClass.TRANSIENT


def test_an_unreadable_reply_after_the_final_dot_is_unknown_never_a_refusal():
    for code in (-1, None, 199, 251, 354, 600):
        assert classify_reply(Stage.DATA_END, code, "x" * 9000) is ErrorClass.UNKNOWN_OUTCOME


def test_an_unreadable_reply_while_connecting_is_the_servers_trouble():
    for stage in (Stage.CONNECT, Stage.GREETING, Stage.AUTH):
        assert classify_reply(stage, -1, "Malformed response") is ErrorClass.CONNECTION
