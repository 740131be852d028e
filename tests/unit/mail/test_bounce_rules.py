"""What a bounce means (core.bounce_rules) and the report fields beyond the corpus: the specific
code beats a generic one, retries that ran out are soft and expired, policy never reads as an
unknown address, malformed recipients never become addresses, and every Message-ID of ours a
report quotes is handed to the engine."""

from __future__ import annotations

import json

import pytest

from outreach_tui.core.bounce_addresses import choose, clean_address
from outreach_tui.core.bounce_rules import classify, specific_code
from outreach_tui.mail.inbound import analyse


def dsn(per_recipient: str, *, headers: str = "", returned_to: str = "a@example.net") -> bytes:
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\n"
        "To: sam@outreach.test\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        "Message-ID: <report.1@mx.example.net>\n"
        f"{headers}"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\n'
        "\n--r\nContent-Type: text/plain\n\nReport.\n"
        "--r\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n\n"
        f"{per_recipient}\n"
        "--r\nContent-Type: text/rfc822-headers\n\n"
        f"From: sam@outreach.test\nTo: {returned_to}\nMessage-ID: <ours.1@outreach.test>\n"
        "--r--\n"
    ).encode()


# --- codes and words ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "diagnostic", "expected"),
    [
        ("5.0.0", "550 5.1.1 <a@x.example>: Recipient address rejected: User unknown", "5.1.1"),
        ("5.0.0", "554 Service unavailable", "5.0.0"),
        (None, "550-5.7.26 This mail has been blocked", "5.7.26"),
        ("5.7.0", "550 5.7.26 unauthenticated", "5.7.26"),
        ("5.1.1", "550 5.7.1 whatever", "5.1.1"),
        ("4.0.0", "451 4.7.1 Greylisted", "4.7.1"),
    ],
)
def test_the_specific_code_in_the_text_wins_over_a_generic_status(status, diagnostic, expected):
    assert specific_code(status, diagnostic) == expected


@pytest.mark.parametrize(
    ("diagnostic", "expected"),
    [
        ("550 5.0.0 <a@x.example>: Recipient address rejected: User unknown", "hard"),
        (
            "550 5.7.1 Service unavailable; client [192.0.2.1] blocked using zen.spamhaus.org",
            "policy",
        ),
        ("550 5.0.0 Message rejected due to local policy", "policy"),
        ("554 5.7.1 Message rejected as spam by Content Filtering", "policy"),
        ("550 5.7.1 No such user!", "hard"),  # words beat a policy-looking code
        (
            "550 5.7.515 Access denied, sending domain doesn't meet the required authentication",
            "policy",
        ),
        ("550 5.4.1 Recipient address rejected: Access denied. AS(201806281)", "hard"),
        ("552 5.2.2 Mailbox full", "soft"),
        ("552 Message size exceeds fixed limit", "soft"),
        ("421 4.7.0 Too many concurrent SMTP connections", "soft"),
        ("421 4.7.28 unusual rate of unsolicited mail originating from your IP address", "policy"),
        ("450 4.7.25 Client host rejected: cannot find your reverse hostname", "policy"),
        ("550 5.7.23 Sender Policy Framework violation", "policy"),
        ("554 delivery error: dd This user doesn't have a yahoo.com account", "hard"),
        ("550 5.2.1 The email account that you tried to reach is disabled.", "hard"),
        ("550 Requested action not taken: mailbox unavailable", "hard"),
    ],
)
def test_the_words_of_the_refusal_decide_its_class(diagnostic, expected):
    assert classify(diagnostic).bounce_class == expected


def test_an_unknown_user_that_is_only_temporary_is_not_hard():
    assert (
        classify("450 4.1.1 <a@x.example>: Recipient address rejected: User unknown").bounce_class
        == "soft"
    )


def test_an_expired_message_is_soft_unless_we_were_refused():
    timed_out = classify(
        "connect to mx.example.net[192.0.2.1]:25: Connection timed out", expired=True
    )
    blocked = classify("451 4.7.1 blocked using zen.spamhaus.org", expired=True)

    assert (timed_out.bounce_class, blocked.bounce_class) == ("soft", "policy")


# --- DSN states ----------------------------------------------------------------------------------


def test_action_failed_with_a_transient_status_is_an_expired_soft_bounce():
    result = analyse(
        dsn(
            "Final-Recipient: rfc822; a@example.net\nAction: failed\nStatus: 4.4.1\n"
            "Diagnostic-Code: X-Postfix; connect to mx.example.net[192.0.2.1]:25: "
            "Connection refused\n"
        )
    )

    assert (result.kind, result.bounce_class, result.expired) == ("bounce_soft", "soft", True)
    assert result.delivery_status == "failed"


def test_action_expired_without_a_status_is_a_failure_not_a_success():
    result = analyse(dsn("Final-Recipient: rfc822; a@example.net\nAction: expired\n"))

    assert (result.kind, result.expired, result.delivery_status) == ("bounce_soft", True, "failed")
    assert result.bounced_recipients == ("a@example.net",)


def test_a_delay_warning_is_not_a_failure():
    result = analyse(
        dsn(
            "Final-Recipient: rfc822; a@example.net\nAction: delayed\nStatus: 4.2.2\n"
            "Diagnostic-Code: smtp; 452 4.2.2 Mailbox full\n"
        )
    )

    assert (result.kind, result.delivery_status, result.expired) == (
        "bounce_soft",
        "delayed",
        False,
    )


