"""imaplib with bounds: what an IMAP server sends is data, and a hostile server's data is big.

`imaplib` reads a literal (`{n}` then n bytes) with one `read(n)`: a server that announces
10^13 bytes makes it allocate them (MemoryError), and one that sends endless untagged lines
or trickles a byte at a time holds the session (and every mailbox polled after it) forever.
`BoundedImap` and `BoundedImapSsl` add three bounds around each command:

- a literal above `max_literal` (the message size cap) is refused before a byte of it is
  read: the session is then out of step with the server and is dropped;
- a command reads at most `budget` bytes in all (lines and literals);
- a command that has not completed after `deadline` seconds has its socket shut down from
  a watchdog thread, which ends the blocked read (a socket timeout only bounds each recv).

A refusal is recorded in `violation`, so the session can tell a hostile answer from a lost
connection. The numbers a server sends are checked here too (`checked_uid`, `checked_number`):
RFC 3501 UIDs and UIDVALIDITY are non-zero 32-bit unsigned integers.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

#: RFC 3501 §2.3.1.1: a UID (and UIDVALIDITY) is a non-zero 32-bit unsigned integer.
UID_MAX = 2**32 - 1

#: What one command other than a FETCH may read in all (SEARCH, LIST, EXAMINE answers).
DEFAULT_BUDGET = 8 * 1024 * 1024


class WireViolation(Exception):
    """The server's answer broke a bound or the protocol (the message says how)."""


def checked_number(what: str, token: bytes, *, low: int = 0, high: int = UID_MAX) -> int:
    """`token` as an integer within [low, high]; digits only (no sign, no 5,000-digit value
    that Python would refuse to convert)."""
    if not token.isdigit() or len(token) > 10:
        raise WireViolation(f"{what} {token[:40]!r} is not a number the protocol allows")
    value = int(token)
    if not low <= value <= high:
        raise WireViolation(f"{what} {value} is out of range ({low}..{high})")
    return value


def checked_uid(token: bytes) -> int:
    """A UID from the server: 1..2^32-1."""
    return checked_number("UID", token, low=1)


def first_number(values: list[bytes | None] | None, what: str, *, low: int) -> int | None:
    """The first number of an untagged response code (`* OK [UIDVALIDITY n]`), range-checked."""
    for value in values or []:
        if not isinstance(value, bytes) or not value.split():
            continue
        return checked_number(what, value.split()[0], low=low)
    return None


def search_uids(data: list[object]) -> list[int]:
    """The UIDs of SEARCH answers, ascending; anything but UIDs in range is a violation."""
    tokens = b" ".join(d for d in data if isinstance(d, bytes)).split()
    return sorted({checked_uid(token) for token in tokens})


_UID_IN_FETCH = re.compile(rb"UID (\d+)")
_INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]+)"')


def fetch_items(data: list[object]) -> Iterator[tuple[int, bytes, datetime | None]]:
    """(UID, message bytes, INTERNALDATE) of each FETCH answer that carries a message."""
    for item in data:
        if not isinstance(item, tuple) or len(item) < 2:
            continue
        head, raw = item[0], item[1]
        if not isinstance(head, bytes) or not isinstance(raw, bytes):
            continue
        match = _UID_IN_FETCH.search(head)
        if match is None:
            continue
        date = _INTERNALDATE.search(head)
        yield checked_uid(match.group(1)), raw, internaldate(date.group(1)) if date else None


def internaldate(value: bytes) -> datetime | None:
    """An INTERNALDATE in UTC, or None when it is not one."""
    try:
        parsed = datetime.strptime(value.decode("ascii"), "%d-%b-%Y %H:%M:%S %z")
        # 31-Dec-9999 with a negative offset is past the last datetime in UTC.
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


