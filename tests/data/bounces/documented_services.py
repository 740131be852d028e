"""Sending services' notifications by mail (Amazon SES through SNS, SendGrid and Mailgun events),
feedback-loop complaints (ARF, Microsoft JMRP), auto-replies, and reports with malformed
recipient fields.

Each entry: (name, raw bytes, class, recipient, expired, delayed, note).
"""

# ruff: noqa: E501 - remote servers' texts are kept verbatim, one line each

from __future__ import annotations

import json
import zlib

from tests.data.bounces.documented_mtas import Case, mid
from tests.data.bounces.formats import (
    REPORT_DATE,
    SENDER,
    Rcpt,
    arf,
    dsn,
    headers_only,
    json_mail,
    original,
    plain,
    reply,
)

# --- Amazon SES ------------------------------------------------------------------------------

_SNS_FOOTER = (
    "\r\n\r\n--\r\nIf you wish to stop receiving notifications from this topic, please click or "
    "visit the link below to unsubscribe:\r\nhttps://sns.us-east-1.amazonaws.com/unsubscribe.html?"
    "SubscriptionArn=arn:aws:sns:us-east-1:123456789012:ses-bounces:2f0e4c5a-7f3b-4b1e-9d7a-1c2b3a4d5e6f&Endpoint="
    + SENDER
    + "\r\n\r\nPlease do not reply directly to this email. If you have any questions or comments "
    "regarding this email, please contact us at https://aws.amazon.com/support\r\n"
)


def _ses_mail(name: str, rcpt: str) -> dict[str, object]:
    return {
        "timestamp": "2026-11-24T09:00:00.000Z",
        "source": SENDER,
        "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/outreach.test",
        "sourceIp": "198.51.100.7",
        "sendingAccountId": "123456789012",
        "messageId": f"0100018f{zlib.crc32(name.encode()):010d}-ses",
        "destination": [rcpt],
        "headersTruncated": False,
        "headers": [
            {"name": "From", "value": f"Sam Carter <{SENDER}>"},
            {"name": "To", "value": rcpt},
            {"name": "Subject", "value": "Quick question about onboarding"},
            {"name": "Message-ID", "value": f"<{mid(name)}>"},
        ],
        "commonHeaders": {
            "from": [f"Sam Carter <{SENDER}>"],
            "to": [rcpt],
            "messageId": f"<{mid(name)}>",
            "subject": "Quick question about onboarding",
        },
    }


def ses(name: str, rcpt: str, note_type: str, body: dict[str, object], klass: str, *,
        envelope: bool = True, event: bool = False, delayed: bool = False) -> Case:  # fmt: skip
    key = "eventType" if event else "notificationType"
    notification = {key: note_type, **body, "mail": _ses_mail(name, rcpt)}
    if envelope:
        document = {
            "Type": "Notification",
            "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:ses-bounces",
            "Message": json.dumps(notification),
            "Timestamp": "2026-11-24T09:00:07.000Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fUQvi2egU3N858fiTDN6bkkOxYDVrY0Ad8L10Hs3zH81mtnPk5uvvolIC1CXGu43obcgFxeL3khZl8IKvO61GWB6jI9b5+gLPoBc1Q=",
            "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem",
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-east-1:123456789012:ses-bounces:2f0e4c5a",
        }
        raw = json_mail(sender="AWS Notifications <no-reply@sns.amazonaws.com>",
                        subject="AWS Notification Message", document=document)  # fmt: skip
    else:
        raw = json_mail(sender="AWS Notifications <no-reply@sns.amazonaws.com>",
                        subject="AWS Notification Message", document=None,
                        raw=json.dumps(notification), footer=_SNS_FOOTER)  # fmt: skip
    return (name, raw, klass, rcpt, False, delayed, "Amazon SES notification through SNS (email)")


