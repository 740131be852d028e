"""What the bounce world's recipients do when our Postfix delivers to them, and what we expect.

Every scenario is one message from ``sam@outreach.test`` to one recipient. The recipient's
domain decides where Postfix takes it:

- ``dovecot.test``: the Dovecot mail store over LMTP (unknown user, mailbox over quota, success);
- names the namespace's DNS answers with NXDOMAIN, SERVFAIL, a null MX, an unreachable or a
  closed MX host;
- domains whose MX is a second, *receiving* Postfix (127.0.0.3, 127.0.0.4) configured with the
  restrictions real receivers use (DNSBLs, reverse-DNS, HELO and sender-domain checks, body
  checks, size limits, relay control, virtual mailboxes, a forward to a dead domain);
- domains whose MX is a scripted aiosmtpd host (127.0.0.10-15) answering with the refusal
  texts providers document for their receivers (Gmail, Microsoft, Yahoo, Apple, GMX, Mimecast,
  Proofpoint, Barracuda, Cisco, Comcast, T-Online...), at the greeting, MAIL, RCPT or DATA.

Postfix itself writes every report (bounce, delay warning, success), so the corpus is real
Postfix output about real SMTP conversations; only the remote texts are scripted, from the
providers' published error references.

Classes: hard (the address does not exist or is disabled/moved), soft (mailbox full, too big,
network/system errors, greylisting, expiry), policy (our IP, domain, authentication or content
was refused, or the receiver rate-limited us), delivered (success or relay reports).
"""

# ruff: noqa: E501 - remote servers' texts are kept verbatim, one line each

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SENDER = "sam@outreach.test"
SENDER_DOMAIN = "outreach.test"
#: A marker in every Message-ID: the report about a scenario is found by it, not by the parser.
MESSAGE_ID = "<bw-{name}@outreach.test>"
#: The receiving Postfix's addresses in the namespace.
REMOTE_POSTFIX_IP = "127.0.0.3"
REMOTE_POSTFIX_SMALL_IP = "127.0.0.4"
SCRIPTED_IP = "127.0.0.10"
#: A phrase the receiving Postfix's body_checks refuse.
SPAM_PHRASE = "GUARANTEED RISK-FREE CRYPTO RETURNS"


@dataclass(frozen=True)
class Scenario:
    name: str
    recipient: str
    klass: str
    """The class of the final report: hard, soft, policy or delivered."""
    note: str
    expired: bool = False
    """Deferred until the queue lifetime ran out: the final report is Action: failed, 4.x.x."""
    delay_notice: bool = False
    """A delay warning (Action: delayed) comes before the final report."""
    final: bool = True
    """False when the message is eventually delivered: only the delay warning comes back."""
    notify: str | None = None
    ret: str | None = None
    spam: bool = False
    big: bool = False
    report_recipient: str | None = None
    """The address the report must name when it is not ``recipient`` itself."""


def _s(name: str, recipient: str, klass: str, note: str, **kw: Any) -> Scenario:
    return Scenario(name, recipient, klass, note, **kw)


def _expired(name: str, recipient: str, klass: str, note: str, **kw: Any) -> Scenario:
    return Scenario(name, recipient, klass, note, expired=True, delay_notice=True, **kw)


# --- the scripted receivers: (domain, stage, reply, class, expired) -------------------------------
#
# Texts from the providers' published SMTP error references; "{ip}" is our sending address.
# A stage of "banner" or "mail" refuses every recipient of that host, so those get their own IP.

