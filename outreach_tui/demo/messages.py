"""The raw messages the sandbox's recipients send back: RFC 5322 replies threaded to our
Message-ID, RFC 3464 delivery status notifications and RFC 5965 feedback-loop reports.

They are built as a receiving server would deliver them to the mailbox's IMAP folder, so the
sandbox feeds them through the same classification (`mail.inbound.analyse`) and effects
(`engine.replies.ReplyEffects.apply`) as the poller does: what the demo shows is what the
classifier made of real-looking mail, not a label the sandbox chose.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr

#: What a person writes, by kind and by language (the recipient's country decides).
HUMAN_TEXT: dict[str, dict[str, str]] = {
    "interested": {
        "en": "Hi {sender},\n\nsounds good, send me the details. When can we talk?\n\n{name}",
        "de": "Hallo {sender},\n\nklingt spannend. Lassen Sie uns telefonieren, am besten "
        "Donnerstag.\n\nMit freundlichen Grüßen\n{name}",
        "fr": "Bonjour {sender},\n\nOui, ça m'intéresse. Pouvez-vous m'envoyer plus "
        "d'informations ?\n\nCordialement,\n{name}",
    },
    "not_interested": {
        "en": "Hi,\n\nthanks, but we are not interested.\n\n{name}",
        "de": "Hallo,\n\nvielen Dank, aber wir haben kein Interesse.\n\nGruß\n{name}",
        "fr": "Bonjour,\n\nNon merci, nous ne sommes pas intéressés pour le moment.\n\n{name}",
    },
    "unsubscribe": {
        "en": "Please unsubscribe me from this list.\n\n{name}",
        "de": "Bitte tragen Sie mich aus Ihrem Verteiler aus und schicken Sie mir keine "
        "weiteren E-Mails.\n\n{name}",
        "fr": "Merci de me désinscrire de votre liste.\n\n{name}",
    },
    "wrong_person": {
        "en": "Hi {sender},\n\n{name} is no longer with the company. Please contact our "
        "office manager, office@{domain}, instead.\n\nBest",
        "de": "Guten Tag,\n\n{name} ist nicht mehr bei uns tätig. Wenden Sie sich bitte an "
        "office@{domain}.\n\nFreundliche Grüße",
        "fr": "Bonjour,\n\n{name} ne fait plus partie de l'entreprise. Veuillez contacter "
        "office@{domain}.\n\nBonne journée",
    },
    "out_of_office": {
        "en": "Thank you for your message. I am out of the office until {back_en} with "
        "limited access to email.",
        "de": "Vielen Dank für Ihre Nachricht. Ich bin bis einschließlich {back_de} nicht im "
        "Büro und danach wieder erreichbar.",
        "fr": "Bonjour,\n\nJe suis absent du bureau et serai de retour le {back_fr}.",
    },
    "auto_reply": {
        "en": "Hello,\n\nWe have received your request and a member of our team will get back "
        "to you shortly. Your ticket number is {ticket}.\n\nThis is an automated message.",
        "de": "Sehr geehrte Damen und Herren,\n\nIhre Nachricht ist bei uns eingegangen. Wir "
        "melden uns schnellstmöglich bei Ihnen.",
        "fr": "Bonjour,\n\nNous avons bien reçu votre message (ticket {ticket}). Ceci est un "
        "message automatique.",
    },
}

_SUBJECT_PREFIX = {
    "en": ("Re: ", "Automatic reply: "),
    "de": ("AW: ", "Automatische Antwort: "),
    "fr": ("RE: ", "Réponse automatique : "),
}
_MONTHS_FR = (
    "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
    "octobre", "novembre", "décembre",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Sent:
    """What the sandbox remembers of one of our messages (from the bytes the sink took)."""

    mailbox: str
    recipient: str
    subject: str
    message_id: str | None
    """With angle brackets, as written in our header; None when never seen."""
    sender_name: str = ""


def language(address: str) -> str:
    tld = address.rsplit(".", 1)[-1].lower()
    return {"de": "de", "at": "de", "ch": "de", "fr": "fr", "be": "fr"}.get(tld, "en")


def person_name(address: str) -> str:
    local = address.split("@")[0].split(".")[0]
    return local[:1].upper() + local[1:]


def _id_for(kind: str, original: Sent, at: datetime) -> str:
    digest = hashlib.sha256(f"{kind}|{original.recipient}|{at.isoformat()}".encode()).hexdigest()
    return f"<{digest[:20]}.{kind}@{original.recipient.split('@')[1]}>"


def _date(at: datetime) -> str:
    return format_datetime(at)


def _threading(message: EmailMessage, original: Sent) -> None:
    if original.message_id:
        message["In-Reply-To"] = original.message_id
        message["References"] = original.message_id


def human_reply(kind: str, original: Sent, at: datetime) -> bytes:
    """A person's (or their mail system's) answer to `original`, sent at `at`."""
    lang = language(original.recipient)
    texts = HUMAN_TEXT[kind]
    text = texts.get(lang, texts["en"])
    back = (at + timedelta(days=5)).date()
    domain = original.recipient.split("@")[1]
    body = text.format(
        sender=original.sender_name or person_name(original.mailbox),
        name=person_name(original.recipient),
        domain=domain,
        back_en=f"{back:%A}, {back.day} {back:%B %Y}",
        back_de=f"{back:%d.%m.%Y}",
        back_fr=f"{back.day} {_MONTHS_FR[back.month - 1]} {back.year}",
        ticket=int(hashlib.sha256(original.recipient.encode()).hexdigest()[:6], 16) % 90000 + 10000,
    )
    automatic = kind in ("out_of_office", "auto_reply")
    reply_prefix, auto_prefix = _SUBJECT_PREFIX[lang]
    message = EmailMessage(policy=SMTP)
    message["Return-Path"] = f"<{original.recipient}>"
    message["Received"] = (
        f"from mail.{domain} (mail.{domain} [192.0.2.25]) by imap.sandbox.local with ESMTPS; "
        f"{_date(at)}"
    )
    message["Message-ID"] = _id_for(kind, original, at)
    _threading(message, original)
    message["Date"] = _date(at)
    message["From"] = formataddr((person_name(original.recipient), original.recipient))
    message["To"] = formataddr((original.sender_name, original.mailbox))
    prefix = auto_prefix if kind == "out_of_office" else reply_prefix
    message["Subject"] = f"{prefix}{original.subject}"
    if automatic:
        # The header signals a real auto-responder sets (RFC 3834, Exchange's own).
        message["Auto-Submitted"] = "auto-replied"
        message["X-Auto-Response-Suppress"] = "All"
        if kind == "auto_reply":
            message["Precedence"] = "auto_reply"
    quoted = ""
    if not automatic:
        quoted = (
            f"\n\nOn {_date(at - timedelta(hours=2))}, {original.mailbox} wrote:\n"
            f"> {original.subject}\n> ...\n"
        )
    message.set_content(body + quoted)
    return bytes(message)


def _original_headers(original: Sent, at: datetime) -> str:
    lines = [
        f"Return-Path: <{original.mailbox}>",
        f"Date: {_date(at)}",
        f"From: {formataddr((original.sender_name, original.mailbox))}",
        f"To: {original.recipient}",
        f"Subject: {original.subject}",
    ]
    if original.message_id:
        lines.insert(1, f"Message-ID: {original.message_id}")
    return "\n".join(lines)


def delivery_status(original: Sent, at: datetime, *, permanent: bool) -> bytes:
    """An RFC 3464 DSN from the recipient's MTA: 5.1.1 (a hard bounce) or 5.2.2 (mailbox
    full: a soft bounce, returned undelivered)."""
    mta_domain = original.mailbox.split("@")[1]
    remote = f"mx.{original.recipient.split('@')[1]}"
    boundary = f"dsn-{hashlib.sha256(original.recipient.encode()).hexdigest()[:16]}"
    if permanent:
        subject, action, status = "Undelivered Mail Returned to Sender", "failed", "5.1.1"
        diagnostic = f"smtp; 550 5.1.1 <{original.recipient}>: Recipient address rejected: "
        diagnostic += "User unknown in virtual mailbox table"
        human = (
            f"I'm sorry to have to inform you that your message could not be delivered to "
            f"one or more recipients.\n\n<{original.recipient}>: host {remote} said: "
            "550 5.1.1 User unknown"
        )
    else:
        subject, action, status = "Undelivered Mail Returned to Sender", "failed", "5.2.2"
        diagnostic = f"smtp; 552 5.2.2 <{original.recipient}>: Mailbox full"
        human = (
            f"Your message to <{original.recipient}> could not be delivered: the "
            "recipient's mailbox is full."
        )
    text = f"""Return-Path: <>