def _bounce(kind: str, sub: str, rcpt: str, status: str, diag: str) -> dict[str, object]:
    recipient: dict[str, object] = {"emailAddress": rcpt}
    if status:
        recipient.update({"action": "failed", "status": status, "diagnosticCode": diag})
    return {"bounce": {
        "feedbackId": "0100018f-abc-000000", "bounceType": kind, "bounceSubType": sub,
        "bouncedRecipients": [recipient], "timestamp": "2026-11-24T09:00:06.000Z",
        "remoteMtaIp": "203.0.113.70", "reportingMTA": "dsn; a8-30.smtp-out.amazonses.com",
    }}  # fmt: skip


SES: list[Case] = [
    ses(
        "ses-permanent-general",
        "nouser@remote.example",
        "Bounce",
        _bounce(
            "Permanent",
            "General",
            "nouser@remote.example",
            "5.1.1",
            "smtp; 550 5.1.1 <nouser@remote.example>: Recipient address rejected: User unknown in virtual mailbox table",
        ),
        "hard",
    ),
    ses(
        "ses-permanent-noemail",
        "nobody@ghost-domain.example",
        "Bounce",
        _bounce(
            "Permanent",
            "NoEmail",
            "nobody@ghost-domain.example",
            "5.1.2",
            "smtp; Amazon SES did not send the message to this address because it could not find the domain.",
        ),
        "hard",
        envelope=False,
    ),
    ses(
        "ses-permanent-suppressed",
        "former@remote.example",
        "Bounce",
        _bounce(
            "Permanent",
            "Suppressed",
            "former@remote.example",
            "5.1.1",
            "Amazon SES has suppressed sending to this address because it has a recent history of bouncing as an invalid address.",
        ),
        "hard",
    ),
    ses(
        "ses-transient-mailboxfull",
        "full@remote.example",
        "Bounce",
        _bounce(
            "Transient",
            "MailboxFull",
            "full@remote.example",
            "5.2.2",
            "smtp; 552 5.2.2 Mailbox full",
        ),
        "soft",
    ),
    ses(
        "ses-transient-general-blocked",
        "buyer@remote.example",
        "Bounce",
        _bounce(
            "Transient",
            "General",
            "buyer@remote.example",
            "4.7.1",
            "smtp; 451 4.7.1 Service unavailable - try again later; Client host [54.240.8.1] blocked using b.barracudacentral.org",
        ),
        "policy",
    ),
    ses(
        "ses-permanent-policy",
        "lead@remote.example",
        "Bounce",
        _bounce(
            "Permanent",
            "General",
            "lead@remote.example",
            "5.7.1",
            "smtp; 550 5.7.1 Message rejected due to content restrictions (spam)",
        ),
        "policy",
        envelope=False,
    ),
    ses(
        "ses-content-rejected",
        "cto@remote.example",
        "Bounce",
        _bounce("Transient", "ContentRejected", "cto@remote.example", "", ""),
        "policy",
    ),
    ses(
        "ses-undetermined",
        "who@remote.example",
        "Bounce",
        _bounce("Undetermined", "Undetermined", "who@remote.example", "", ""),
        "soft",
    ),
    ses(
        "ses-complaint",
        "annoyed@remote.example",
        "Complaint",
        {
            "complaint": {
                "complainedRecipients": [{"emailAddress": "annoyed@remote.example"}],
                "timestamp": "2026-11-24T10:00:00.000Z",
                "feedbackId": "0100018f-def-000000",
                "userAgent": "Yahoo!-Mail-Feedback/2.0",
                "complaintFeedbackType": "abuse",
            }
        },
        "complaint",
    ),
    ses(
        "ses-complaint-raw",
        "annoyed2@remote.example",
        "Complaint",
        {
            "complaint": {
                "complainedRecipients": [{"emailAddress": "annoyed2@remote.example"}],
                "timestamp": "2026-11-24T10:00:00.000Z",
                "feedbackId": "0100018f-ghi-000000",
            }
        },
        "complaint",
        envelope=False,
    ),
    ses(
        "ses-delivery",
        "happy@remote.example",
        "Delivery",
        {
            "delivery": {
                "timestamp": "2026-11-24T09:00:03.000Z",
                "processingTimeMillis": 546,
                "recipients": ["happy@remote.example"],
                "smtpResponse": "250 ok:  Message 64111812 accepted",
                "reportingMTA": "a8-70.smtp-out.amazonses.com",
                "remoteMtaIp": "203.0.113.71",
            }
        },
        "delivered",
    ),
    ses(
        "ses-event-bounce",
        "event@remote.example",
        "Bounce",
        _bounce(
            "Permanent",
            "General",
            "event@remote.example",
            "5.1.10",
            "smtp; 550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
        ),
        "hard",
        event=True,
    ),
    ses(
        "ses-event-delay",
        "later@remote.example",
        "DeliveryDelay",
        {
            "deliveryDelay": {
                "timestamp": "2026-11-24T11:00:00.000Z",
                "delayType": "MailboxFull",
                "expirationTime": "2026-11-25T09:00:00.000Z",
                "delayedRecipients": [
                    {
                        "emailAddress": "later@remote.example",
                        "status": "4.2.2",
                        "diagnosticCode": "smtp; 452 4.2.2 Mailbox full",
                    }
                ],
            }
        },
        "soft",
        event=True,
        delayed=True,
    ),
]