_GOOGLE = [
    (
        "g-nouser",
        "rcpt",
        "550-5.1.1 The email account that you tried to reach does not exist. Please try\n550-5.1.1 double-checking the recipient's email address for typos or\n550-5.1.1 unnecessary spaces. For more information, go to\n550 5.1.1  https://support.google.com/mail/?p=NoSuchUser d2e1a72fcca58-7 - gsmtp",
        "hard",
    ),
    (
        "g-disabled",
        "rcpt",
        "550-5.2.1 The email account that you tried to reach is disabled. For more\n550-5.2.1 information, go to\n550 5.2.1  https://support.google.com/mail/?p=DisabledUser a1-20020a05 - gsmtp",
        "hard",
    ),
    (
        "g-inactive",
        "rcpt",
        "550 5.2.1 The email account that you tried to reach is inactive. For more information, go to https://support.google.com/mail/?p=DisabledUser b3-20020a17 - gsmtp",
        "hard",
    ),
    (
        "g-overquota",
        "rcpt",
        "452-4.2.2 The recipient's inbox is out of storage space. Please direct the\n452-4.2.2 recipient to\n452 4.2.2  https://support.google.com/mail/?p=OverQuotaTemp c4-20020a62 - gsmtp",
        "soft",
        True,
    ),
    (
        "g-overquota-perm",
        "rcpt",
        "552-5.2.2 The recipient's inbox is out of storage space and inactive. Please\n552-5.2.2 direct the recipient to\n552 5.2.2  https://support.google.com/mail/?p=OverQuotaPerm d5-20020a63 - gsmtp",
        "soft",
    ),
    (
        "g-unauth",
        "data",
        "550-5.7.26 This mail has been blocked because the sender is unauthenticated.\n550-5.7.26 Gmail requires all senders to authenticate with either SPF or DKIM.\n550-5.7.26 \n550-5.7.26  Authentication results:\n550-5.7.26  DKIM = did not pass\n550-5.7.26  SPF [outreach.test] with ip: [{ip}] = did not pass\n550-5.7.26 \n550-5.7.26  For instructions on setting up authentication, go to\n550 5.7.26  https://support.google.com/mail/answer/81126#authentication e6-20020a65 - gsmtp",
        "policy",
    ),
    (
        "g-dmarc",
        "data",
        "550-5.7.26 Unauthenticated email from outreach.test is not accepted due to\n550-5.7.26 domain's DMARC policy. Please contact the administrator of\n550-5.7.26 outreach.test domain if this was a legitimate mail. To learn about the\n550-5.7.26 DMARC initiative, go to\n550 5.7.26  https://support.google.com/mail/?p=DmarcRejection f7-20020a66 - gsmtp",
        "policy",
    ),
    (
        "g-spam",
        "data",
        "550-5.7.1 [{ip}] Our system has detected that this message is\n550-5.7.1 likely unsolicited mail. To reduce the amount of spam sent to Gmail,\n550-5.7.1 this message has been blocked. For more information, go to\n550 5.7.1  https://support.google.com/mail/?p=UnsolicitedMessageError g8-20020a67 - gsmtp",
        "policy",
    ),
    (
        "g-ptr",
        "rcpt",
        "550-5.7.25 [{ip}] The IP address sending this message does not have a\n550-5.7.25 PTR record setup, or the corresponding forward DNS entry does not\n550-5.7.25 point to the sending IP. As a policy, Gmail does not accept messages\n550-5.7.25 from IPs with missing PTR records. For more information, go to\n550 5.7.25  https://support.google.com/mail/answer/81126#ip-practices h9-20020a68 - gsmtp",
        "policy",
    ),
    (
        "g-spf",
        "data",
        "550-5.7.27 The sender address is not authorized to send email for the domain\n550-5.7.27 outreach.test (SPF fail). For more information, go to\n550 5.7.27  https://support.google.com/mail/answer/81126 i10-20020a69 - gsmtp",
        "policy",
    ),
    (
        "g-size",
        "data",
        "552-5.2.3 Your message exceeded Google's message size limits. For more\n552-5.2.3 information, go to\n552 5.2.3  https://support.google.com/mail/?p=MaxSizeError j11-20020a6a - gsmtp",
        "soft",
    ),
    (
        "g-virus",
        "data",
        "552-5.7.0 This message was blocked because its content presents a potential\n552-5.7.0 security issue. To review our message content and attachment content\n552-5.7.0 guidelines, go to\n552 5.7.0  https://support.google.com/mail/?p=BlockedMessage k12-20020a6b - gsmtp",
        "policy",
    ),
    (
        "g-rate",
        "rcpt",
        "421-4.7.28 [{ip}] Our system has detected an unusual rate of\n421-4.7.28 unsolicited mail originating from your IP address. To protect our\n421-4.7.28 users from spam, mail sent from your IP address has been temporarily\n421-4.7.28 rate limited. For more information, go to\n421 4.7.28  https://support.google.com/mail/?p=UnsolicitedRateLimitError l13-20020a6c - gsmtp",
        "policy",
        True,
    ),
    (
        "g-reputation",
        "rcpt",
        "421-4.7.0 [{ip}] Our system has detected that this message is\n421-4.7.0 suspicious due to the very low reputation of the sending IP address.\n421-4.7.0 To best protect our users from spam, the message has been blocked.\n421 4.7.0  https://support.google.com/mail/answer/188131 m14-20020a6d - gsmtp",
        "policy",
        True,
    ),
    (
        "g-toofast",
        "rcpt",
        "450-4.2.1 The user you are trying to contact is receiving mail at a rate that\n450-4.2.1 prevents additional messages from being delivered. Please resend your\n450-4.2.1 message at a later time. If the user is able to receive mail at that\n450-4.2.1 time, your message will be delivered. For more information, go to\n450 4.2.1  https://support.google.com/mail/?p=ReceivingRate n15-20020a6e - gsmtp",
        "soft",
        True,
    ),
    (
        "g-tempfail",
        "data",
        "451-4.3.0 Mail server temporarily rejected message. o16-20020a6f - gsmtp\n451 4.3.0 ",
        "soft",
        True,
    ),
]

