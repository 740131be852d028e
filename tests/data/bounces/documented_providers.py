"""Reports of the big mailbox providers and sending services, in their documented formats:
Gmail / Google Workspace, Microsoft 365 / Outlook.com (NDRs and JMRP complaints), Yahoo/AOL,
Apple, Amazon SES (SNS JSON by mail, and its email feedback forwarding), SendGrid and Mailgun
events forwarded by mail, ARF feedback loops, auto-replies, and the texts other large receivers
publish in their error-code references.

Each entry: (name, raw bytes, class, recipient, expired, delayed, note).
"""

# ruff: noqa: E501 - remote servers' texts are kept verbatim, one line each

from __future__ import annotations

from tests.data.bounces.documented_mtas import Case, mid
from tests.data.bounces.formats import (
    SENDER,
    Rcpt,
    dsn,
    original,
)

# --- Gmail and Google Workspace --------------------------------------------------------------

_GMAIL_TITLES = {
    "hard": (
        "Address not found",
        "Your message wasn't delivered to {r} because the address couldn't be found, or is unable to receive mail.",
    ),
    "policy": (
        "Message blocked",
        "Your message to {r} has been blocked. See technical details below for more information.",
    ),
    "soft": (
        "Message not delivered",
        "There was a problem delivering your message to {r}. See the technical details below.",
    ),
}


def gmail(name: str, rcpt: str, said: str, status: str, klass: str, *, delayed: bool = False,
          workspace: bool = False) -> Case:  # fmt: skip
    title, lead = _GMAIL_TITLES[klass]
    if delayed:
        title = "Delivery incomplete"
        lead = ("There was a temporary problem delivering your message to {r}. Gmail will retry for "
                "46 more hours. You'll be notified if the delivery fails permanently.")  # fmt: skip
    text = (f"\r\n** {title} **\r\n\r\n{lead.format(r=rcpt)}\r\n\r\n"
            f"The response from the remote server was:\r\n{said}\r\n")  # fmt: skip
    html = f"<html><body><h2>{title}</h2><p>{lead.format(r=rcpt)}</p><p>The response from the remote server was:</p><p>{said}</p></body></html>"
    sender = "Mail Delivery Subsystem <mailer-daemon@googlemail.com>"
    raw = dsn(sender=sender,
              subject="Delivery Status Notification (Delay)" if delayed else "Delivery Status Notification (Failure)",
              text=text, html=html, reporting_mta="googlemail.com",
              rcpts=[Rcpt(rcpt, action="delayed" if delayed else "failed", status=status,
                          diagnostic=f"smtp; {said}", remote_mta="dns; mx.remote.example. (203.0.113.40, the server for the domain.)",
                          extra=["Will-Retry-Until: Thu, 26 Nov 2026 09:00:00 -0800 (PST)"] if delayed else [])],
              returned=original(rcpt, mid(name)), ret="hdrs" if delayed else "full",
              headers=["X-Failed-Recipients: " + rcpt, "Auto-Submitted: auto-replied",
                       f"References: <{mid(name)}>", f"In-Reply-To: <{mid(name)}>"],
              status_extra=["X-Google-Original-From: " + SENDER])  # fmt: skip
    note = "Google Workspace DSN" if workspace else "Gmail DSN"
    return (name, raw, klass, rcpt, False, delayed, note)


