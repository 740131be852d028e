"""Less common report writers, in the layouts their manuals and public sample notices show:
Oracle/Sun Messaging Server, MailMarshal, Symantec MessageLabs, Trend Micro InterScan, Kerio,
Novell GroupWise, MDaemon, Ipswitch IMail, Apache James, McAfee/MXLogic, Google Groups, the
Japanese carriers' notices, old Hotmail NDRs, and localized Exchange notices.

Each entry: (name, raw bytes, class, recipient, expired, delayed, note).
"""

# ruff: noqa: E501 - remote servers' texts are kept verbatim, one line each

from __future__ import annotations

from tests.data.bounces.documented_mtas import Case, mid
from tests.data.bounces.formats import SENDER, Rcpt, dsn, original, plain


def text_case(name: str, rcpt: str, sender: str, subject: str, text: str, klass: str, note: str,
              *, attach: bool = True, inline: bool = False, delayed: bool = False,
              expired: bool = False, charset: str = "us-ascii") -> Case:  # fmt: skip
    returned = original(rcpt, mid(name))
    if inline:
        raw = plain(sender=sender, subject=subject, text=text + returned, charset=charset)
    else:
        raw = plain(sender=sender, subject=subject, text=text,
                    attach=returned if attach else None, charset=charset)  # fmt: skip
    return (name, raw, klass, rcpt, expired, delayed, note)