_MICROSOFT = [
    (
        "ms-notfound",
        "rcpt",
        "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient a@outlook.test not found by SMTP address lookup",
        "hard",
    ),
    (
        "ms-recipnotfound",
        "rcpt",
        "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found [DB5EUR03FT012.eop-EUR03.prod.protection.outlook.com 2026-11-24T10:00:00.000Z 08DDC1]",
        "hard",
    ),
    (
        "ms-dbeb",
        "rcpt",
        "550 5.4.1 Recipient address rejected: Access denied. For more information see https://aka.ms/EXOSmtpErrors [AM2PEPF0001C70F.eurprd05.prod.outlook.com 2026-11-24T10:00:00.000Z 08DDC2]",
        "hard",
    ),
    (
        "ms-mailbox-unavailable",
        "rcpt",
        "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302). [AM2PEPF0001C710.eurprd05.prod.outlook.com 2026-11-24T10:00:00.000Z 08DDC3]",
        "hard",
    ),
    (
        "ms-banned-ip",
        "rcpt",
        "550 5.7.606 Access denied, banned sending IP [{ip}]. To request removal from this list please visit https://sender.office.com/ and follow the directions. For more information please go to http://go.microsoft.com/fwlink/?LinkID=526655 AS(1430) [DB3EUR04FT052.eop-eur04.prod.protection.outlook.com]",
        "policy",
    ),
    (
        "ms-spamhaus",
        "rcpt",
        "550 5.7.1 Service unavailable, Client host [{ip}] blocked using Spamhaus. To request removal from this list see https://www.spamhaus.org/query/ip/{ip} AS(1450) [VI1EUR06FT064.eop-eur06.prod.protection.outlook.com]",
        "policy",
    ),
    (
        "ms-s3150",
        "rcpt",
        "550 5.7.1 Unfortunately, messages from [{ip}] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150). You can also refer your provider to http://mail.live.com/mail/troubleshooting.aspx#errors. [AM2PEPF0001C711.eurprd05.prod.outlook.com 2026-11-24T10:00:00.000Z 08DDC4]",
        "policy",
    ),
    (
        "ms-515",
        "data",
        "550 5.7.515 Access denied, sending domain [OUTREACH.TEST] doesn't meet the required authentication level. The sender's domain in the 5322.From address doesn't meet the authentication requirements defined for the sender. To learn more, visit https://go.microsoft.com/fwlink/?linkid=2284432 [AM2PEPF0001C712.eurprd05.prod.outlook.com 2026-11-24T10:00:00.000Z 08DDC5]",
        "policy",
    ),
    (
        "ms-dmarc-509",
        "data",
        "550 5.7.509 Access denied, sending domain outreach.test does not pass DMARC verification and has a DMARC policy of reject. [DB5EUR03FT013.eop-EUR03.prod.protection.outlook.com 2026-11-24T10:00:00.000Z 08DDC6]",
        "policy",
    ),
    (
        "ms-spf-23",
        "data",
        "550 5.7.23 The message was rejected because of Sender Policy Framework violation -> 127.0.0.1 is not allowed to send for outreach.test [DB5EUR03FT014.eop-EUR03.prod.protection.outlook.com]",
        "policy",
    ),
    (
        "ms-708",
        "rcpt",
        "550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP. For more information please go to http://go.microsoft.com/fwlink/?LinkId=526653 AS(811) [AM4PEPF00025F96.EURPRD83.prod.outlook.com 2026-11-24T10:00:00.000Z 08DDC7]",
        "policy",
    ),
    (
        "ms-full",
        "data",
        "552 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded; Failed to process message due to a permanent exception with message [BeginDiagnosticData]Cannot open mailbox.[EndDiagnosticData]",
        "soft",
    ),
    (
        "ms-throttle",
        "rcpt",
        "451 4.7.500 Server busy. Please try again later from [{ip}]. (S77714) [AM2PEPF0001C713.eurprd05.prod.outlook.com 2026-11-24T10:00:00.000Z 08DDC8]",
        "policy",
        True,
    ),
    (
        "ms-650",
        "rcpt",
        "451 4.7.650 The mail server [{ip}] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://postmaster.live.com (S775) [Name=Protocol Filter Agent][AGT=PFA][MxId=11BA8E4D4C9DB9D5] [AM2PEPF0001C714.eurprd05.prod.outlook.com 2026-11-24T10:00:00.000Z 08DDC9]",
        "policy",
        True,
    ),
]