def ses_dsn(name: str, rcpt: str, status: str, diag: str, klass: str) -> Case:
    text = ("An error occurred while trying to deliver the mail to the following recipients:\r\n"
            f"{rcpt}\r\n")  # fmt: skip
    raw = dsn(sender="MAILER-DAEMON@amazonses.com", subject="Delivery Status Notification (Failure)",
              text=text, reporting_mta="a8-30.smtp-out.amazonses.com",
              rcpts=[Rcpt(rcpt, status=status, diagnostic=diag, remote_mta="dns; 203.0.113.72")],
              returned=original(rcpt, mid(name)),
              headers=["X-Original-Message-ID: <" + mid(name) + ">"])  # fmt: skip
    return (name, raw, klass, rcpt, False, False, "Amazon SES email feedback forwarding (DSN)")


SES += [
    ses_dsn(
        "ses-dsn-unknown", "no.one@remote.example", "5.1.1", "smtp; 550 5.1.1 user unknown", "hard"
    ),
    ses_dsn(
        "ses-dsn-blocked",
        "cmo@remote.example",
        "5.7.1",
        "smtp; 554 5.7.1 Your access to this mail system has been rejected due to the sending MTA's poor reputation.",
        "policy",
    ),
]

# --- SendGrid and Mailgun events forwarded by mail ------------------------------------------


def sendgrid(name: str, rcpt: str, events: list[dict[str, object]], klass: str, *,
             delayed: bool = False) -> Case:  # fmt: skip
    for event in events:
        event.setdefault("email", rcpt)
        event.setdefault("timestamp", 1795510800)
        event.setdefault("smtp-id", f"<{mid(name)}>")
        event.setdefault("sg_event_id", "ZGVsaXZlcmVkLTAtMjQ0NTI5NjQtcU9GQ1E")
        event.setdefault("sg_message_id", "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0")
    raw = json_mail(sender="SendGrid Event Webhook relay <webhooks@outreach.test>",
                    subject="SendGrid event webhook", document=events)  # fmt: skip
    return (name, raw, klass, rcpt, False, delayed, "SendGrid Event Webhook JSON by mail")


