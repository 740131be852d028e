"""Leases in the database: who may dispatch a mailbox (or run a singleton job) until when.

A console and a worker, or two consoles over two SSH sessions, or several workers on
several machines (PostgreSQL), share one database. Only the holder of `mailbox:<id>` sends
from that mailbox; a holder that dies frees it when the lease expires. The attempt claim
(`approved` → `sending`, compare-and-set) is the second line of defence: even two holders
could never send one attempt twice.

This module holds what leases mean to a process (its holder id, its fair share of the
mailboxes, which local holders are dead); the statements, and why they are safe when
several processes race for one lease, are in db/repos/leases.py, re-exported here.
"""

from __future__ import annotations

import os
import re
import socket
import uuid
from datetime import datetime

from sqlalchemy import Connection

from outreach_tui.db.repos.leases import (
    MAILBOX_PREFIX,
    acquire,
    holder_of,
    lease_holders,
    live_workers,
    mailbox_lease,
    mailboxes_held_elsewhere,
    register_worker,
    release,
    release_all,
    renew,
    unregister,
)

_HOLDER = re.compile(r"^[^@]+@(?P<host>.+):(?P<pid>\d+):[0-9a-f]+$")


def new_holder_id(kind: str = "engine") -> str:
    """Unique per engine instance: host, pid and a random part (pids are reused)."""
    return f"{kind}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def holder_kind(holder: str) -> str:
    """`worker` or `console`: the first part of a holder id (see `new_holder_id`)."""
    return holder.split("@", 1)[0]


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, under another user
        return True
    return True


def release_dead_local(conn: Connection) -> list[str]:
    """Free the leases of processes on this host that no longer exist (killed, crashed).

    Without this a worker restarted after a SIGKILL or an OOM kill waits out the dead
    process's leases (`lease_seconds`, 2 minutes by default) before it sends again. Only
    holders on this host are judged, by their pid; a pid that is alive (possibly reused by
    another program) keeps its lease until it expires, which is the safe side.
    """
    host = socket.gethostname()
    dead = set()
    for holder in lease_holders(conn):
        match = _HOLDER.match(holder)
        if (
            match
            and match["host"] == host
            and int(match["pid"]) != os.getpid()
            and not _process_alive(int(match["pid"]))
        ):
            dead.add(holder)
    for holder in dead:
        release_all(conn, holder)
    return sorted(dead)


# -- worker presence (several processes on one PostgreSQL) ------------------------------


def heartbeat(conn: Connection, holder: str, now: datetime) -> None:
    """Register this process in `worker_process` (host, pid) or refresh its heartbeat."""
    register_worker(
        conn, holder, host=socket.gethostname(), pid=os.getpid(), kind=holder_kind(holder), at=now
    )


def fair_share(candidates: int, held_elsewhere: int, workers: int) -> int:
    """How many mailboxes one process should hold: an even split of those with work."""
    workers = max(1, workers)
    return max(1, -(-(candidates + held_elsewhere) // workers))


__all__ = [
    "MAILBOX_PREFIX",
    "acquire",
    "fair_share",
    "heartbeat",
    "holder_kind",
    "holder_of",
    "live_workers",
    "mailbox_lease",
    "mailboxes_held_elsewhere",
    "new_holder_id",
    "release",
    "release_all",
    "release_dead_local",
    "renew",
    "unregister",
]