_YAHOO = [
    (
        "y-nouser",
        "rcpt",
        "554 delivery error: dd This user doesn't have a yahoo.test account (a@yahoo.test) [0] - mta1009.mail.gq1.yahoo.com",
        "hard",
    ),
    (
        "y-disabled",
        "rcpt",
        "554 delivery error: dd Sorry your message to b@yahoo.test cannot be delivered. This mailbox is disabled (554.30). - mta4221.mail.bf1.yahoo.com",
        "hard",
    ),
    ("y-notfound", "rcpt", "552 1 Requested mail action aborted, mailbox not found", "hard"),
    (
        "y-tss04",
        "rcpt",
        "421 4.7.0 [TSS04] Messages from {ip} temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
        "policy",
        True,
    ),
    (
        "y-policy",
        "data",
        "554 5.7.9 Message not accepted for policy reasons.  See https://postmaster.yahooinc.com/error-codes",
        "policy",
    ),
    (
        "y-unauth",
        "data",
        "550 5.7.9 This mail has been blocked because the sender is unauthenticated. Yahoo requires all senders to authenticate with either SPF or DKIM.",
        "policy",
    ),
    (
        "y-ts03",
        "rcpt",
        "553 5.7.2 [TSS09] All messages from {ip} will be permanently deferred; Retrying will NOT succeed. See https://postmaster.yahooinc.com/error-codes",
        "policy",
    ),
    ("aol-521", "data", "521 5.2.1 :  AOL will not accept delivery of this message.", "policy"),
]

