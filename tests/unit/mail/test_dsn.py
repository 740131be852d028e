"""Delivery status notifications and bounce detection beyond the corpus: which field decides,
and what is never mistaken for a bounce."""

from __future__ import annotations

import base64
from datetime import date

from outreach_tui.mail.inbound import analyse


def dsn(per_recipient: str, *, encoded: bool = False) -> bytes:
    status = "Reporting-MTA: dns; mx.example.net\n\n" + per_recipient
    part_head = "Content-Type: message/delivery-status\n"
    if encoded:
        part_head += "Content-Transfer-Encoding: base64\n"
        status = base64.encodebytes(status.encode()).decode()
    return (
        "From: MAILER-DAEMON@mx.example.net\n"
        "To: sam@outreach.test\n"
        "Subject: Delivery report\n"
        "Date: Tue, 17 Nov 2026 10:00:00 +0000\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\n'
        "\n--r\nContent-Type: text/plain\n\nReport.\n"
        f"--r\n{part_head}\n{status}\n"
        "--r\nContent-Type: text/rfc822-headers\n\nMessage-ID: <ours.1@outreach.test>\n"
        "--r--\n"
    ).encode()


def test_status_class_decides_over_action():
    result = analyse(dsn("Final-Recipient: rfc822; a@example.net\nAction: failed\nStatus: 4.4.7\n"))

    assert (result.kind, result.status_code) == ("bounce_soft", "4.4.7")
    assert result.original_message_id == "ours.1@outreach.test"


def test_action_decides_when_there_is_no_status():
    failed = analyse(dsn("Final-Recipient: rfc822; a@example.net\nAction: failed\n"))
    delayed = analyse(dsn("Final-Recipient: rfc822; a@example.net\nAction: delayed\n"))

    assert (failed.kind, delayed.kind) == ("bounce_hard", "bounce_soft")
    assert failed.bounced_recipients == ("a@example.net",)


def test_status_is_taken_from_the_diagnostic_when_the_field_is_missing():
    result = analyse(
        dsn(
            "Final-Recipient: rfc822; <A@Example.NET>\nAction: failed\n"
            "Diagnostic-Code: smtp; 550 5.1.1 user unknown\n"
        )
    )

    assert (result.status_code, result.diagnostic) == ("5.1.1", "550 5.1.1 user unknown")
    assert result.bounced_recipients == ("a@example.net",)


def test_success_report_is_an_auto_reply_not_a_bounce():
    result = analyse(
        dsn("Final-Recipient: rfc822; a@example.net\nAction: delivered\nStatus: 2.0.0\n")
    )

    assert (result.kind, result.classified_by) == ("auto_reply", "dsn")
    assert result.bounced_recipients == ()


def test_base64_encoded_delivery_status_is_read():
    result = analyse(
        dsn("Final-Recipient: rfc822; b@example.net\nAction: failed\nStatus: 5.2.1\n", encoded=True)
    )

    assert (result.kind, result.status_code) == ("bounce_hard", "5.2.1")
    assert result.bounced_recipients == ("b@example.net",)


def test_human_reply_about_an_undelivered_parcel_is_no_bounce():
    raw = (
        b"From: Pat <pat@example.com>\r\n"
        b"Subject: Re: Undelivered parcel\r\n"
        b"Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n"
        b"\r\n"
        b"Our parcel was returned, 550 5.1.1 says the label. Not interested anyway.\r\n"
    )
    result = analyse(raw)

    assert result.kind == "not_interested"
    assert result.classified_by == "rules"


def test_daemon_message_without_recipient_or_code_is_not_a_bounce():
    raw = (
        b"From: MAILER-DAEMON@mx.example.net\r\n"
        b"Subject: Postmaster notice\r\n"
        b"\r\n"
        b"Your mailbox quota settings were updated.\r\n"
    )
    assert analyse(raw).kind == "other"


def test_fallback_date_places_a_year_less_return_date_without_a_date_header():
    raw = (
        b"From: Ana <ana@example.es>\r\n"
        b"Subject: Fuera de la oficina\r\n"
        b"Auto-Submitted: auto-replied\r\n"
        b"\r\n"
        b"Estoy de vacaciones, de vuelta el 3 de diciembre.\r\n"
    )

    assert analyse(raw).return_date is None
    assert analyse(raw, fallback_date=date(2026, 11, 20)).return_date == date(2026, 12, 3)