class _Bounds:
    """The bounds, mixed into imaplib's classes ahead of them (see the module docstring)."""

    max_literal: int
    budget: int
    deadline: float
    violation: str | None
    sock: socket.socket
    file: Any

    def _init_bounds(self, max_literal: int, deadline: float) -> None:
        self.max_literal = max_literal
        self.budget = DEFAULT_BUDGET
        self.deadline = deadline
        self.violation = None
        self._read_so_far = 0
        self._timer: threading.Timer | None = None

    # -- the watchdog ---------------------------------------------------------------------

    def arm(self, budget: int = DEFAULT_BUDGET) -> None:
        """Start one command's bounds: a fresh byte budget and the deadline."""
        self.disarm()
        self.budget = budget
        self._read_so_far = 0
        sock = getattr(self, "sock", None)
        if sock is None:
            return
        timer = threading.Timer(self.deadline, _cut, args=(self, sock))
        timer.daemon = True
        timer.start()
        self._timer = timer

    def disarm(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()

    # -- imaplib's reads ------------------------------------------------------------------

    def read(self, size: int) -> bytes:
        if size > self.max_literal:
            self._refuse(f"the server announced a literal of {size} bytes (cap {self.max_literal})")
        self._count(size)
        data: bytes = self.file.read(size)
        return data

    def readline(self) -> bytes:
        # imaplib's own readline, bounded per line (1 MB); the budget bounds the lines' sum.
        line: bytes = imaplib.IMAP4.readline(self)  # type: ignore[arg-type]
        self._count(len(line))
        return line

    def _count(self, size: int) -> None:
        self._read_so_far += size
        if self._read_so_far > self.budget:
            self._refuse(f"the server's answer exceeds {self.budget} bytes")

    def _refuse(self, why: str) -> None:
        self.violation = why
        raise imaplib.IMAP4.abort(why)


def _cut(conn: _Bounds, sock: socket.socket) -> None:
    """The deadline passed: shut the socket down under the blocked read (the plain socket's
    shutdown, which leaves an SSL object that another thread is inside untouched)."""
    conn.violation = f"the server did not complete a command within {conn.deadline:g} s"
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def shutdown(conn: imaplib.IMAP4) -> None:
    """Close the session's socket without a word to the server (however far it got)."""
    try:
        conn.shutdown()
    except Exception:
        sock = getattr(conn, "sock", None)
        if isinstance(sock, socket.socket):
            sock.close()


class BoundedImap(_Bounds, imaplib.IMAP4):
    """`imaplib.IMAP4` (STARTTLS sessions) with the bounds; armed while connecting."""

    def __init__(
        self, host: str, port: int, *, timeout: float, max_literal: int, deadline: float
    ) -> None:
        self._init_bounds(max_literal, deadline)
        try:
            super().__init__(host, port, timeout=timeout)
        finally:
            self.disarm()  # armed by open(); the session arms each command itself

    def open(self, host: str = "", port: int = 143, timeout: float | None = None) -> None:
        super().open(host, port, timeout)
        self.arm()  # the greeting and CAPABILITY are read by the constructor


class BoundedImapSsl(_Bounds, imaplib.IMAP4_SSL):
    """`imaplib.IMAP4_SSL` (implicit TLS) with the bounds; armed while connecting."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        ssl_context: Any,
        timeout: float,
        max_literal: int,
        deadline: float,
    ) -> None:
        self._init_bounds(max_literal, deadline)
        try:
            super().__init__(host, port, ssl_context=ssl_context, timeout=timeout)
        finally:
            self.disarm()

    def open(self, host: str = "", port: int | None = 993, timeout: float | None = None) -> None:
        super().open(host, port, timeout)
        self.arm()


__all__ = [
    "DEFAULT_BUDGET",
    "UID_MAX",
    "BoundedImap",
    "BoundedImapSsl",
    "WireViolation",
    "checked_number",
    "checked_uid",
    "fetch_items",
    "first_number",
    "internaldate",
    "search_uids",
    "shutdown",
]