SENDGRID: list[Case] = [
    sendgrid(
        "sendgrid-bounce-invalid",
        "gone@remote.example",
        [
            {"event": "processed"},
            {
                "event": "bounce",
                "type": "bounce",
                "status": "5.1.1",
                "reason": "550 5.1.1 The email account that you tried to reach does not exist.",
                "bounce_classification": "Invalid Address",
            },
        ],
        "hard",
    ),
    sendgrid(
        "sendgrid-blocked-reputation",
        "vp@remote.example",
        [
            {
                "event": "bounce",
                "type": "blocked",
                "status": "5.7.1",
                "reason": "554 5.7.1 Service unavailable; Client host [167.89.0.1] blocked using zen.spamhaus.org",
                "bounce_classification": "Reputation",
            }
        ],
        "policy",
    ),
    sendgrid(
        "sendgrid-bounce-full",
        "box@remote.example",
        [
            {
                "event": "bounce",
                "type": "bounce",
                "status": "5.2.2",
                "reason": "552 5.2.2 mailbox full",
                "bounce_classification": "Mailbox Unavailable",
            }
        ],
        "soft",
    ),
    sendgrid(
        "sendgrid-dropped-bounced",
        "again@remote.example",
        [{"event": "dropped", "reason": "Bounced Address", "status": "5.0.0"}],
        "hard",
    ),
    sendgrid(
        "sendgrid-deferred",
        "later@remote.example",
        [
            {
                "event": "deferred",
                "response": "451 4.7.1 Greylisting in action, please come back later",
                "attempt": "1",
            }
        ],
        "soft",
        delayed=True,
    ),
    sendgrid("sendgrid-spamreport", "angry@remote.example", [{"event": "spamreport"}], "complaint"),
    sendgrid(
        "sendgrid-delivered",
        "fine@remote.example",
        [{"event": "delivered", "response": "250 OK"}],
        "delivered",
    ),
]


def mailgun(name: str, rcpt: str, data: dict[str, object], klass: str, *,
            expired: bool = False, delayed: bool = False) -> Case:  # fmt: skip
    event = {"id": "CPgfbmQMTCKtHW6uIWtuVe", "timestamp": 1795510800.5, "recipient": rcpt,
             "message": {"headers": {"to": rcpt, "message-id": mid(name), "from": SENDER,
                                     "subject": "Quick question about onboarding"}}, **data}  # fmt: skip
    document = {"signature": {"timestamp": "1795510800", "token": "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0",
                              "signature": "d2271d12299f6592d9d44cd9d250f0704e4674c30d79d07c47a66f95ce71cf55"},
                "event-data": event}  # fmt: skip
    raw = json_mail(sender="Mailgun webhook relay <webhooks@outreach.test>",
                    subject="Mailgun webhook: " + str(data.get("event")), document=document)  # fmt: skip
    return (name, raw, klass, rcpt, expired, delayed, "Mailgun webhook JSON by mail")


MAILGUN: list[Case] = [
    mailgun(
        "mailgun-failed-permanent",
        "bad@remote.example",
        {
            "event": "failed",
            "severity": "permanent",
            "reason": "bounce",
            "delivery-status": {
                "code": 550,
                "message": "5.1.1 The email account that you tried to reach does not exist.",
                "description": "",
                "enhanced-code": "5.1.1",
                "attempt-no": 1,
            },
        },
        "hard",
    ),
    mailgun(
        "mailgun-failed-espblock",
        "corp@remote.example",
        {
            "event": "failed",
            "severity": "permanent",
            "reason": "espblock",
            "delivery-status": {
                "code": 554,
                "message": "Blocked by recipient provider",
                "description": "",
                "enhanced-code": "5.7.1",
            },
        },
        "policy",
    ),
    mailgun(
        "mailgun-failed-old",
        "stale@remote.example",
        {
            "event": "failed",
            "severity": "permanent",
            "reason": "old",
            "delivery-status": {
                "code": 421,
                "message": "4.4.1 Connection timed out",
                "description": "Too old",
                "enhanced-code": "4.4.1",
            },
        },
        "soft",
        expired=True,
    ),
    mailgun(
        "mailgun-suppress-bounce",
        "known.bad@remote.example",
        {
            "event": "failed",
            "severity": "permanent",
            "reason": "suppress-bounce",
            "delivery-status": {
                "code": 605,
                "message": "",
                "description": "Not delivering to previously bounced address",
            },
        },
        "hard",
    ),
    mailgun("mailgun-complained", "upset@remote.example", {"event": "complained"}, "complaint"),
    mailgun(
        "mailgun-delivered",
        "ok@remote.example",
        {"event": "delivered", "delivery-status": {"code": 250, "message": "OK"}},
        "delivered",
    ),
]

