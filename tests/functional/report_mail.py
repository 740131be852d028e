"""Reports as receivers write them, for the tests that deliver them into a real Dovecot: an
RFC 3464 delivery status notification (failed or delayed) and an RFC 5965 (ARF) spam
complaint, each quoting the headers of the message it is about (or, forged, of a message we
never sent)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from email.utils import format_datetime


def _boundary(*parts: str) -> str:
    return "b-" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def dsn(
    *,
    to: str,
    recipient: str,
    original_id: str,
    at: datetime,
    status: str = "5.1.1",
    diagnostic: str = "550 5.1.1 User unknown",
    action: str = "failed",
    sender: str = "MAILER-DAEMON@mx.firm.test",
    message_id: str | None = None,
) -> bytes:
    """A DSN to `to` saying `recipient` failed (or is delayed) for the message `original_id`
    (with angle brackets), written by `sender`."""
    boundary = _boundary(recipient, original_id, status, action)
    own = message_id or f"<dsn-{boundary}@{sender.split('@')[1]}>"
    subject = (
        "Delayed Mail (still being retried)"
        if action == "delayed"
        else ("Undelivered Mail Returned to Sender")
    )
    text = f"""Return-Path: <>
From: Mail Delivery System <{sender}>
To: {to}
Subject: {subject}
Date: {format_datetime(at)}
Message-ID: {own}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"

--{boundary}
Content-Type: text/plain; charset=us-ascii

Your message to <{recipient}> could not be delivered.

<{recipient}>: host mx.{recipient.split("@")[1]} said: {diagnostic}

--{boundary}
Content-Type: message/delivery-status

Reporting-MTA: dns; {sender.split("@")[1]}

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822; {recipient}
Action: {action}
Status: {status}
Remote-MTA: dns; mx.{recipient.split("@")[1]}
Diagnostic-Code: smtp; {diagnostic}

--{boundary}
Content-Type: text/rfc822-headers

From: <{to}>
To: <{recipient}>
Subject: Quick question
Message-ID: {original_id}

--{boundary}--
"""
    return text.replace("\n", "\r\n").encode()


def arf(
    *,
    to: str,
    complainant: str,
    original_id: str,
    at: datetime,
    sender: str = "fbl@feedback.firm.test",
    message_id: str | None = None,
) -> bytes:
    """An ARF abuse report to `to` about the message `original_id` sent to `complainant`."""
    boundary = _boundary(complainant, original_id, "arf")
    own = message_id or f"<arf-{boundary}@{sender.split('@')[1]}>"
    text = f"""From: Feedback Loop <{sender}>
To: {to}
Subject: FW: Quick question
Date: {format_datetime(at)}
Message-ID: {own}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="{boundary}"

--{boundary}
Content-Type: text/plain; charset=us-ascii

This is an email abuse report.

--{boundary}
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: TestFBL/1.0
Version: 1
Original-Mail-From: <{to}>
Original-Rcpt-To: <{complainant}>
Arrival-Date: {format_datetime(at)}

--{boundary}
Content-Type: message/rfc822
Content-Disposition: inline

From: <{to}>
To: <{complainant}>
Subject: Quick question
Message-ID: {original_id}
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

(the message body)

--{boundary}--
"""
    return text.replace("\n", "\r\n").encode()
