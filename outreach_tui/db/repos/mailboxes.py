"""Mailboxes and their sending domains."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, false, func, select

from outreach_tui.db import tables as t
from outreach_tui.db.records import MailboxRecord, columns

_MAILBOX = select(
    *columns(
        MailboxRecord,
        t.mailbox,
        domain_paused=func.coalesce(t.sending_domain.c.paused, false()),
    )
).select_from(t.mailbox.outerjoin(t.sending_domain, t.sending_domain.c.id == t.mailbox.c.domain_id))
_MAILBOX_BY_EMAIL = _MAILBOX.where(t.mailbox.c.email == bindparam("email"))
_MAILBOX_BY_ID = _MAILBOX.where(t.mailbox.c.id == bindparam("id"))


def mailbox_by_email(conn: Connection, email: str) -> MailboxRecord | None:
    """The mailbox with its sending domain's paused flag (`domain_paused`)."""
    row = conn.execute(_MAILBOX_BY_EMAIL, {"email": email.lower()}).first()
    return None if row is None else MailboxRecord(*row)


def mailbox_by_id(conn: Connection, mailbox_id: int) -> MailboxRecord | None:
    row = conn.execute(_MAILBOX_BY_ID, {"id": mailbox_id}).first()
    return None if row is None else MailboxRecord(*row)
