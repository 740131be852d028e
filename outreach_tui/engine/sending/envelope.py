"""What goes on the wire for an attempt: its message (headers, opt-out, footer) and the SMTP
endpoint of its mailbox. The attempt store checks the same message for header injection
before it lets the attempt go (engine/sending/attempt_store.py)."""

from __future__ import annotations

from datetime import datetime

from outreach_tui.config import Settings
from outreach_tui.core.errors import HeaderInjection
from outreach_tui.db.records import AttemptToSend, MailboxRecord
from outreach_tui.mail.message import OutgoingMessage, check_outgoing, unsubscribe_url
from outreach_tui.mail.smtp import SmtpEndpoint
from outreach_tui.secrets import secret_getter


def outgoing_message(
    settings: Settings, attempt: AttemptToSend, mailbox: MailboxRecord, date: datetime
) -> OutgoingMessage:
    """The message of `attempt`, sent from `mailbox`, dated `date`."""
    sending = settings.sending
    return OutgoingMessage(
        sender_email=mailbox.email,
        sender_name=mailbox.from_name or "",
        recipient_email=attempt.recipient_email,
        subject=attempt.subject,
        body=attempt.body,
        message_id=attempt.message_id,
        date=date,
        in_reply_to=attempt.in_reply_to,
        references=attempt.references,
        unsubscribe_mailto=sending.unsubscribe_mailto or mailbox.email,
        unsubscribe_url=unsubscribe_url(
            sending.unsubscribe_url,
            recipient=attempt.recipient_email,
            message_id=attempt.message_id,
        ),
        # The campaign's footer address, else the configured one.
        postal_address=attempt.postal_address or sending.postal_address,
    )


def header_injection(message: OutgoingMessage) -> str | None:
    """Why `message` may not be sent (a header that would smuggle in another), or None."""
    try:
        check_outgoing(message)
    except HeaderInjection as exc:
        return str(exc)
    return None


def smtp_endpoint(settings: Settings, mailbox: MailboxRecord) -> SmtpEndpoint:
    """Where and how `mailbox` submits its messages (its password read when connecting)."""
    return SmtpEndpoint(
        host=mailbox.smtp_host,
        port=mailbox.smtp_port,
        security="tls" if mailbox.smtp_security == "tls" else "starttls",
        username=mailbox.smtp_user or mailbox.email,
        password=secret_getter(mailbox.smtp_password_ref, key=f"SMTP password of {mailbox.email}"),
        verify_tls=bool(mailbox.verify_tls),
        timeout=settings.smtp_send_timeout,
        ca_file=settings.tls.ca_file,
        label=mailbox.email,
    )