# --- Complaints: ARF and Microsoft JMRP ------------------------------------------------------


def arf_case(name: str, rcpt: str, sender: str, fields: list[str], *, agent: str,
             redact_to: bool = False) -> Case:  # fmt: skip
    returned = original(rcpt, mid(name))
    if redact_to:
        returned = returned.replace(f"To: <{rcpt}>", "To: <redacted@yahoo.example>")
    raw = arf(sender=sender, subject="Abuse Report", returned=returned,
              text=("This is an email abuse report for an email message received from IP 198.51.100.7 on "
                    f"{REPORT_DATE}.\r\nFor more information about this format please see http://www.mipassoc.org/arf/."),
              fields=["Feedback-Type: abuse", f"User-Agent: {agent}", "Version: 1",
                      "Source-IP: 198.51.100.7", f"Arrival-Date: {REPORT_DATE}", *fields])  # fmt: skip
    return (name, raw, "complaint", rcpt, False, False, f"ARF ({agent})")


COMPLAINTS: list[Case] = [
    arf_case(
        "arf-rfc5965",
        "angry.user@mailprovider.example",
        "FBL <fbl@mailprovider.example>",
        [
            "Original-Mail-From: <sam@outreach.test>",
            "Original-Rcpt-To: <angry.user@mailprovider.example>",
            "Reported-Domain: outreach.test",
        ],
        agent="SomeGenerator/1.0",
    ),
    arf_case(
        "arf-yahoo-cfl",
        "complainer@yahoo.com",
        "Yahoo! Mail AntiSpam Feedback <feedback@arf.mail.yahoo.com>",
        [
            "Original-Mail-From: <sam@outreach.test>",
            "Original-Rcpt-To: complainer@yahoo.com",
            "Reported-Domain: outreach.test",
            "Authentication-Results: mta1.mail.yahoo.com; dkim=pass header.d=outreach.test",
        ],
        agent="Yahoo!-Mail-Feedback/2.0",
    ),
    arf_case(
        "arf-aol",
        "someone@aol.com",
        "AOL Feedback Loop <scomp@aol.net>",
        ["Original-Mail-From: <sam@outreach.test>"],
        agent="AOL SComp",
    ),
    arf_case(
        "arf-returnpath",
        "cust@comcast.net",
        "Comcast Feedback Loop <feedback@comcast.returnpath.net>",
        ["Original-Rcpt-To: cust@comcast.net", "Removal-Recipient: cust@comcast.net"],
        agent="ReturnPathFBL/2.0",
    ),
    arf_case(
        "arf-mailru",
        "user@mail.ru",
        "Mail.ru FBL <fbl-noreply@corp.mail.ru>",
        ["Original-Mail-From: sam@outreach.test"],
        agent="Mail.Ru-FBL/1.0",
    ),
    arf_case(
        "arf-redacted-rcpt",
        "reader@yahoo.com",
        "Yahoo! Mail AntiSpam Feedback <feedback@arf.mail.yahoo.com>",
        ["Original-Rcpt-To: reader@yahoo.com", "Original-Mail-From: <sam@outreach.test>"],
        agent="Yahoo!-Mail-Feedback/2.0",
        redact_to=True,
    ),
]


def jmrp(name: str, rcpt: str, *, with_header: bool = True) -> Case:
    returned = original(rcpt, mid(name))
    if with_header:
        returned = f"X-HmXmrOriginalRecipient: <{rcpt}>\r\n" + returned
    else:
        returned = returned.replace(f"To: <{rcpt}>", f"To: {rcpt}")
    text = ("This is an email abuse report for an email message received from IP 198.51.100.7 on "
            f"{REPORT_DATE}.\r\nFor more information about this format please see http://postmaster.live.com/.")  # fmt: skip
    raw = plain(sender="staff@hotmail.com", subject="complaint about message from 198.51.100.7",
                text=text, attach=returned)  # fmt: skip
    raw = raw.replace(f"To: {SENDER}".encode(), b"To: jmrp@outreach.test")
    return (
        name,
        raw,
        "complaint",
        rcpt,
        False,
        False,
        "Microsoft JMRP complaint without a feedback part",
    )