GMAIL: list[Case] = [
    gmail(
        "gmail-remote-unknown",
        "nosuch@remote.example",
        "550 5.1.1 <nosuch@remote.example>: Recipient address rejected: User unknown in virtual mailbox table",
        "5.1.1",
        "hard",
    ),
    gmail(
        "gmail-gmail-nosuchuser",
        "nosuchuser.x@gmail.com",
        "550 5.1.1 The email account that you tried to reach does not exist. Please try double-checking the "
        "recipient's email address for typos or unnecessary spaces. For more information, go to "
        "https://support.google.com/mail/?p=NoSuchUser a6-20020a170902 - gsmtp",
        "5.1.1",
        "hard",
    ),
    gmail(
        "gmail-dns-nxdomain",
        "anyone@no-such-domain-xyz.example",
        "DNS Error: DNS type 'mx' lookup of no-such-domain-xyz.example responded with code NXDOMAIN "
        "Domain name not found: no-such-domain-xyz.example",
        "5.1.2",
        "hard",
    ),
    gmail(
        "gmail-generic-550",
        "pat@corp.example",
        "550 Requested action not taken: mailbox unavailable",
        "5.0.0",
        "hard",
    ),
    gmail(
        "gmail-blocked-spamhaus",
        "lee@remote.example",
        "554 5.7.1 Service unavailable; Client host [209.85.218.49] blocked using zen.spamhaus.org; "
        "https://www.spamhaus.org/query/ip/209.85.218.49",
        "5.7.1",
        "policy",
    ),
    gmail(
        "gmail-dmarc",
        "kim@remote.example",
        "550 5.7.1 Email rejected per DMARC policy for outreach.test",
        "5.7.1",
        "policy",
    ),
    gmail(
        "gmail-full",
        "full@remote.example",
        "552 5.2.2 <full@remote.example>: user is over quota",
        "5.2.2",
        "soft",
    ),
    gmail(
        "gmail-delay-quota",
        "full.box@gmail.com",
        "452 4.2.2 The recipient's inbox is out of storage space. Please direct the recipient to "
        "https://support.google.com/mail/?p=OverQuotaTemp",
        "4.2.2",
        "soft",
        delayed=True,
    ),
    gmail(
        "gmail-delay-dns",
        "team@flaky-dns.example",
        "DNS Error: DNS type 'mx' lookup of flaky-dns.example responded with code SERVFAIL",
        "4.0.0",
        "soft",
        delayed=True,
    ),
    gmail(
        "workspace-disabled",
        "gone@workspace-customer.example",
        "550 5.2.1 The email account that you tried to reach is disabled. "
        "https://support.google.com/mail/?p=DisabledUser b1-20020a05 - gsmtp",
        "5.2.1",
        "hard",
        workspace=True,
    ),
    gmail(
        "workspace-mimecast",
        "cfo@mimecast-customer.example",
        "550 Invalid Recipient - https://community.mimecast.com/docs/DOC-1369#550 [Xy9Q3cz1PvuWXs6DLaV1Ag.uk61]",
        "5.0.0",
        "hard",
        workspace=True,
    ),
    gmail(
        "workspace-proofpoint",
        "ceo@proofpoint-customer.example",
        "554 5.7.0 Blocked - see https://ipcheck.proofpoint.com/?ip=209.85.218.49",
        "5.7.0",
        "policy",
        workspace=True,
    ),
]

# --- Microsoft 365 / Outlook.com NDRs --------------------------------------------------------


def microsoft(name: str, rcpt: str, headline: str, status: str, diag: str, klass: str, *,
              consumer: bool = False, delayed: bool = False, expired: bool = False) -> Case:  # fmt: skip
    domain = rcpt.split("@")[1]
    text = (
        f"{headline}\r\n\r\n"
        + ("" if delayed else f"Your message to {rcpt} couldn't be delivered.\r\n\r\n")
        + f"{domain.split('.')[0]}\r\nAction Required\r\nRecipient\r\n\r\n"
        "How to Fix It\r\nThe address may be misspelled or may not exist. Try one or more of the following:\r\n"
        "  - Retype the recipient's address, then resend the message.\r\n\r\n"
        "More Info for Email Admins\r\n"
        f"Status code: {status}\r\n\r\n"
        "Original Message Details\r\nCreated Date:\t11/24/2026 9:00:00 AM\r\n"
        f"Sender Address:\t{SENDER}\r\nRecipient Address:\t{rcpt}\r\nSubject:\tQuick question about onboarding\r\n\r\n"
        f"Error Details\r\nReported error:\t{diag.split(';', 1)[1].strip()}\r\n"
        "DSN generated by:\tAM9PR04MB8084.eurprd04.prod.outlook.com\r\n"
    )
    html = "<html><body><p>" + text.replace("\r\n", "<br>") + "</p></body></html>"
    sender = ("postmaster@outlook.com" if consumer
              else "Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@contoso.example>")  # fmt: skip
    subject = (
        "Delivery delayed:" if delayed else "Undeliverable:"
    ) + " Quick question about onboarding"
    raw = dsn(sender=sender, subject=subject, text=text, html=html,
              reporting_mta="AM9PR04MB8084.eurprd04.prod.outlook.com",
              rcpts=[Rcpt(rcpt, original=rcpt, action="delayed" if delayed else "failed",
                          status=status, diagnostic=diag,
                          remote_mta="dns;mx.remote.example" if ":" in diag else None,
                          extra=["X-Display-Name: Recipient"])],
              returned=original(rcpt, mid(name)), ret="hdrs",
              headers=["X-MS-Exchange-Message-Is-Ndr:", f"In-Reply-To: <{mid(name)}>",
                       f"References: <{mid(name)}>", "Content-Language: en-US", "Auto-Submitted: auto-generated"],
              status_extra=["Received-From-MTA: dns;PAXPR04MB8510.eurprd04.prod.outlook.com"])  # fmt: skip
    note = "Outlook.com NDR" if consumer else "Exchange Online NDR"
    return (name, raw, klass, rcpt, expired, delayed, note)