_OTHERS = [
    ("apple-nouser", "rcpt", "550 5.1.1 <apple-nouser@others.test>: user does not exist", "hard"),
    (
        "apple-cs01",
        "data",
        "554 5.7.1 [CS01] Message rejected due to local policy. Please visit https://support.apple.com/en-us/HT204137",
        "policy",
    ),
    ("apple-quota", "rcpt", "552 5.2.2 <apple-quota@others.test>: user is over quota", "soft"),
    ("gmx-unavailable", "rcpt", "550 Requested action not taken: mailbox unavailable", "hard"),
    (
        "gmx-storage",
        "rcpt",
        "552 Requested mail action aborted: exceeded storage allocation",
        "soft",
    ),
    (
        "mimecast-invalid",
        "rcpt",
        "550 Invalid Recipient - https://community.mimecast.com/docs/DOC-1369#550 [aB3cD4eF5G6hIjKlMnOp7Q.uk123]",
        "hard",
    ),
    (
        "mimecast-spoof",
        "data",
        "550 Rejected by header based Anti-Spoofing policy: sam@outreach.test - https://community.mimecast.com/docs/DOC-1369#550 [rSt8UvWxYz9AbCdEfGhI0J.uk234]",
        "policy",
    ),
    (
        "mimecast-envelope",
        "rcpt",
        "550 Envelope blocked - User Entry - https://community.mimecast.com/docs/DOC-1369#550 [kLm1NoPqRs2TuVwXyZaB3C.uk345]",
        "policy",
    ),
    (
        "proofpoint-dmarc",
        "data",
        "550 5.7.1 Email rejected per DMARC policy for outreach.test",
        "policy",
    ),
    (
        "proofpoint-spam",
        "data",
        "554 5.7.1 Message blocked due to spam content in the message.",
        "policy",
    ),
    (
        "barracuda-blocked",
        "rcpt",
        "550 permanent failure for one or more recipients (barracuda-blocked@others.test:blocked)",
        "policy",
    ),
    (
        "ironport-reputation",
        "rcpt",
        "554 Your access to this mail system has been rejected due to the sending MTA's poor reputation. If you believe that this failure is in error, please contact the intended recipient via alternate means.",
        "policy",
    ),
    (
        "comcast-notcustomer",
        "rcpt",
        "550 5.1.1 <comcast-notcustomer@others.test> Not our Customer",
        "hard",
    ),
    ("zoho-nouser", "rcpt", "550 5.1.1 User does not exist - <zoho-nouser@others.test>", "hard"),
    ("generic-spam", "data", "550 High probability of spam", "policy"),
    ("generic-virus", "data", "554 5.7.1 Virus found: Eicar-Test-Signature", "policy"),
    ("generic-relay", "rcpt", "550 5.7.1 Unable to relay for others.test", "policy"),
    (
        "generic-moved",
        "rcpt",
        "551 5.1.6 User has moved; please try <new.address@others.test>",
        "hard",
    ),
    (
        "generic-disabled",
        "rcpt",
        "550 5.2.1 <generic-disabled@others.test>: Mailbox disabled, not accepting messages",
        "hard",
    ),
    ("generic-local-policy", "rcpt", "550 Message rejected due to local policy", "policy"),
    (
        "generic-relay-table",
        "rcpt",
        "550 <generic-relay-table@others.test>: Recipient address rejected: User unknown in relay recipient table",
        "hard",
    ),
    (
        "generic-qmail-code",
        "rcpt",
        "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)",
        "policy",
    ),
    (
        "generic-spf",
        "data",
        "550 5.7.1 SPF check failed: {ip} is not allowed to send mail from outreach.test",
        "policy",
    ),
    ("generic-dkim", "data", "554 5.7.5 Permanent error evaluating DMARC policy", "policy"),
    (
        "generic-toomany",
        "rcpt",
        "421 4.7.0 Too many concurrent SMTP connections from this IP address; please try again later",
        "soft",
        True,
    ),
    (
        "generic-greylist",
        "rcpt",
        "451 4.7.1 Greylisting in action, please come back later",
        "soft",
        True,
    ),
    ("generic-system", "data", "451 4.3.0 Error: queue file write error", "soft", True),
    ("generic-loop", "data", "554 5.4.6 Too many hops", "soft"),
    ("generic-storage", "data", "452 4.3.1 Insufficient system storage", "soft", True),
]

#: Hosts that refuse everyone at the greeting or at MAIL FROM: one IP and domain each.
_WHOLE_HOST = [
    (
        "banner-gmx",
        "127.0.0.11",
        "banner",
        "554-gmx.net (mxgmx015) Nemesis ESMTP Service not available\n554-No SMTP service\n554-IP address is black listed.\n554 For explanation visit https://www.gmx.net/mail/senderguidelines?ip={ip}&c=bl",
        "policy",
    ),
    (
        "banner-tonline",
        "127.0.0.12",
        "banner",
        "554 IP={ip} - A problem occurred. (Ask your postmaster for help or to contact tosa@rx.t-online.de to clarify.) (BL)",
        "policy",
    ),
    (
        "banner-barracuda",
        "127.0.0.13",
        "banner",
        "554 Service unavailable; Client host [{ip}] blocked using Barracuda Reputation; http://www.barracudanetworks.com/reputation/?pr=1&ip={ip}",
        "policy",
    ),
    (
        "banner-comcast",
        "127.0.0.14",
        "banner",
        "554 resimta-ch2-18v.sys.comcast.net comcast {ip} Comcast block for spam.  Please see http://postmaster.comcast.net/smtp-error-codes.php#BL000000",
        "policy",
    ),
    (
        "mail-sender-domain",
        "127.0.0.15",
        "mail",
        "553 5.7.1 <sam@outreach.test>: Sender address rejected: Domain outreach.test is listed in our blocklist",
        "policy",
    ),
    (
        "mail-spamcop",
        "127.0.0.16",
        "mail",
        "550 5.7.1 Mail from {ip} refused - see https://www.spamcop.net/bl.shtml?{ip}",
        "policy",
    ),
]

SCRIPTED_GROUPS: dict[str, list[tuple[Any, ...]]] = {
    "google.test": _GOOGLE,
    "outlook.test": _MICROSOFT,
    "yahoo.test": _YAHOO,
    "others.test": _OTHERS,
}


