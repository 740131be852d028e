"""The IMAP client: read-only access to a mailbox's folders, by UID, over pinned TLS.

Built on the standard library's `imaplib`, one blocking session run in a worker thread
(`asyncio.to_thread`), so the event loop never waits on the network. Chosen over aioimaplib
and IMAPClient because of what they have let through (FACTS.md: CR/LF in SEARCH arguments),
and because this Python's imaplib does not reject CR/LF/NUL in arguments itself: every
argument built from data is checked here (`ImapArgumentError`) and values from messages go
to the server as literals (`{n}` + the bytes), never pasted into the command line.

Security is pinned: port 993 (or `security="tls"`) is implicit TLS, anything else must
upgrade with STARTTLS, and a server that does not offer STARTTLS is refused, never spoken to
in plaintext. Certificates are verified with the same context as SMTP (system CAs plus
`[tls] ca_file`) unless the operator turned verification off for that mailbox.

The client never changes a mailbox: folders are opened with EXAMINE (read-only), messages
are fetched with BODY.PEEK[] (no \\Seen), and there is no STORE, EXPUNGE or DELETE here.
"""

from __future__ import annotations

import asyncio
import imaplib
import logging
import re
import socket
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Literal

from outreach_tui.core.errors import InputError, OutreachError
from outreach_tui.mail.smtp import client_tls_context

log = logging.getLogger(__name__)

Security = Literal["tls", "starttls"]


class ImapError(OutreachError):
    """The IMAP server could not be used (connection, TLS, login, protocol)."""


class ImapConnectionError(ImapError):
    """Refused, timed out, or the connection dropped: try again next cycle."""


class ImapTlsError(ImapError):
    """The certificate did not verify, or the server offers no STARTTLS (never plaintext)."""


class ImapAuthError(ImapError):
    """The server refused the login."""


class ImapArgumentError(InputError):
    """A value bound for an IMAP command contains CR, LF or NUL (or is otherwise unsendable)."""


@dataclass(frozen=True, slots=True)
class ImapEndpoint:
    """How to reach one mailbox's IMAP server. `password` returns the password when called
    (at LOGIN), as `SmtpEndpoint.password` does."""

    host: str
    port: int
    username: str
    password: Callable[[], str]
    security: Security = "tls"
    verify_tls: bool = True
    ca_file: Path | None = None
    timeout: float = 30.0
    label: str = ""

    @staticmethod
    def security_for(port: int) -> Security:
        """993 is implicit TLS; every other port must upgrade with STARTTLS."""
        return "tls" if port == 993 else "starttls"


@dataclass(frozen=True, slots=True)
class FolderState:
    name: str
    uidvalidity: int
    exists: int
    uidnext: int | None


@dataclass(frozen=True, slots=True)
class FetchedMessage:
    uid: int
    raw: bytes
    internaldate: datetime | None


_UNSAFE = re.compile(r"[\r\n\x00]")
_ATOM_SAFE = re.compile(r"^[A-Za-z0-9._/\-]+$")
_UID_IN_FETCH = re.compile(rb"UID (\d+)")
_INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]+)"')


def check_argument(what: str, value: str) -> str:
    """Refuse CR, LF and NUL: inside a command line they would end it and start another."""
    if _UNSAFE.search(value):
        raise ImapArgumentError(f"{what} contains a line break or NUL; not sent to the server")
    return value


def quote_mailbox(name: str) -> str:
    """A folder name as an IMAP astring: an atom when plain, a quoted string otherwise."""
    check_argument("folder name", name)
    if not name.isascii():
        raise ImapArgumentError("folder name must be ASCII (modified UTF-7 is not supported)")
    if _ATOM_SAFE.match(name):
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def literal_bytes(what: str, value: str) -> bytes:
    """A value for a literal: checked like any argument (a literal may carry CR/LF, but no
    header value we search for can, so one that does is an attack or a bug)."""
    check_argument(what, value)
    if not value.isascii():
        raise ImapArgumentError(f"{what} is not ASCII; not searched for")
    return value.encode("ascii")


def uid_set(uids: Iterable[int]) -> str:
    return ",".join(str(int(u)) for u in uids)


