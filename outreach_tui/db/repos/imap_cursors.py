"""IMAP cursors: how far the poller has read each folder of each mailbox.

The cursor moves in the transaction that applies the messages below it, so a crash re-reads
exactly the messages whose effects did not commit (engine/inbox/applier.py). A WHERE
parameter of an UPDATE is never named after a column of the table: SQLAlchemy reserves those
names for the SET clause.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, select, update

from outreach_tui.db import tables as t
from outreach_tui.db.session import DriverStatement

_C = t.imap_cursor


@dataclass(frozen=True, slots=True)
class ImapCursor:
    """How far a folder was read: the last UID applied under its UIDVALIDITY."""

    uidvalidity: int
    last_uid: int


_CURSOR = select(_C.c.uidvalidity, _C.c.last_uid).where(
    _C.c.mailbox_id == bindparam("mailbox_id"), _C.c.folder == bindparam("folder")
)
_CREATE_CURSOR = insert(_C).values(
    mailbox_id=bindparam("mailbox_id"),
    folder=bindparam("folder"),
    uidvalidity=bindparam("uidvalidity"),
    last_uid=0,
    updated_at=bindparam("updated_at"),
)
_RESET_CURSOR = (
    update(_C)
    .where(
        _C.c.mailbox_id == bindparam("cursor_mailbox"), _C.c.folder == bindparam("cursor_folder")
    )
    .values(uidvalidity=bindparam("uidvalidity"), last_uid=0, updated_at=bindparam("updated_at"))
)
# Prebuilt: run once per transaction of the poller.
_ADVANCE_CURSOR = DriverStatement(
    update(_C)
    .where(
        _C.c.mailbox_id == bindparam("cursor_mailbox"),
        _C.c.folder == bindparam("cursor_folder"),
        _C.c.uidvalidity == bindparam("cursor_uidvalidity"),
        _C.c.last_uid < bindparam("uid"),
    )
    .values(last_uid=bindparam("uid"), updated_at=bindparam("updated_at"))
)


def imap_cursor(conn: Connection, mailbox_id: int, folder: str) -> ImapCursor | None:
    row = conn.execute(_CURSOR, {"mailbox_id": mailbox_id, "folder": folder}).first()
    return None if row is None else ImapCursor(int(row.uidvalidity), int(row.last_uid))


def create_imap_cursor(
    conn: Connection, mailbox_id: int, folder: str, uidvalidity: int, at: datetime
) -> None:
    """A folder read for the first time: nothing applied yet (last UID 0)."""
    conn.execute(
        _CREATE_CURSOR,
        {"mailbox_id": mailbox_id, "folder": folder, "uidvalidity": uidvalidity, "updated_at": at},
    )


def reset_imap_cursor(
    conn: Connection, mailbox_id: int, folder: str, uidvalidity: int, at: datetime
) -> None:
    """The folder was rebuilt (a new UIDVALIDITY): read it again from UID 0."""
    conn.execute(
        _RESET_CURSOR,
        {
            "cursor_mailbox": mailbox_id,
            "cursor_folder": folder,
            "uidvalidity": uidvalidity,
            "updated_at": at,
        },
    )


def advance_imap_cursor(
    conn: Connection, mailbox_id: int, folder: str, uidvalidity: int, uid: int, at: datetime
) -> None:
    """The cursor past `uid` (never backwards, and only under the same UIDVALIDITY)."""
    _ADVANCE_CURSOR.execute(
        conn,
        {
            "cursor_mailbox": mailbox_id,
            "cursor_folder": folder,
            "cursor_uidvalidity": uidvalidity,
            "uid": uid,
            "updated_at": at,
        },
    )
