"""The IMAP client: read-only access to a mailbox's folders, by UID, over pinned TLS.

Built on the standard library's `imaplib`, one blocking session run in a worker thread
(`asyncio.to_thread`), so the event loop never waits on the network. Chosen over aioimaplib
and IMAPClient because of what they have let through (CR/LF in SEARCH arguments); every
argument built from data is checked (mail/imap_args.py, `ImapArgumentError`) and values from
messages go to the server as literals, never pasted into the command line.

Security is pinned: port 993 (or `security="tls"`) is implicit TLS, anything else must
upgrade with STARTTLS, and a server that does not offer STARTTLS is refused, never spoken to
in plaintext. Certificates are verified with the same context as SMTP (system CAs plus
`[tls] ca_file`) unless the operator turned verification off for that mailbox.

The client never changes a mailbox: folders are opened with EXAMINE (read-only), messages
are fetched with BODY.PEEK[] (no \\Seen), and there is no STORE, EXPUNGE or DELETE here.

What the server sends is untrusted: messages are fetched up to `max_message_bytes` (a partial
fetch, `BODY.PEEK[]<0.n>`, so a huge message is read as its head instead of blocking the
mailbox), literals above that cap are refused before they are read, every command has a byte
budget and a deadline (mail/imap_wire.py), and UIDs and UIDVALIDITY are range-checked. Any
answer imaplib cannot take becomes an `ImapProtocolError`: the caller only ever sees
`ImapError`s, and a bad server costs its own mailbox's cycle.
"""

from __future__ import annotations

import asyncio
import imaplib
import logging
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from outreach_tui.core.errors import OutreachError
from outreach_tui.mail.imap_args import ImapArgumentError as ImapArgumentError  # re-exported
from outreach_tui.mail.imap_args import (
    check_argument,
    literal_bytes,
    quote_mailbox,
    uid_set,
)
from outreach_tui.mail.imap_wire import (
    DEFAULT_BUDGET,
    UID_MAX,
    BoundedImap,
    BoundedImapSsl,
    WireViolation,
    fetch_items,
    first_number,
    search_uids,
    shutdown,
)
from outreach_tui.mail.smtp_endpoint import client_tls_context

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


class ImapProtocolError(ImapError):
    """The server's answer broke the protocol or a bound (a literal over the size cap, a UID
    out of range, a line imaplib cannot read): the session is dropped, the next cycle tries
    again."""


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
    max_message_bytes: int = 0
    """Bytes of a message fetched at most (0: `MAX_MESSAGE_BYTES`); a larger literal is refused."""
    command_seconds: float = 0.0
    """Seconds one command may take in all (0: four times `timeout`, at least a minute)."""

    @property
    def message_cap(self) -> int:
        return self.max_message_bytes or MAX_MESSAGE_BYTES

    @property
    def deadline(self) -> float:
        return self.command_seconds or max(self.timeout * 4, 60.0)

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


#: Bytes of one message fetched at most: the analysis reads the first 2 MiB
#: (mail/inbound.py), the rest is an attachment's tail.
MAX_MESSAGE_BYTES = 10 * 1024 * 1024
#: Untagged lines and framing of one FETCH item, beyond its message bytes.
_FETCH_OVERHEAD = 64 * 1024