Date: {_date(at)}
From: Mail Delivery System <MAILER-DAEMON@{mta_domain}>
To: {original.mailbox}
Subject: {subject}
Message-ID: {_id_for("dsn", original, at)}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"

--{boundary}
Content-Type: text/plain; charset=us-ascii

{human}

--{boundary}
Content-Type: message/delivery-status

Reporting-MTA: dns; {remote}
Arrival-Date: {_date(at - timedelta(minutes=1))}

Final-Recipient: rfc822; {original.recipient}
Original-Recipient: rfc822; {original.recipient}
Action: {action}
Status: {status}
Remote-MTA: dns; {remote}
Diagnostic-Code: {diagnostic}

--{boundary}
Content-Type: text/rfc822-headers

{_original_headers(original, at - timedelta(minutes=2))}

--{boundary}--
"""
    return text.replace("\n", "\r\n").encode("utf-8")


def complaint_report(original: Sent, at: datetime) -> bytes:
    """An RFC 5965 (ARF) abuse report from the recipient's provider's feedback loop."""
    provider = original.recipient.split("@")[1]
    boundary = f"arf-{hashlib.sha256(original.recipient.encode()).hexdigest()[:16]}"
    text = f"""Return-Path: <feedback@fbl.{provider}>
Date: {_date(at)}
From: Feedback Loop <feedback@fbl.{provider}>
To: abuse@{original.mailbox.split("@")[1]}
Subject: FW: {original.subject}
Message-ID: {_id_for("arf", original, at)}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="{boundary}"

--{boundary}
Content-Type: text/plain; charset=us-ascii

This is an email abuse report for a message received from the sandbox on
{_date(at - timedelta(minutes=5))}.

--{boundary}
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SandboxFBL/1.0
Version: 1
Original-Mail-From: <{original.mailbox}>
Original-Rcpt-To: <{original.recipient}>
Arrival-Date: {_date(at - timedelta(minutes=5))}

--{boundary}
Content-Type: message/rfc822
Content-Disposition: inline

{_original_headers(original, at - timedelta(minutes=5))}
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

(the message body)

--{boundary}--
"""
    return text.replace("\n", "\r\n").encode("utf-8")