COMPLAINTS += [
    jmrp("jmrp-hotmail", "reader@hotmail.com"),
    jmrp("jmrp-outlook", "reader2@outlook.com", with_header=False),
]

# --- Auto-replies, and bounces that carry auto-reply headers --------------------------------


def auto(name: str, sender: str, subject: str, text: str, headers: list[str]) -> Case:
    raw = reply(sender=sender, subject=subject, text=text, headers=headers, irt=mid(name))
    return (name, raw, "auto-reply", "", False, False, "auto-reply (not a report)")


AUTO: list[Case] = [
    auto(
        "ooo-exchange",
        "Henry Ford <henry@motors.example>",
        "Automatic reply: Quick question about onboarding",
        "I am out of the office until Monday, December 7, with limited access to email.\r\n",
        [
            "Auto-Submitted: auto-generated",
            "X-Auto-Response-Suppress: All",
            "X-MS-Exchange-Inbox-Rules-Loop: henry@motors.example",
        ],
    ),
    auto(
        "ooo-gmail-vacation",
        "Emma <emma@example.net>",
        "Re: Quick question about onboarding",
        "Thanks for your email. I'm on vacation and will reply when I am back.\r\n",
        ["Auto-Submitted: auto-replied", "Precedence: bulk", "X-Autoreply: yes"],
    ),
    auto(
        "autoreply-ticket",
        "Support <support@vendor.example>",
        "[Ticket #48213] Quick question about onboarding",
        "Thank you for contacting us. This is an automated response confirming the receipt of your ticket.\r\n",
        ["Auto-Submitted: auto-replied", "Precedence: bulk"],
    ),
    auto(
        "autoreply-no-longer-here-de",
        "Info <info@firma.example.de>",
        "Abwesenheitsnotiz: Quick question about onboarding",
        "Vielen Dank für Ihre Nachricht. Ich bin bis zum 7. Dezember nicht im Büro.\r\n",
        ["Auto-Submitted: auto-replied"],
    ),
]


def read_receipt(name: str, rcpt: str) -> Case:
    boundary = "mdn_b0undary"
    raw = (
        f"From: Reader <{rcpt}>\r\nTo: {SENDER}\r\nSubject: Read: Quick question about onboarding\r\n"
        f"Date: {REPORT_DATE}\r\nMessage-ID: <mdn.1@mail.example>\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=disposition-notification; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        "Your message was displayed on Tue, 24 Nov 2026 10:00:00 +0000. Note: this receipt only "
        "acknowledges that the message was displayed.\r\n"
        f"--{boundary}\r\nContent-Type: message/disposition-notification\r\n\r\n"
        f"Reporting-UA: mail.example; Thunderbird\r\nFinal-Recipient: rfc822;{rcpt}\r\n"
        f"Original-Message-ID: <{mid(name)}>\r\nDisposition: manual-action/MDN-sent-manually; displayed\r\n"
        f"\r\n--{boundary}--\r\n"
    ).encode()
    return (name, raw, "auto-reply", "", False, False, "RFC 8098 read receipt (not a failure)")


def dsn_with_auto_headers(
    name: str, rcpt: str, extra: list[str], klass: str, diag: str, status: str
) -> Case:
    raw = dsn(sender="Mail Delivery System <MAILER-DAEMON@mx.autohdr.example>",
              subject="Undelivered Mail Returned to Sender",
              text=f"This is the mail system at host mx.autohdr.example.\r\n\r\n<{rcpt}>: {diag}\r\n",
              reporting_mta="mx.autohdr.example",
              rcpts=[Rcpt(rcpt, status=status, diagnostic=f"smtp; {diag}")],
              returned=original(rcpt, mid(name)), headers=extra)  # fmt: skip
    return (
        name,
        raw,
        klass,
        rcpt,
        False,
        False,
        "a bounce carrying auto-reply headers is still a bounce",
    )