MICROSOFT: list[Case] = [
    microsoft(
        "m365-recipient-not-found",
        "j.smith@contoso.example",
        "Your message to j.smith@contoso.example couldn't be delivered.\r\nj.smith wasn't found at contoso.example.",
        "5.1.10",
        "smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient j.smith@contoso.example not found by SMTP address lookup",
        "hard",
    ),
    microsoft(
        "m365-dbeb",
        "a.jones@fabrikam.example",
        "Your message couldn't be delivered.",
        "5.4.1",
        "smtp;550 5.4.1 Recipient address rejected: Access denied. AS(201806281) [DM6NAM12FT045.eop-nam12.prod.protection.outlook.com 2026-11-24T09:00:05.000Z 08DD2B]",
        "hard",
    ),
    microsoft(
        "m365-generic-status-specific-text",
        "l.ray@fabrikam.example",
        "Your message couldn't be delivered.",
        "5.0.0",
        "smtp;550 5.1.1 <l.ray@fabrikam.example>: Recipient address rejected: User unknown in relay recipient table",
        "hard",
    ),
    microsoft(
        "m365-banned-ip",
        "b.white@tailspin.example",
        "Your message couldn't be delivered because the recipient's email provider rejected it.",
        "5.7.606",
        "smtp;550 5.7.606 Access denied, banned sending IP [40.92.1.1]. To request removal from this list please visit https://sender.office.com/ and follow the directions. For more information please go to http://go.microsoft.com/fwlink/?LinkID=526655 AS(1430)",
        "policy",
    ),
    microsoft(
        "m365-515",
        "pat.lee@hotmail.com",
        "Your message couldn't be delivered because the recipient's email provider rejected it.",
        "5.7.515",
        "smtp;550 5.7.515 Access denied, sending domain [OUTREACH.TEST] doesn't meet the required authentication level.",
        "policy",
        consumer=True,
    ),
    microsoft(
        "m365-group-restricted",
        "allstaff@contoso.example",
        "Your message couldn't be delivered to the group because you don't have permission to send to it.",
        "5.7.133",
        "smtp;550 5.7.133 RESOLVER.RST.SenderNotAuthenticatedForGroup; authentication required; Delivery restriction check failed as sender not authenticated for group",
        "policy",
    ),
    microsoft(
        "m365-external-forwarding",
        "c.green@northwind.example",
        "Your message couldn't be delivered.",
        "5.7.520",
        "smtp;550 5.7.520 Access denied, Your organization does not allow external forwarding. Please contact your administrator for further assistance. AS(7555)",
        "policy",
    ),
    microsoft(
        "m365-750",
        "d.black@woodgrove.example",
        "Your message couldn't be delivered.",
        "5.7.750",
        "smtp;550 5.7.750 Service unavailable. Client blocked from sending from unregistered domains.",
        "policy",
    ),
    microsoft(
        "m365-full",
        "e.brown@contoso.example",
        "Your message to e.brown@contoso.example couldn't be delivered.\r\nThe recipient's mailbox is full.",
        "5.2.2",
        "smtp;554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded; Failed to process message due to a permanent exception",
        "soft",
    ),
    microsoft(
        "m365-too-big",
        "f.gray@contoso.example",
        "Your message is too big to be delivered.",
        "5.3.4",
        "smtp;552 5.3.4 Message size exceeds fixed maximum message size",
        "soft",
    ),
    microsoft(
        "m365-expired",
        "g.blue@slowpoke.example",
        "Delivery has failed to these recipients or groups.",
        "4.4.7",
        "smtp;550 4.4.7 QUEUE.Expired; message expired",
        "soft",
        expired=True,
    ),
    microsoft(
        "m365-delayed",
        "ops@corp.example",
        "Delivery is delayed to these recipients or groups.",
        "4.4.7",
        "smtp;400 4.4.7 Message delayed",
        "soft",
        delayed=True,
    ),
    microsoft(
        "m365-dns-domain",
        "h.red@no-longer-registered.example",
        "Your message couldn't be delivered because the domain couldn't be found.",
        "5.4.310",
        "smtp;550 5.4.310 DNS domain no-longer-registered.example does not exist [Message=InfoDomainNonexistent]",
        "hard",
    ),
    microsoft(
        "outlookcom-unavailable",
        "nobody.here@outlook.com",
        "Your message to nobody.here@outlook.com couldn't be delivered.",
        "5.5.0",
        "smtp;550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302). [AM2PEPF0001C70F.eurprd05.prod.outlook.com]",
        "hard",
        consumer=True,
    ),
    microsoft(
        "outlookcom-s3150",
        "x.y@hotmail.com",
        "Your message couldn't be delivered.",
        "5.7.1",
        "smtp;550 5.7.1 Unfortunately, messages from [198.51.100.7] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150).",
        "policy",
        consumer=True,
    ),
]