class ImapSession:
    """One blocking IMAP session. Use through `ImapClient` (which runs it in a thread)."""

    def __init__(self, endpoint: ImapEndpoint) -> None:
        self.endpoint = endpoint
        self.conn: imaplib.IMAP4 | None = None
        self.folder: FolderState | None = None

    # -- connection ----------------------------------------------------------------------------

    def open(self) -> None:
        ep = self.endpoint
        context = client_tls_context(ep.verify_tls, ep.ca_file)
        where = ep.label or f"{ep.host}:{ep.port}"
        password = ep.password()
        check_argument("IMAP user", ep.username)
        try:
            if ep.security == "tls":
                conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    ep.host, ep.port, ssl_context=context, timeout=ep.timeout
                )
            else:
                conn = imaplib.IMAP4(ep.host, ep.port, timeout=ep.timeout)
                try:
                    if "STARTTLS" not in conn.capabilities:
                        raise ImapTlsError(
                            f"{where}: the server does not offer STARTTLS; refusing to log in "
                            "without TLS"
                        )
                    conn.starttls(ssl_context=context)
                except BaseException:
                    _shutdown(conn)
                    raise
        except ssl.SSLError as exc:
            raise ImapTlsError(f"{where}: secure connection failed", detail=str(exc)) from None
        except (OSError, imaplib.IMAP4.error) as exc:
            if isinstance(exc, ssl.SSLError | ssl.CertificateError):
                raise ImapTlsError(f"{where}: secure connection failed", detail=str(exc)) from None
            raise ImapConnectionError(f"{where}: cannot connect", detail=str(exc)) from None
        self.conn = conn
        try:
            conn.login(ep.username, password)
        except imaplib.IMAP4.abort as exc:
            self.close()
            raise ImapConnectionError(f"{where}: connection lost", detail=str(exc)) from None
        except imaplib.IMAP4.error as exc:
            self.close()
            raise ImapAuthError(f"{where}: login refused", detail=str(exc)) from None
        except OSError as exc:
            self.close()
            raise ImapConnectionError(f"{where}: connection lost", detail=str(exc)) from None

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is None:
            return
        try:
            if conn.state == "SELECTED":
                conn.close()  # EXAMINE'd: CLOSE expunges nothing on a read-only folder
            conn.logout()
        except (OSError, imaplib.IMAP4.error):
            _shutdown(conn)

    def _conn(self) -> imaplib.IMAP4:
        if self.conn is None:
            raise ImapConnectionError("not connected")
        return self.conn

    def _call(self, what: str, fn: object, *args: object) -> list[object]:
        """Run one imaplib command; protocol and socket failures become ImapErrors."""
        assert callable(fn)
        try:
            typ, data = fn(*args)
        except imaplib.IMAP4.abort as exc:
            raise ImapConnectionError(f"{what}: connection lost", detail=str(exc)) from None
        except imaplib.IMAP4.error as exc:
            raise ImapError(f"{what} failed", detail=str(exc)) from None
        except (OSError, EOFError) as exc:
            raise ImapConnectionError(f"{what}: connection lost", detail=str(exc)) from None
        if typ != "OK":
            raise ImapError(f"{what} refused by the server", detail=repr(data)[:300])
        return list(data)

    # -- folders -------------------------------------------------------------------------------

    def examine(self, folder: str) -> FolderState:
        """Open `folder` read-only (EXAMINE): nothing fetched here can change a flag."""
        conn = self._conn()
        self._call(f"EXAMINE {folder}", conn.select, quote_mailbox(folder), True)
        uidvalidity = _first_int(conn.response("UIDVALIDITY")[1])
        exists = _first_int(conn.response("EXISTS")[1]) or 0
        uidnext = _first_int(conn.response("UIDNEXT")[1])
        if uidvalidity is None:
            raise ImapError(f"{folder}: the server sent no UIDVALIDITY")
        self.folder = FolderState(folder, uidvalidity, exists, uidnext)
        return self.folder

    def sent_folder(self, fallback: str) -> str:
        """The folder marked \\Sent (RFC 6154), or `fallback` when none is marked."""
        for line in self._call("LIST", self._conn().list):
            if not isinstance(line, bytes):
                continue
            match = re.match(rb'\(([^)]*)\) (?:"[^"]*"|NIL) (.+)$', line)
            if match and b"\\sent" in match.group(1).lower():
                name = match.group(2).strip()
                if name.startswith(b'"') and name.endswith(b'"'):
                    name = name[1:-1].replace(b'\\"', b'"').replace(b"\\\\", b"\\")
                return name.decode("ascii", "replace")
        return fallback

    # -- messages ------------------------------------------------------------------------------

    def uids_after(self, last_uid: int, limit: int | None = None) -> list[int]:
        """UIDs above `last_uid`, ascending, at most `limit` of them."""
        data = self._call("UID SEARCH", self._conn().uid, "SEARCH", "UID", f"{last_uid + 1}:*")
        found = sorted(
            int(x) for x in b" ".join(d for d in data if isinstance(d, bytes)).split() if x
        )
        # "n:*" always matches the highest UID, even when it is below n (RFC 3501 6.4.8).
        found = [u for u in found if u > last_uid]
        return found if limit is None else found[:limit]

    def fetch(self, uids: list[int]) -> list[FetchedMessage]:
        """The raw messages (BODY.PEEK[]: \\Seen is never set), by UID, in UID order."""
        if not uids:
            return []
        data = self._call(
            "UID FETCH",
            self._conn().uid,
            "FETCH",
            uid_set(uids),
            "(UID INTERNALDATE BODY.PEEK[])",
        )
        messages: dict[int, FetchedMessage] = {}
        for item in data:
            if not isinstance(item, tuple) or len(item) < 2:
                continue
            head, raw = item[0], item[1]
            match = _UID_IN_FETCH.search(head)
            if match is None:
                continue
            uid = int(match.group(1))
            date_match = _INTERNALDATE.search(head)
            messages[uid] = FetchedMessage(
                uid, bytes(raw), _internaldate(date_match.group(1)) if date_match else None
            )
        return [messages[u] for u in sorted(messages)]

    def search_header(self, header: str, value: str) -> list[int]:
        """UIDs whose `header` contains `value`; the value travels as a literal."""
        if not re.fullmatch(r"[A-Za-z0-9-]+", header):
            raise ImapArgumentError("header name must be letters, digits and dashes")
        conn = self._conn()
        # imaplib sends `self.literal` as "{n}" at the end of the command, waits for the
        # server's "+" and then sends the bytes: the value never joins the command line.
        conn.literal = literal_bytes(header, value)  # type: ignore[assignment]
        data = self._call("UID SEARCH HEADER", conn.uid, "SEARCH", "HEADER", header)
        return sorted(
            int(x) for x in b" ".join(d for d in data if isinstance(d, bytes)).split() if x
        )