class ImapSession:
    """One blocking IMAP session. Use through `ImapClient` (which runs it in a thread)."""

    def __init__(self, endpoint: ImapEndpoint) -> None:
        self.endpoint = endpoint
        self.conn: BoundedImap | BoundedImapSsl | None = None
        self.folder: FolderState | None = None

    # -- connection ----------------------------------------------------------------------------

    def open(self) -> None:
        ep = self.endpoint
        context = client_tls_context(ep.verify_tls, ep.ca_file)
        where = self._where()
        password = ep.password()
        check_argument("IMAP user", ep.username)
        conn: BoundedImap | BoundedImapSsl | None = None
        try:
            if ep.security == "tls":
                conn = BoundedImapSsl(
                    ep.host,
                    ep.port,
                    ssl_context=context,
                    timeout=ep.timeout,
                    max_literal=ep.message_cap,
                    deadline=ep.deadline,
                )
            else:
                plain = BoundedImap(
                    ep.host,
                    ep.port,
                    timeout=ep.timeout,
                    max_literal=ep.message_cap,
                    deadline=ep.deadline,
                )
                conn = plain
                if "STARTTLS" not in plain.capabilities:
                    raise ImapTlsError(
                        f"{where}: the server does not offer STARTTLS; refusing to log in "
                        "without TLS"
                    )
                plain.arm()
                plain.starttls(ssl_context=context)
                plain.disarm()
        except BaseException as exc:
            if conn is not None:
                conn.disarm()
                shutdown(conn)
            if isinstance(exc, ImapError) or not isinstance(exc, Exception):
                raise
            raise self._failure("connect", exc, conn) from None
        self.conn = conn
        try:
            self._call("LOGIN", conn.login, ep.username, password)
        except ImapError as exc:
            self.close()
            if type(exc) is ImapError:  # the server answered NO or BAD
                raise ImapAuthError(f"{where}: login refused", detail=exc.detail) from None
            raise

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is None:
            return
        conn.disarm()
        if conn.violation is not None:
            # Out of step with the server (an unread literal, a cut command): no LOGOUT.
            shutdown(conn)
            return
        try:
            conn.arm()
            if conn.state == "SELECTED":
                conn.close()  # EXAMINE'd: CLOSE expunges nothing on a read-only folder
            conn.logout()
        except Exception:  # a bad answer to LOGOUT changes nothing: the socket goes anyway
            shutdown(conn)
        finally:
            conn.disarm()

    def _conn(self) -> BoundedImap | BoundedImapSsl:
        if self.conn is None:
            raise ImapConnectionError("not connected")
        return self.conn

    def _where(self) -> str:
        return self.endpoint.label or f"{self.endpoint.host}:{self.endpoint.port}"

    def _call(
        self, what: str, fn: Callable[..., tuple[str, list[Any]]], *args: object, budget: int = 0
    ) -> list[object]:
        """Run one imaplib command within its bounds; every failure becomes an ImapError."""
        conn = self._conn()
        conn.arm(budget or DEFAULT_BUDGET)
        try:
            typ, data = fn(*args)
        except Exception as exc:
            raise self._failure(what, exc, conn) from None
        finally:
            conn.disarm()
        if typ != "OK":
            raise ImapError(f"{what} refused by the server", detail=repr(data)[:300])
        return list(data)

    def _failure(
        self, what: str, exc: Exception, conn: BoundedImap | BoundedImapSsl | None
    ) -> ImapError:
        """The ImapError for what imaplib (or the socket under it) raised during `what`."""
        where = self._where()
        detail = str(exc)[:300]
        if conn is not None and conn.violation is not None:
            return ImapProtocolError(f"{where}: {what}: {conn.violation}", detail=detail)
        if isinstance(exc, ssl.SSLError | ssl.CertificateError):
            return ImapTlsError(f"{where}: secure connection failed", detail=detail)
        if isinstance(exc, imaplib.IMAP4.abort | OSError | EOFError) or (
            what == "connect" and isinstance(exc, imaplib.IMAP4.error)
        ):
            lost = "cannot connect" if what == "connect" else f"{what}: connection lost"
            return ImapConnectionError(f"{where}: {lost}", detail=detail)
        if isinstance(exc, imaplib.IMAP4.error):
            return ImapError(f"{where}: {what} failed", detail=detail)
        if conn is not None:
            # imaplib choked on the answer (a number it could not convert, bytes it could not
            # decode): its state is unknown, so the session is not used again.
            conn.violation = f"unreadable answer ({type(exc).__name__})"
        log.debug("IMAP %s: imaplib raised on the server's answer", what, exc_info=True)
        return ImapProtocolError(
            f"{where}: {what}: the server's answer could not be read",
            detail=f"{type(exc).__name__}: {exc}"[:300],
        )

    # -- folders -------------------------------------------------------------------------------

    def examine(self, folder: str) -> FolderState:
        """Open `folder` read-only (EXAMINE): nothing fetched here can change a flag."""
        conn = self._conn()
        self._call(f"EXAMINE {folder}", conn.select, quote_mailbox(folder), True)
        try:
            uidvalidity = first_number(conn.response("UIDVALIDITY")[1], "UIDVALIDITY", low=1)
            exists = first_number(conn.response("EXISTS")[1], "EXISTS", low=0) or 0
            uidnext = first_number(conn.response("UIDNEXT")[1], "UIDNEXT", low=1)
        except WireViolation as exc:
            raise ImapProtocolError(f"{self._where()}: EXAMINE {folder}: {exc}") from None
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
                text = name.decode("ascii", "replace")
                try:
                    quote_mailbox(text)
                except ImapArgumentError:
                    continue  # not a name this client can send back (NUL, non-ASCII)
                return text
        return fallback

    # -- messages ------------------------------------------------------------------------------

    def uids_after(self, last_uid: int, limit: int | None = None) -> list[int]:
        """UIDs above `last_uid`, ascending, at most `limit` of them."""
        if last_uid >= UID_MAX:
            return []
        data = self._call("UID SEARCH", self._conn().uid, "SEARCH", "UID", f"{last_uid + 1}:*")
        found = self._search_uids("UID SEARCH", data)
        # "n:*" always matches the highest UID, even when it is below n (RFC 3501 6.4.8).
        found = [u for u in found if u > last_uid]
        return found if limit is None else found[:limit]

    def fetch(self, uids: list[int]) -> list[FetchedMessage]:
        """The raw messages (BODY.PEEK[]: \\Seen is never set), by UID, in UID order; each
        at most `max_message_bytes` long (the head of a longer one)."""
        if not uids:
            return []
        cap = self.endpoint.message_cap
        data = self._call(
            "UID FETCH",
            self._conn().uid,
            "FETCH",
            uid_set(uids),
            f"(UID INTERNALDATE BODY.PEEK[]<0.{cap}>)",
            budget=DEFAULT_BUDGET + len(uids) * (cap + _FETCH_OVERHEAD),
        )
        wanted = set(uids)
        messages: dict[int, FetchedMessage] = {}
        try:
            for uid, raw, date in fetch_items(data):
                if uid in wanted:  # one not asked for is never applied, never moves the cursor
                    messages[uid] = FetchedMessage(uid, bytes(raw), date)
        except WireViolation as exc:
            raise ImapProtocolError(f"{self._where()}: UID FETCH: {exc}") from None
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
        return self._search_uids("UID SEARCH HEADER", data)

    def _search_uids(self, what: str, data: list[object]) -> list[int]:
        try:
            return search_uids(data)
        except WireViolation as exc:
            raise ImapProtocolError(f"{self._where()}: {what}: {exc}") from None


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