OTHERS: list[Case] = [
    text_case(
        "oracle-messaging-server",
        "rcpt@oracle-customer.example",
        "postmaster@ims.oracle-customer.example",
        "Delivery Notification: Delivery has failed",
        "This report relates to a message you sent with the following header fields:\r\n\r\n"
        f"  Message-id: <{mid('oracle-messaging-server')}>\r\n  Date: Tue, 24 Nov 2026 09:00:00 +0000\r\n"
        f"  From: {SENDER}\r\n  To: rcpt@oracle-customer.example\r\n\r\n"
        "Your message cannot be delivered to the following recipients:\r\n\r\n"
        "  Recipient address: rcpt@oracle-customer.example\r\n"
        "  Reason: Remote SMTP server has rejected address\r\n"
        "  Diagnostic code: smtp;550 5.1.1 <rcpt@oracle-customer.example>... User unknown\r\n"
        "  Remote system: dns;mx.oracle-customer.example (TCP|10.1.1.1|25|203.0.113.80|25)\r\n",
        "hard",
        "Oracle Communications Messaging Server notice",
    ),
    text_case(
        "mailmarshal",
        "staff@marshal-customer.example",
        "MailMarshal <postmaster@marshal-customer.example>",
        "Undeliverable Mail",
        "Your message:\r\n\r\n   From:    Sam Carter <sam@outreach.test>\r\n"
        "   Subject: Quick question about onboarding\r\n\r\nCould not be delivered because of\r\n\r\n"
        "550 5.1.1 User unknown\r\n\r\nThe following recipients were affected: \r\n"
        "    staff@marshal-customer.example\r\n\r\nAdditional Information\r\n"
        "======================\r\n\r\nOriginal Sender:    <sam@outreach.test>\r\n",
        "hard",
        "MailMarshal notice",
    ),
    text_case(
        "messagelabs",
        "buyer@messagelabs-customer.example",
        "Mail Delivery System <MAILER-DAEMON@messagelabs.com>",
        "Mail Delivery Failure",
        "This is an automatically generated Delivery Status Notification.\r\n\r\n"
        "Delivery to the following recipients failed.\r\n\r\n       buyer@messagelabs-customer.example\r\n\r\n"
        "Reason: 553 sorry, this recipient is not in my validrcptto list (#5.7.1)\r\n",
        "hard",
        "Symantec MessageLabs notice (qmail's validrcptto: the recipient is not valid, whatever the 5.7.1)",
    ),
    text_case(
        "hotmail-old-ndr",
        "someone@old-hotmail-host.example",
        "postmaster@hotmail.com",
        "Delivery Status Notification (Failure)",
        "This is an automatically generated Delivery Status Notification.\r\n\r\n"
        "Delivery to the following recipients failed.\r\n\r\n       someone@old-hotmail-host.example\r\n\r\n",
        "hard",
        "Hotmail NDR of the 2000s (no reason given: a permanent failure)",
    ),
    text_case(
        "trendmicro-interscan",
        "user@trend-customer.example",
        "postmaster@imss.trend-customer.example",
        "Mail could not be delivered",
        "The original message was received at Tue, 24 Nov 2026 09:00:00 +0000 from mail.outreach.test [198.51.100.7]\r\n\r\n"
        "----- The following addresses had permanent fatal errors -----\r\n\r\n"
        "Sent <<< RCPT TO:<user@trend-customer.example>\r\n"
        "Received >>> 550 5.1.1 <user@trend-customer.example>... User unknown\r\n",
        "hard",
        "Trend Micro InterScan MSS notice",
    ),
    text_case(
        "kerio",
        "boss@kerio-customer.example",
        "Mail Delivery System <mailer-daemon@kerio-customer.example>",
        "Undeliverable: Quick question about onboarding",
        "Your message did not reach some or all of the intended recipients.\r\n\r\n"
        "   Sent: Tue, 24 Nov 2026 09:00:00 +0000\r\n   Subject: Quick question about onboarding\r\n\r\n"
        "The following recipient(s) could not be reached:\r\n\r\n"
        "boss@kerio-customer.example\r\n   Error Type: SMTP\r\n"
        "   Remote server (203.0.113.81) issued an error.\r\n"
        "   hMailServer sent: RCPT TO:<boss@kerio-customer.example>\r\n"
        "   Remote server replied: 550 5.2.2 boss@kerio-customer.example Mailbox full\r\n",
        "soft",
        "Kerio / hMailServer notice",
    ),
    text_case(
        "groupwise",
        "jsmith@gw-customer.example",
        "Mail Administrator <postmaster@gw-customer.example>",
        "Message status - undeliverable",
        "The message that you sent was undeliverable to the following:\r\n"
        "\tjsmith@gw-customer.example (user not found)\r\n\r\n"
        "Possible causes:\r\n\tThe e-mail address might have been typed incorrectly.\r\n",
        "hard",
        "Novell GroupWise notice",
    ),
    text_case(
        "mdaemon-permanent",
        "tom@mdaemon-customer.example",
        "MDaemon@mdaemon-customer.example",
        "Permanent Delivery Failure",
        "The attached message had PERMANENT fatal delivery errors!\r\n\r\n"
        "After one or more unsuccessful delivery attempts the attached message has been removed from the\r\n"
        "mail queue on this server.  The number and frequency of delivery attempts are determined by local\r\n"
        "configuration parameters.\r\n\r\nYOU SHOULD NOT RESEND THIS MESSAGE\r\n\r\n"
        "--- Session Transcript ---\r\n Tue 2026-11-24 09:00:03: Parsing message <mdaemon.msg>\r\n"
        " Tue 2026-11-24 09:00:03: *  From: sam@outreach.test\r\n"
        " Tue 2026-11-24 09:00:03: *  To: tom@mdaemon-customer.example\r\n"
        " Tue 2026-11-24 09:00:04: --> RCPT To:<tom@mdaemon-customer.example>\r\n"
        " Tue 2026-11-24 09:00:04: <-- 550 5.1.1 <tom@mdaemon-customer.example>: Recipient address rejected: User unknown\r\n"
        "--- End Transcript ---\r\n",
        "hard",
        "MDaemon notice",
    ),
    text_case(
        "mdaemon-warning",
        "ann@mdaemon-customer.example",
        "MDaemon@mdaemon-customer.example",
        "Warning: Temporary Delivery Failure Notice",
        "The attached message has not been delivered yet.\r\n\r\nThis is only a warning: delivery will be\r\n"
        "retried for another 4 days.  YOU DO NOT NEED TO RESEND THE MESSAGE.\r\n\r\n"
        "--- Session Transcript ---\r\n"
        " Tue 2026-11-24 09:00:04: <-- 451 4.7.1 Greylisted, please try again in 300 seconds\r\n"
        " Tue 2026-11-24 09:00:04: --> RCPT To:<ann@mdaemon-customer.example>\r\n"
        "--- End Transcript ---\r\n",
        "soft",
        "MDaemon delay warning",
        delayed=True,
    ),
    text_case(
        "imail",
        "info@imail-customer.example",
        "postmaster@imail-customer.example",
        "Undeliverable Mail",
        "Unknown user: info@imail-customer.example\r\n\r\nOriginal message follows.\r\n\r\n",
        "hard",
        "Ipswitch IMail notice",
        attach=False,
        inline=True,
    ),
    text_case(
        "apache-james",
        "dev@james-customer.example",
        "mailer-daemon@james-customer.example",
        "[BOUNCE]",
        "Hi. This is the James mail server at james-customer.example.\r\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\r\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.  Below\r\n"
        "I include the list of recipients and the reason why I was unable to deliver\r\n"
        "your message.\r\n\r\nFailed recipient(s):\r\ndev@james-customer.example\r\n\r\n"
        "Error message:\r\n550 - Requested action not taken: no such user here\r\n",
        "hard",
        "Apache James notice",
    ),
    text_case(
        "mxlogic",
        "kim@mxlogic-customer.example",
        "Mail Delivery System <postmaster@mxlogic.net>",
        "Returned mail: see transcript for details",
        "The original message was received at Tue, 24 Nov 2026 09:00:00 +0000\r\n\r\n"
        "   ----- The following addresses had delivery problems -----\r\n\r\n"
        "<kim@mxlogic-customer.example>   (5.1.1 <kim@mxlogic-customer.example>... User unknown)\r\n",
        "hard",
        "McAfee MXLogic notice",
    ),
    text_case(
        "google-groups",
        "announce@googlegroups.com",
        "Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
        "Address not found",
        "Hello sam@outreach.test,\r\n\r\nWe're writing to let you know that the group you tried to contact "
        "(announce) may not exist, or you may not have permission to post messages to the group. "
        "A few more details on why you weren't able to post:\r\n\r\n"
        " * You might have spelled or formatted the group name incorrectly.\r\n"
        " * The owner of the group may have removed this group.\r\n"
        " * You may need to join the group before receiving permission to post.\r\n"
        " * This group may not be open to posting.\r\n",
        "hard",
        "Google Groups notice (the group may not exist)",
    ),
    text_case(
        "docomo",
        "taro@docomo.example",
        "Postmaster@docomo.example",
        "Undelivered Mail",
        "The following recipients could not receive this message:\r\n\r\n<taro@docomo.example>\r\n\r\n"
        "Please reply to <Postmaster@docomo.example>\r\nif you feel this message to be in error.\r\n",
        "hard",
        "NTT DoCoMo notice",
    ),
    text_case(
        "exchange-de",
        "kunde@firma.example.de",
        "Microsoft Outlook <postmaster@firma.example.de>",
        "Unzustellbar: Quick question about onboarding",
        "Ihre Nachricht an kunde@firma.example.de konnte nicht zugestellt werden.\r\n\r\n"
        "kunde wurde bei firma.example.de nicht gefunden.\r\n\r\n"
        "Die Adresse existiert nicht.\r\n\r\nStatuscode: 550 5.1.10\r\n",
        "hard",
        "Exchange Online notice in German (text only)",
        charset="utf-8",
    ),
    text_case(
        "exchange-fr",
        "client@societe.example.fr",
        "Microsoft Outlook <postmaster@societe.example.fr>",
        "Non remis : Quick question about onboarding",
        "Votre message n'a pas pu être remis à client@societe.example.fr.\r\n\r\n"
        "La boîte aux lettres du destinataire est pleine.\r\n\r\nCode d'état : 554 5.2.2\r\n",
        "soft",
        "Exchange Online notice in French (text only)",
        charset="utf-8",
    ),
]

# A DSN whose Exchange-internal recipient must not be taken for the address.
OTHERS.append(
    (
        "exchange-imcea-original",
        dsn(
            sender="Microsoft Exchange <postmaster@corp3.example>",
            subject="Undeliverable: Quick question",
            text="Delivery has failed to these recipients or groups:\r\n\r\nlee@corp3.example\r\n",
            reporting_mta="ex01.corp3.example",
            rcpts=[
                Rcpt(
                    "lee@corp3.example",
                    status="5.1.1",
                    original="IMCEAEX-_O=CORP3_OU=EXCHANGE+20ADMINISTRATIVE+20GROUP_CN=RECIPIENTS_CN=lee@corp3.example",
                    diagnostic="smtp;550 5.1.1 RESOLVER.ADR.ExRecipNotFound; not found",
                )
            ],
            returned=original("lee@corp3.example", mid("exchange-imcea-original")),
        ),
        "hard",
        "lee@corp3.example",
        False,
        False,
        "Exchange DSN with an IMCEAEX Original-Recipient",
    )
)
