"""Bring mailboxes described in config (and the SMTP_* environment) into the database."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection

from outreach_tui.config import MailboxSettings, Settings
from outreach_tui.core.days import local_day
from outreach_tui.core.region import domain_of
from outreach_tui.db.repos.mailboxes import insert_mailbox, mailbox_by_email, update_mailbox
from outreach_tui.db.repos.sending_domains import ensure_sending_domain


def connection_fields(box: MailboxSettings) -> dict[str, Any]:
    """The columns config owns; health, pacing and counters stay the database's."""
    return {
        "from_name": box.from_name,
        "smtp_host": box.smtp_host,
        "smtp_port": box.smtp_port,
        "smtp_security": box.security(),
        "smtp_user": box.smtp_user or box.email,
        "smtp_password_ref": box.smtp_password,
        "verify_tls": box.verify_tls,
        "imap_host": box.imap_host,
        "imap_port": box.imap_port,
        "imap_security": box.imap_tls(),
        "imap_user": box.imap_user or box.smtp_user or box.email,
        "imap_password_ref": box.imap_password or box.smtp_password,
        "daily_limit": box.daily_limit,
        "warmup_started": box.warmup_started,
    }


def new_mailbox_warmup_day(settings: Settings, at: datetime) -> date | None:
    """The day a mailbox added now starts its warmup ramp ([operator] timezone), or None when
    `[warmup] new_mailboxes = false` (new mailboxes send their full limit from day one)."""
    return local_day(at, settings.tz) if settings.warmup.new_mailboxes else None


def sync_mailboxes(
    conn: Connection,
    boxes: list[MailboxSettings],
    *,
    at: datetime,
    source: str = "config",
    warmup_from: date | None = None,
) -> int:
    """Insert new mailboxes and update connection settings of known ones. Returns the count.

    `warmup_from` (see `new_mailbox_warmup_day`): a new mailbox given neither a `daily_limit`
    nor a `warmup_started` starts its warmup ramp on this day, and the day is recorded, so
    the ramp goes on across restarts and re-imports that do not name a start themselves.
    """
    for box in boxes:
        email = box.email.strip().lower()
        domain_id = ensure_sending_domain(conn, domain_of(email))
        fields = connection_fields(box)
        row = mailbox_by_email(conn, email)
        if row is None:
            if box.daily_limit is None and box.warmup_started is None:
                fields["warmup_started"] = warmup_from
            insert_mailbox(
                conn,
                {"email": email, "domain_id": domain_id, "source": source, "created_at": at,
                 **fields},
            )  # fmt: skip
        else:
            if box.warmup_started is None:
                # Config silent on it: keep the start recorded when the mailbox was added
                # (an established mailbox says so with a past warmup_started).
                del fields["warmup_started"]
            fields["domain_id"] = domain_id
            # Unchanged (a restart): no UPDATE. On PostgreSQL the row lock it takes would
            # wait for, and deadlock with, running workers' sends that stamp the mailbox.
            if any(getattr(row, name) != value for name, value in fields.items()):
                update_mailbox(conn, row.id, fields)
    return len(boxes)