# --- Yahoo / AOL, Apple and other large receivers, relayed through a Postfix sender ----------


def postfix_relay(name: str, rcpt: str, said: str, status: str, klass: str, note: str, *,
                  delayed: bool = False, expired: bool = False) -> Case:  # fmt: skip
    stage = "RCPT TO command" if "DATA" not in note else "end of DATA command"
    lead = ("I'm sorry to have to inform you that your message could not\r\n"
            "be delivered to one or more recipients. It's attached below.")  # fmt: skip
    if delayed:
        lead = ("####################################################################\r\n"
                "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\r\n"
                "####################################################################\r\n\r\n"
                "Your message could not be delivered for more than 4 hour(s).\r\n"
                "It will be retried until it is 5 day(s) old.")  # fmt: skip
    text = (
        f"This is the mail system at host smtp.outreach.test.\r\n\r\n{lead}\r\n\r\n"
        "For further assistance, please send mail to postmaster.\r\n\r\n"
        "                   The mail system\r\n\r\n"
        f"<{rcpt}>: host mx.{rcpt.split('@')[1]}[203.0.113.60] said: {said} (in reply to {stage})\r\n"
    )
    raw = dsn(sender="MAILER-DAEMON@smtp.outreach.test (Mail Delivery System)",
              subject="Delayed Mail (still being retried)" if delayed else "Undelivered Mail Returned to Sender",
              text=text, reporting_mta="smtp.outreach.test",
              rcpts=[Rcpt(rcpt, original=rcpt, action="delayed" if delayed else "failed", status=status,
                          diagnostic=f"smtp; {said}", remote_mta=f"dns; mx.{rcpt.split('@')[1]}")],
              returned=original(rcpt, mid(name)), ret="hdrs" if delayed else "full",
              headers=["Auto-Submitted: auto-replied"],
              status_extra=["X-Postfix-Queue-ID: 4Zb3Kq1x7Tz9sWm", f"X-Postfix-Sender: rfc822; {SENDER}"])  # fmt: skip
    return (name, raw, klass, rcpt, expired, delayed, note)