class ImapClient:
    """Async face of `ImapSession`: every call runs in a worker thread.

    `async with ImapClient(endpoint) as imap: ...` connects, logs in and logs out."""

    def __init__(self, endpoint: ImapEndpoint) -> None:
        self.session = ImapSession(endpoint)

    async def __aenter__(self) -> ImapClient:
        await asyncio.to_thread(self.session.open)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.session.close)

    async def examine(self, folder: str) -> FolderState:
        return await asyncio.to_thread(self.session.examine, folder)

    async def sent_folder(self, fallback: str) -> str:
        return await asyncio.to_thread(self.session.sent_folder, fallback)

    async def uids_after(self, last_uid: int, limit: int | None = None) -> list[int]:
        return await asyncio.to_thread(self.session.uids_after, last_uid, limit)

    async def fetch(self, uids: list[int]) -> list[FetchedMessage]:
        return await asyncio.to_thread(self.session.fetch, uids)

    async def search_header(self, header: str, value: str) -> list[int]:
        return await asyncio.to_thread(self.session.search_header, header, value)


def _shutdown(conn: imaplib.IMAP4) -> None:
    try:
        conn.shutdown()
    except OSError:
        sock = getattr(conn, "sock", None)
        if isinstance(sock, socket.socket):
            sock.close()


def _first_int(values: list[bytes | None] | None) -> int | None:
    for value in values or []:
        if value is None:
            continue
        try:
            return int(value.split()[0])
        except (ValueError, IndexError):
            continue
    return None


def _internaldate(value: bytes) -> datetime | None:
    try:
        parsed = datetime.strptime(value.decode("ascii"), "%d-%b-%Y %H:%M:%S %z")
    except ValueError:
        return None
    return parsed.astimezone(UTC)