def text_with_auto_headers(name: str, rcpt: str, extra: list[str]) -> Case:
    text = ("Your message could not be delivered to the following recipient:\r\n\r\n"
            f"    {rcpt}\r\n\r\nReason: 550 5.1.1 mailbox unavailable\r\n\r\n-----Original Message-----\r\n")  # fmt: skip
    raw = plain(sender="Mail Administrator <mailadmin@helpdesk-host.example>",
                subject="Returned mail: delivery failure", text=text + original(rcpt, mid(name)),
                headers=extra)  # fmt: skip
    return (
        name,
        raw,
        "hard",
        rcpt,
        False,
        False,
        "plain bounce with Auto-Submitted and Precedence: bulk",
    )


AUTO += [
    read_receipt("mdn-read-receipt", "reader@mail.example"),
    dsn_with_auto_headers(
        "bounce-auto-replied",
        "left@autohdr.example",
        ["Auto-Submitted: auto-replied", "Precedence: bulk", "X-Autoreply: yes"],
        "hard",
        "550 5.1.1 <left@autohdr.example>: Recipient address rejected: User unknown",
        "5.1.1",
    ),
    dsn_with_auto_headers(
        "bounce-precedence-bulk-policy",
        "ceo@autohdr.example",
        ["Precedence: bulk", "Auto-Submitted: auto-generated"],
        "policy",
        "550 5.7.1 Message rejected as spam by Content Filtering.",
        "5.7.1",
    ),
    text_with_auto_headers(
        "bounce-text-auto-headers",
        "helpdesk@helpdesk-host.example",
        ["Auto-Submitted: auto-replied", "Precedence: bulk", "X-Auto-Response-Suppress: All"],
    ),
]

# --- Malformed recipient fields --------------------------------------------------------------


def malformed(name: str, rcpt: str, rcpts: list[Rcpt], note: str, klass: str = "hard") -> Case:
    raw = dsn(sender="Mail Delivery System <MAILER-DAEMON@mx.malformed.example>",
              subject="Undelivered Mail Returned to Sender",
              text="This is the mail system at host mx.malformed.example.\r\n\r\nYour message could not be delivered.\r\n",
              reporting_mta="mx.malformed.example", rcpts=rcpts,
              returned=original(rcpt, mid(name)), ret="hdrs")  # fmt: skip
    return (name, raw, klass, rcpt, False, False, note)


MALFORMED: list[Case] = [
    malformed(
        "malformed-pipe-final",
        "sara@example.org",
        [
            Rcpt(
                "|/usr/bin/procmail -d sara",
                original="sara@example.org",
                status="5.2.2",
                diagnostic='x-unix; procmail: Quota exceeded while writing "/var/mail/sara"',
            )
        ],
        "Final-Recipient is a pipe; Original-Recipient is the address",
        "soft",
    ),
    malformed(
        "malformed-pipe-with-address",
        "tom@example.org",
        [
            Rcpt(
                "|/path/prog tom@example.org",
                status="5.1.1",
                diagnostic="x-unix; 550 5.1.1 user unknown",
            )
        ],
        "a pipe naming an address is no address: the returned To decides",
    ),
    malformed(
        "malformed-source-route",
        "uma@example.net",
        [
            Rcpt(
                "<@mx1.relay.example,@mx2.relay.example:uma@example.net>",
                status="5.1.1",
                diagnostic="smtp; 550 5.1.1 <uma@example.net>... User unknown",
            )
        ],
        "RFC 5321 source route: the final address",
    ),
    malformed(
        "malformed-bare-host",
        "vic@example.com",
        [Rcpt("@example.com", status="5.1.1", diagnostic="smtp; 550 5.1.1 Recipient unknown")],
        "bare @host: the returned To decides",
    ),
]

ALL: list[Case] = [*SES, *SENDGRID, *MAILGUN, *COMPLAINTS, *AUTO, *MALFORMED]
_ = (headers_only, json)