def _scripted_scenarios() -> list[Scenario]:
    out: list[Scenario] = []
    for domain, rows in SCRIPTED_GROUPS.items():
        for row in rows:
            name, _stage, _reply, klass = row[:4]
            expired = len(row) > 4 and bool(row[4])
            make = _expired if expired else _s
            out.append(make(name, f"{name}@{domain}", klass, f"scripted {domain} receiver"))
    for name, _ip, _stage, _reply, klass in _WHOLE_HOST:
        expired = _stage == "banner"  # Postfix skips a 5xx greeting and retries: it expires
        make = _expired if expired else _s
        out.append(make(name, f"user@{name}.test", klass, f"scripted host refusing at {_stage}"))
    return out


SCENARIOS: tuple[Scenario, ...] = (
    # Dovecot over LMTP
    _s(
        "lmtp-user-unknown",
        "nobody@dovecot.test",
        "hard",
        "Dovecot LMTP: 550 5.1.1 user doesn't exist",
    ),
    _s(
        "lmtp-quota",
        "full@dovecot.test",
        "soft",
        "Dovecot LMTP with a quota: 552 5.2.2 quota exceeded",
    ),
    _s(
        "lmtp-delivered",
        "ok@dovecot.test",
        "delivered",
        "NOTIFY=SUCCESS, final delivery by LMTP",
        notify="success,delay,failure",
    ),
    # DNS and network
    _s(
        "dns-nxdomain",
        "someone@no-such-domain.test",
        "hard",
        "the recipient's domain does not exist",
    ),
    _s("dns-nullmx", "info@nullmx.test", "hard", "RFC 7505 null MX"),
    _expired(
        "dns-servfail", "a@servfail.test", "soft", "SERVFAIL until the queue lifetime ran out"
    ),
    _expired(
        "net-unreachable", "a@unreachable.test", "soft", "the MX host's network is unreachable"
    ),
    _expired("net-refused", "a@refused.test", "soft", "the MX host refuses connections"),
    # The receiving Postfix
    _s(
        "pf-user-unknown",
        "ghost@pfremote.test",
        "hard",
        "Postfix receiver: unknown in virtual mailbox table",
    ),
    _s(
        "pf-relay-denied",
        "a@elsewhere.test",
        "policy",
        "Postfix receiver: relay access denied",
        ret="hdrs",
    ),
    _s("pf-spamhaus", "a@rbl-spamhaus.test", "policy", "reject_rbl_client zen.spamhaus.org"),
    _s(
        "pf-barracuda", "a@rbl-barracuda.test", "policy", "reject_rbl_client b.barracudacentral.org"
    ),
    _s("pf-spamcop", "a@rbl-spamcop.test", "policy", "reject_rbl_client bl.spamcop.net"),
    _s("pf-dbl", "a@rbl-dbl.test", "policy", "reject_rhsbl_sender dbl.spamhaus.org"),
    _expired(
        "pf-ptr",
        "a@ptr-check.test",
        "policy",
        "reject_unknown_reverse_client_hostname (450 4.7.25)",
    ),
    _expired("pf-helo", "a@helo-check.test", "policy", "reject_unknown_helo_hostname (450)"),
    _expired(
        "pf-sender-domain",
        "a@sender-check.test",
        "policy",
        "reject_unknown_sender_domain (450 4.1.8)",
    ),
    _s("pf-access", "a@access-check.test", "policy", "check_recipient_access REJECT"),
    _expired(
        "pf-greylist", "a@grey-check.test", "soft", "a postgrey-style DEFER_IF_PERMIT, never lifted"
    ),
    _s("pf-content", "spam@pfremote.test", "policy", "body_checks REJECT", spam=True, ret="hdrs"),
    _s(
        "pf-too-big",
        "a@bigmsg.test",
        "soft",
        "message_size_limit (552 5.3.4)",
        big=True,
        ret="hdrs",
    ),
    _s(
        "pf-mbox-full",
        "full@pfremote.test",
        "soft",
        "accepted, then the virtual mailbox exceeds its limit",
    ),
    _s(
        "pf-forward-dead",
        "forward@pfremote.test",
        "hard",
        "accepted, forwarded to a domain that does not exist",
        report_recipient="forward@pfremote.test",
    ),
    _s(
        "pf-delivered",
        "ok@pfremote.test",
        "delivered",
        "NOTIFY=SUCCESS to a DSN-capable receiver",
        notify="success,delay,failure",
    ),
    _s(
        "relay-success",
        "ok@relay.test",
        "delivered",
        "NOTIFY=SUCCESS to a receiver without DSN: relayed",
        notify="success,delay,failure",
    ),
    Scenario(
        "greylist-then-ok",
        "greylisted@relay.test",
        "soft",
        "greylisted three times, then accepted: only a delay warning",
        delay_notice=True,
        final=False,
    ),
    *_scripted_scenarios(),
)


