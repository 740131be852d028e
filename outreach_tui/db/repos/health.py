"""What `GET /health` reads: whether the database answers, and the processes' heartbeats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, literal, select

from outreach_tui.db import tables as t

_PING = select(literal(1))
_W = t.worker_process
_HEARTBEATS = select(_W.c.kind, _W.c.host, _W.c.pid, _W.c.heartbeat_at).order_by(
    _W.c.heartbeat_at.desc()
)


def ping(conn: Connection) -> bool:
    """One round trip: True when the database answered."""
    return conn.execute(_PING).scalar_one() == 1


@dataclass(frozen=True, slots=True)
class Heartbeat:
    kind: str
    host: str
    pid: int
    at: datetime


def heartbeats(conn: Connection, limit: int = 50) -> list[Heartbeat]:
    """The registered processes (workers and consoles running the engine), newest first."""
    return [Heartbeat(*row) for row in conn.execute(_HEARTBEATS.limit(limit))]
