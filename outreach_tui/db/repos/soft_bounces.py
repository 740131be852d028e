"""Soft bounces per address and local day (`soft_bounce`): an address that soft-bounces on
`[replies] soft_bounce_days` separate days is suppressed (core/event_effects.py decides,
engine/sending/event_effects.py writes). One row per soft bounce, named by its source
(`reply:ID`, `attempt:ID`), so the operator's relabel takes exactly its own row back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, bindparam, delete, func, insert, select

from outreach_tui.db import tables as t

_S = t.soft_bounce


@dataclass(frozen=True, slots=True)
class SoftDays:
    """The separate local days an address soft-bounced on, and whether today is one."""

    days: int
    today: bool


_INSERT = insert(_S).values(
    address=bindparam("address"),
    day=bindparam("day"),
    source=bindparam("source"),
    created_at=bindparam("created_at"),
)
_DAYS = select(func.count(func.distinct(_S.c.day)), func.max(_S.c.day)).where(
    _S.c.address == bindparam("address")
)
_DAYS_OF = (
    select(_S.c.day).where(_S.c.address == bindparam("address")).distinct().order_by(_S.c.day)
)
_REMOVE = delete(_S).where(_S.c.source == bindparam("source"))


def record_soft_bounce(
    conn: Connection, address: str, day: date, source: str, at: datetime
) -> None:
    conn.execute(_INSERT, {"address": address, "day": day, "source": source, "created_at": at})


def soft_days(conn: Connection, address: str, today: date) -> SoftDays:
    """How many separate days `address` soft-bounced on so far, and whether `today` is one
    (days are never in the future, so the latest is today's when there is one)."""
    count, latest = conn.execute(_DAYS, {"address": address}).one()
    return SoftDays(int(count or 0), latest == today)


def soft_bounce_days(conn: Connection, address: str) -> list[date]:
    """The separate days `address` soft-bounced on, oldest first."""
    return [day for day in conn.execute(_DAYS_OF, {"address": address}).scalars()]


def remove_soft_bounces(conn: Connection, source: str) -> int:
    """Take back the soft bounces `source` recorded (a relabel); how many."""
    return int(conn.execute(_REMOVE, {"source": source}).rowcount)
