"""Writes only the demo's sandbox makes (demo/seed.py, demo/world.py): lead health and DNS
results it invents instead of verifying, and the UIDs its stand-in for an IMAP server
gives the answers it delivers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, Integer, bindparam, func, select, update

from outreach_tui.db import tables as t

_L, _D, _R, _M = t.lead, t.sending_domain, t.reply, t.mailbox


_GRADE = (
    update(_L)
    .where(_L.c.id % bindparam("every", type_=Integer) == 0)
    .values(health=bindparam("health"))
)


def grade_every_nth_lead(conn: Connection, every: int, health: str) -> None:
    """Every lead whose id is a multiple of `every` gets verification health `health`."""
    conn.execute(_GRADE, {"every": every, "health": health})


_ALL_DOMAINS_HEALTHY = update(_D).values(
    spf_ok=True, dkim_ok=True, dmarc_ok=True, blocklisted=False, dns_checked_at=bindparam("at")
)
_DMARC_FAILING = update(_D).where(_D.c.name == bindparam("for_name")).values(dmarc_ok=False)


def mark_domains_checked(conn: Connection, at: datetime, *, dmarc_failing: Sequence[str]) -> None:
    """Every sending domain's DNS checked at `at` and healthy, except DMARC of the domains
    named in `dmarc_failing`."""
    conn.execute(_ALL_DOMAINS_HEALTHY, {"at": at})
    for name in dmarc_failing:
        conn.execute(_DMARC_FAILING, {"for_name": name})


_MAILBOX_ID = select(_M.c.id).where(_M.c.email == bindparam("email"))
_LAST_UID = select(func.max(_R.c.uid)).where(
    _R.c.mailbox_id == bindparam("mailbox_id"),
    _R.c.folder == bindparam("folder"),
    _R.c.uidvalidity == bindparam("uidvalidity"),
)


def next_delivery_uid(
    conn: Connection, mailbox_email: str, folder: str, uidvalidity: int
) -> tuple[int, int]:
    """(mailbox id, the next UID in its `folder`) for a message delivered to the mailbox
    `mailbox_email`, which must exist (`NoResultFound` otherwise)."""
    mailbox_id = int(conn.execute(_MAILBOX_ID, {"email": mailbox_email}).scalar_one())
    last = conn.execute(
        _LAST_UID, {"mailbox_id": mailbox_id, "folder": folder, "uidvalidity": uidvalidity}
    ).scalar()
    return mailbox_id, 1 + int(last or 0)
