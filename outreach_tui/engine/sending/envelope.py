"""What goes on the wire for an attempt: its message (headers, opt-out, footer) and the SMTP
endpoint of its mailbox. The attempt store checks the same message for header injection
before it lets the attempt go (engine/sending/attempt_store.py)."""

from __future__ import annotations

import time
from datetime import datetime

from outreach_tui.config import Settings
from outreach_tui.core.errors import HeaderInjection
from outreach_tui.core.unsubscribe_token import wants_token
from outreach_tui.db.records import AttemptToSend, MailboxRecord
from outreach_tui.mail.message import OutgoingMessage, check_outgoing, unsubscribe_url
from outreach_tui.mail.smtp import SmtpEndpoint
from outreach_tui.secrets import resolve_secret, secret_getter


def outgoing_message(
    settings: Settings, attempt: AttemptToSend, mailbox: MailboxRecord, date: datetime
) -> OutgoingMessage:
    """The message of `attempt`, sent from `mailbox`, dated `date` in the operator's zone
    (a person's mail client writes its local offset, not +0000)."""
    sending = settings.sending
    return OutgoingMessage(
        sender_email=mailbox.email,
        sender_name=mailbox.from_name or "",
        recipient_email=attempt.recipient_email,
        recipient_name=recipient_name(attempt),
        subject=attempt.subject,
        body=attempt.body,
        message_id=attempt.message_id,
        date=date.astimezone(settings.tz),
        in_reply_to=attempt.in_reply_to,
        references=attempt.references,
        unsubscribe_mailto=sending.unsubscribe_mailto or mailbox.email,
        unsubscribe_url=unsubscribe_url(
            sending.unsubscribe_url,
            recipient=attempt.recipient_email,
            message_id=attempt.message_id,
            key=unsubscribe_key(settings),
        ),
        # The campaign's footer address, else the configured one.
        postal_address=attempt.postal_address or sending.postal_address,
    )


def recipient_name(attempt: AttemptToSend) -> str:
    """The lead's name for the To header ("" when unknown, or not the recipient's)."""
    if attempt.recipient_email != attempt.lead_email:
        return ""
    parts = (attempt.lead_first_name, attempt.lead_last_name)
    return " ".join(p.strip() for p in parts if p and p.strip())


#: The resolved signing key and when it was read: a send must not read a secret file each
#: time, and a rotated key is picked up within a minute.
_KEY_CACHE: dict[str, tuple[float, bytes]] = {}
_KEY_TTL_SECONDS = 60.0


def unsubscribe_key(settings: Settings) -> bytes | None:
    """The HMAC key of one-click unsubscribe tokens (`[sending] unsubscribe_key`), or None
    when the URL carries no {token}."""
    ref = settings.sending.unsubscribe_key
    if ref is None or not wants_token(settings.sending.unsubscribe_url):
        return None
    now = time.monotonic()
    cached = _KEY_CACHE.get(ref)
    if cached is not None and now - cached[0] < _KEY_TTL_SECONDS:
        return cached[1]
    key = resolve_secret(ref, key="sending.unsubscribe_key").encode()
    _KEY_CACHE[ref] = (now, key)
    return key


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