def test_a_policy_refusal_counts_against_the_sender_not_the_address():
    result = analyse(
        dsn(
            "Final-Recipient: rfc822; a@example.net\nAction: failed\nStatus: 5.0.0\n"
            "Diagnostic-Code: smtp; 554 Service unavailable; Client host [198.51.100.7] blocked "
            "using b.barracudacentral.org\n"
        )
    )

    assert (result.kind, result.bounce_class, result.sender_at_fault) == (
        "bounce_hard",
        "policy",
        True,
    )


@pytest.mark.parametrize(
    "headers", ["Auto-Submitted: auto-replied\n", "Precedence: bulk\nX-Autoreply: yes\n"]
)
def test_a_bounce_with_auto_reply_headers_is_still_a_bounce(headers):
    result = analyse(
        dsn(
            "Final-Recipient: rfc822; a@example.net\nAction: failed\nStatus: 5.1.1\n",
            headers=headers,
        )
    )

    assert (result.kind, result.bounce_class) == ("bounce_hard", "hard")


# --- recipients ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("rfc822; <Jane@Example.ORG>", "jane@example.org"),
        ("|/usr/bin/procmail -d jane", None),
        ("|/path/prog jane@example.org", None),
        ("@relay.example:jane@example.org", "jane@example.org"),
        ("<@a.example,@b.example:jane@example.org>", "jane@example.org"),
        ("@a.example:not an address", None),
        ("@example.org", None),
        ("/var/mail/jane", None),
        ("jane", None),
    ],
)
def test_recipient_fields_yield_only_real_addresses(value, expected):
    assert clean_address(value) == expected


def test_a_recipient_we_sent_to_is_preferred():
    assert choose(["x@relay.example", "jane@example.org"], {"jane@example.org"}) == (
        "jane@example.org",
    )


def test_a_pipe_final_recipient_falls_back_to_the_original_recipient():
    result = analyse(
        dsn(
            "Original-Recipient: rfc822;jane@example.org\n"
            "Final-Recipient: rfc822; |/usr/bin/procmail\n"
            "Action: failed\nStatus: 5.2.2\n",
            returned_to="jane@example.org",
        )
    )

    assert result.bounced_recipients == ("jane@example.org",)


def test_analyse_prefers_the_recipients_the_caller_sent_to():
    raw = dsn(
        "Final-Recipient: rfc822; alias@example.org\nAction: failed\nStatus: 5.1.1\n\n"
        "Final-Recipient: rfc822; jane@example.org\nAction: failed\nStatus: 5.1.1\n",
        returned_to="list@example.org",
    )

    assert analyse(raw).bounced_recipients[0] == "alias@example.org"
    assert analyse(raw, sent_recipients={"jane@example.org"}).bounced_recipients == (
        "jane@example.org",
    )


# --- Message-IDs of ours -------------------------------------------------------------------------


def test_every_message_id_of_ours_the_report_quotes_is_listed():
    result = analyse(
        dsn(
            "Final-Recipient: rfc822; a@example.net\nAction: failed\nStatus: 5.1.1\n",
            headers="In-Reply-To: <irt.1@outreach.test>\nReferences: <ref.0@outreach.test> "
            "<irt.1@outreach.test>\nX-Original-Message-ID: <xo.1@outreach.test>\n",
        )
    )

    assert result.report_message_ids[0] == "ours.1@outreach.test"
    assert set(result.report_message_ids) == {
        "ours.1@outreach.test",
        "xo.1@outreach.test",
        "irt.1@outreach.test",
        "ref.0@outreach.test",
    }
    assert "report.1@mx.example.net" not in result.report_message_ids


def test_an_sns_notification_is_a_bounce_and_never_an_unsubscribe():
    note = {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [
                {
                    "emailAddress": "gone@example.org",
                    "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                }
            ],
        },
        "mail": {
            "messageId": "0100abc",
            "destination": ["gone@example.org"],
            "commonHeaders": {"messageId": "<ours.9@outreach.test>"},
        },
    }
    raw = (
        "From: AWS Notifications <no-reply@sns.amazonaws.com>\nTo: sam@outreach.test\n"
        "Subject: AWS Notification Message\nContent-Type: text/plain\n\n"
        + json.dumps(note)
        + "\n\n--\nIf you wish to stop receiving notifications from this topic, please click or "
        "visit the link below to unsubscribe:\nhttps://sns.us-east-1.amazonaws.com/unsubscribe.html\n"
    ).encode()
    result = analyse(raw)

    assert (result.kind, result.bounce_class) == ("bounce_hard", "hard")
    assert result.bounced_recipients == ("gone@example.org",)
    assert "ours.9@outreach.test" in result.report_message_ids


def test_a_microsoft_complaint_without_a_feedback_part_is_a_complaint():
    raw = (
        b"From: staff@hotmail.com\nTo: fbl@outreach.test\n"
        b"Subject: complaint about message from 198.51.100.7\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\n'
        b"This is an email abuse report for an email message received from IP 198.51.100.7.\n"
        b"--b\nContent-Type: message/rfc822\n\nX-HmXmrOriginalRecipient: <reader@hotmail.com>\n"
        b"From: sam@outreach.test\nTo: reader@hotmail.com\n"
        b"Message-ID: <ours.5@outreach.test>\n\nHi\n--b--\n"
    )
    result = analyse(raw)

    assert (result.kind, result.bounced_recipients) == ("complaint", ("reader@hotmail.com",))
    assert result.report_message_ids == ("ours.5@outreach.test",)