RECEIVERS: list[Case] = [
    postfix_relay(
        "yahoo-no-account",
        "nobody123@yahoo.com",
        "554 delivery error: dd This user doesn't have a yahoo.com account (nobody123@yahoo.com) [0] - mta1009.mail.gq1.yahoo.com",
        "5.0.0",
        "hard",
        "Yahoo receiver text",
    ),
    postfix_relay(
        "yahoo-disabled",
        "old.name@yahoo.com",
        "554 delivery error: dd Sorry your message to old.name@yahoo.com cannot be delivered. This mailbox is disabled (554.30). - mta4221.mail.bf1.yahoo.com",
        "5.0.0",
        "hard",
        "Yahoo receiver text",
    ),
    postfix_relay(
        "yahoo-tss04",
        "deals@yahoo.com",
        "421 4.7.0 [TSS04] Messages from 198.51.100.7 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
        "4.7.0",
        "policy",
        "Yahoo receiver text",
        expired=True,
    ),
    postfix_relay(
        "yahoo-tss04-delay",
        "deals2@yahoo.com",
        "421 4.7.0 [TSS04] Messages from 198.51.100.7 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
        "4.7.0",
        "policy",
        "Yahoo receiver text",
        delayed=True,
    ),
    postfix_relay(
        "yahoo-ts03",
        "shop@yahoo.com",
        "553 5.7.2 [TSS09] All messages from 198.51.100.7 will be permanently deferred; Retrying will NOT succeed. See https://postmaster.yahooinc.com/error-codes",
        "5.7.2",
        "policy",
        "Yahoo receiver text",
    ),
    postfix_relay(
        "aol-no-user",
        "gone@aol.com",
        "550 5.1.1 <gone@aol.com>: Recipient address rejected: aol.com",
        "5.1.1",
        "hard",
        "AOL receiver text",
    ),
    postfix_relay(
        "icloud-no-user",
        "nobody@icloud.com",
        "550 5.1.1 <nobody@icloud.com>: user does not exist",
        "5.1.1",
        "hard",
        "iCloud receiver text",
    ),
    postfix_relay(
        "icloud-cs01",
        "someone@icloud.com",
        "554 5.7.1 [CS01] Message rejected due to local policy. Please visit https://support.apple.com/en-us/HT204137",
        "5.7.1",
        "policy",
        "iCloud receiver text (DATA)",
    ),
    postfix_relay(
        "icloud-hm08",
        "person@me.com",
        "550 5.7.1 [HM08] Message rejected due to local policy. Please visit https://support.apple.com/en-us/HT204137",
        "5.7.1",
        "policy",
        "iCloud receiver text (DATA)",
    ),
    postfix_relay(
        "gmx-unavailable",
        "leer@gmx.de",
        "550 Requested action not taken: mailbox unavailable",
        "5.0.0",
        "hard",
        "GMX receiver text",
    ),
    postfix_relay(
        "gmx-storage",
        "voll@gmx.de",
        "552 Requested mail action aborted: exceeded storage allocation",
        "5.0.0",
        "soft",
        "GMX receiver text",
    ),
    postfix_relay(
        "webde-blocked",
        "kunde@web.de",
        "554-web.de (mxweb112) Nemesis ESMTP Service not available 554-No SMTP service 554-Bad DNS PTR resource record. 554 For explanation visit https://postmaster.web.de/error-messages?ip=198.51.100.7&c=rdns",
        "5.0.0",
        "policy",
        "web.de receiver text",
    ),
    postfix_relay(
        "tonline-bl",
        "kunde@t-online.de",
        "554 IP=198.51.100.7 - A problem occurred. (Ask your postmaster for help or to contact tosa@rx.t-online.de to clarify.) (BL)",
        "5.0.0",
        "policy",
        "T-Online receiver text",
    ),
    postfix_relay(
        "comcast-bl",
        "someone@comcast.net",
        "554 resimta-po-33v.sys.comcast.net comcast 198.51.100.7 Comcast block for spam.  Please see http://postmaster.comcast.net/smtp-error-codes.php#BL000000",
        "5.0.0",
        "policy",
        "Comcast receiver text",
    ),
    postfix_relay(
        "att-dnsbl",
        "user@att.net",
        "553 5.3.0 flph829 DNSBL:RBL 521< 198.51.100.7 >_is_blocked.For assistance forward this email to abuse_rbl@abuse-att.net",
        "5.3.0",
        "policy",
        "AT&T receiver text",
    ),
    postfix_relay(
        "hotmail-sc001",
        "user@hotmail.com",
        "550 SC-001 (BAY004-MC1F43) Unfortunately, messages from 198.51.100.7 weren't sent. Please contact your Internet service provider. You can tell them that Hotmail does not relay dynamically-assigned IP ranges.",
        "5.0.0",
        "policy",
        "Hotmail receiver text",
    ),
    postfix_relay(
        "hotmail-rp001",
        "user2@hotmail.com",
        "421 RP-001 (BAY004-MC1F8) Unfortunately, some messages from 198.51.100.7 weren't sent. Please try again. We have limits for how many messages can be sent per hour and per day.",
        "4.0.0",
        "policy",
        "Hotmail receiver text",
        expired=True,
    ),
    postfix_relay(
        "mailru-no-user",
        "nikto@mail.ru",
        "550 Message was not accepted -- invalid mailbox.  Local mailbox nikto@mail.ru is unavailable: user not found",
        "5.0.0",
        "hard",
        "Mail.ru receiver text",
    ),
    postfix_relay(
        "mailru-spam",
        "klient@mail.ru",
        "550 spam message rejected. Please visit http://help.mail.ru/notspam-support/id?c=abc123 or report details to abuse@corp.mail.ru. Error code: 1D2A3B4C.",
        "5.0.0",
        "policy",
        "Mail.ru receiver text (DATA)",
    ),
    postfix_relay(
        "yandex-no-user",
        "nikogo@yandex.ru",
        "550 5.7.1 No such user!",
        "5.7.1",
        "hard",
        "Yandex receiver text",
    ),
    postfix_relay(
        "yandex-spam",
        "pokupatel@yandex.ru",
        "554 5.7.1 [2] Message rejected under suspicion of SPAM; https://ya.cc/1IrBc 1700000000-aBcDeFgH",
        "5.7.1",
        "policy",
        "Yandex receiver text (DATA)",
    ),
    postfix_relay(
        "qq-not-found",
        "12345@qq.com",
        "550 Mailbox not found. http://service.mail.qq.com/cgi-bin/help?subtype=1&&id=20022&&no=1000728",
        "5.0.0",
        "hard",
        "QQ Mail receiver text",
    ),
    postfix_relay(
        "qq-content",
        "67890@qq.com",
        "550 Mail content denied. http://service.mail.qq.com/cgi-bin/help?subtype=1&&id=20022&&no=1000726",
        "5.0.0",
        "policy",
        "QQ Mail receiver text (DATA)",
    ),
    postfix_relay(
        "netease-spam",
        "kehu@163.com",
        "554 DT:SPM 163 mx14,QMCowACXBMuK3jBhPvvXAw--.53542S2 1700000000, please see http://mail.163.com/help/help_spam_16.htm?ip=198.51.100.7&hostid=mx14&time=1700000000",
        "5.0.0",
        "policy",
        "NetEase receiver text (DATA)",
    ),
    postfix_relay(
        "netease-no-user",
        "meiyou@163.com",
        "550 User not found: meiyou@163.com",
        "5.0.0",
        "hard",
        "NetEase receiver text",
    ),
    postfix_relay(
        "zoho-no-user",
        "noone@zoho.com",
        "550 5.1.1 User does not exist - <noone@zoho.com>",
        "5.1.1",
        "hard",
        "Zoho receiver text",
    ),
    postfix_relay(
        "ironport-address",
        "x@ironport-customer.example",
        "550 #5.1.0 Address rejected.",
        "5.0.0",
        "hard",
        "Cisco IronPort receiver text",
    ),
    postfix_relay(
        "ironport-sender-domain",
        "y@ironport-customer.example",
        "553 #5.1.8 Domain of sender address sam@outreach.test does not exist",
        "5.0.0",
        "policy",
        "Cisco IronPort receiver text",
    ),
    postfix_relay(
        "barracuda-rcpt",
        "z@barracuda-customer.example",
        "550 permanent failure for one or more recipients (z@barracuda-customer.example:blocked)",
        "5.0.0",
        "policy",
        "Barracuda receiver text",
    ),
    postfix_relay(
        "postgrey-expired",
        "slow@greylisting.example",
        "450 4.2.0 <slow@greylisting.example>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/greylisting.example.html",
        "4.2.0",
        "soft",
        "postgrey",
        expired=True,
    ),
    postfix_relay(
        "too-many-recipients",
        "list@bulk.example",
        "452 4.5.3 Error: too many recipients",
        "4.5.3",
        "soft",
        "Postfix receiver limit",
        expired=True,
    ),
    postfix_relay(
        "mailbox-inactive",
        "retired@example.co",
        "550 5.2.1 <retired@example.co>: account is inactive",
        "5.2.1",
        "hard",
        "generic",
    ),
]