def scripted_hosts(ip: str) -> list[dict[str, Any]]:
    """The remote_mx.py host list; ``ip`` is our sending address as the receivers see it."""
    rcpt: dict[str, dict[str, Any]] = {}
    data: dict[str, dict[str, Any]] = {}
    for domain, rows in SCRIPTED_GROUPS.items():
        for row in rows:
            name, stage, reply = row[:3]
            target = rcpt if stage == "rcpt" else data
            target[f"{name}@{domain}"] = {"reply": reply.replace("{ip}", ip), "times": None}
    rcpt["greylisted@relay.test"] = {
        "reply": "450 4.2.0 <greylisted@relay.test>: Recipient address rejected: Greylisted, "
        "see http://postgrey.schweikert.ch/help/relay.test.html",
        "times": 3,
    }
    hosts: list[dict[str, Any]] = [
        {"ip": SCRIPTED_IP, "name": "mx.scripted.test", "rcpt": rcpt, "data": data}
    ]
    for name, host_ip, stage, reply, _klass in _WHOLE_HOST:
        hosts.append({"ip": host_ip, "name": f"mx.{name}.test", stage: reply.replace("{ip}", ip)})
    return hosts


def dns_records() -> tuple[list[str], list[str]]:
    """Zone lines and SERVFAIL names of the namespace's DNS (everything else is NXDOMAIN)."""
    records = [
        f"mx.pfremote.test. 60 IN A {REMOTE_POSTFIX_IP}",
        f"mx2.pfremote.test. 60 IN A {REMOTE_POSTFIX_SMALL_IP}",
        f"mx.scripted.test. 60 IN A {SCRIPTED_IP}",
        "nullmx.test. 60 IN MX 0 .",
        "unreachable.test. 60 IN MX 10 mx.unreachable.test.",
        "mx.unreachable.test. 60 IN A 10.255.0.1",
        "refused.test. 60 IN MX 10 mx.refused.test.",
        "mx.refused.test. 60 IN A 127.0.0.250",
        # DNSBLs as the receiving Postfix queries them (our client address is 127.0.0.1).
        "1.0.0.127.zen.spamhaus.org. 60 IN A 127.0.0.2",
        '1.0.0.127.zen.spamhaus.org. 60 IN TXT "https://www.spamhaus.org/query/ip/127.0.0.1"',
        "1.0.0.127.b.barracudacentral.org. 60 IN A 127.0.0.2",
        "1.0.0.127.bl.spamcop.net. 60 IN A 127.0.0.2",
        '1.0.0.127.bl.spamcop.net. 60 IN TXT "Blocked - see https://www.spamcop.net/bl.shtml?127.0.0.1"',
        "outreach.test.dbl.spamhaus.org. 60 IN A 127.0.1.2",
        'outreach.test.dbl.spamhaus.org. 60 IN TXT "https://www.spamhaus.org/query/domain/outreach.test"',
    ]
    for domain in (
        "pfremote.test", "elsewhere.test", "rbl-spamhaus.test", "rbl-barracuda.test",
        "rbl-spamcop.test", "rbl-dbl.test", "ptr-check.test", "helo-check.test",
        "sender-check.test", "access-check.test", "grey-check.test",
    ):  # fmt: skip
        records.append(f"{domain}. 60 IN MX 10 mx.pfremote.test.")
    records.append("bigmsg.test. 60 IN MX 10 mx2.pfremote.test.")
    for domain in (*SCRIPTED_GROUPS, "relay.test"):
        records.append(f"{domain}. 60 IN MX 10 mx.scripted.test.")
    for name, host_ip, *_ in _WHOLE_HOST:
        records.append(f"{name}.test. 60 IN MX 10 mx.{name}.test.")
        records.append(f"mx.{name}.test. 60 IN A {host_ip}")
    return records, ["servfail.test"]
