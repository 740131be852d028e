"""A scripted IMAP server on loopback that says what a test (or hypothesis) tells it to.

Why: Dovecot (tests/servers/dovecot.py) only ever answers correctly. A hostile or broken server
answers `* SEARCH 1 abc`, a UID of 10^20, a literal of 10^13 bytes, or nothing the protocol
knows; the client must turn all of it into its own errors, and a mailbox's poll cycle must
cost only that mailbox. This server plays a small, correct mailbox (one folder of messages by
UID, a Sent folder) over implicit TLS with a certificate of the run-time test CA
(tests/servers/pki.py), and lets any command's answer be replaced by raw bytes.

    server = HostileImapServer(pki, messages={1: raw})
    server.answers["UID SEARCH"] = b"* SEARCH 1 abc\\r\\n{tag} OK done\\r\\n"
    with server: ... ImapEndpoint(host=server.host, port=server.port, ca_file=pki.ca_file) ...

A replaced answer has `{tag}` substituted with the command's tag. One that does not complete
its command (no tagged line) is followed by the end of the connection (unless
`keep_open_after_script`), so a client waiting for the rest reads EOF rather than waiting for
its timeout; after one that does, the session goes on. Only 127.0.0.1 is bound; the OS picks
the port.
"""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType

from tests.servers.pki import TestPKI

LOOPBACK = "127.0.0.1"
Answer = bytes | Callable[[bytes, bytes], bytes]
"""Raw bytes (with `{tag}`), or a function of (tag, the command's arguments) giving them."""

_LITERAL = re.compile(rb"\{(\d+)\+?\}$")
_IO_TIMEOUT = 5.0


@dataclass
class HostileImapServer:
    pki: TestPKI
    messages: dict[int, bytes] = field(default_factory=dict)
    uidvalidity: bytes = b"1234"
    answers: dict[str, Answer] = field(default_factory=dict)
    """Command name (`GREETING`, `CAPABILITY`, `LOGIN`, `EXAMINE`, `UID SEARCH`, `UID FETCH`,
    `LIST`, `LOGOUT`, ...) → what is sent instead of the correct answer."""
    keep_open_after_script: bool = False
    commands: list[bytes] = field(default_factory=list)
    """Every command line received (tags included), for assertions."""

    def __post_init__(self) -> None:
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.host = LOOPBACK
        self.port = 0

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> HostileImapServer:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((LOOPBACK, 0))
        listener.listen(16)
        listener.settimeout(0.2)
        self._listener = listener
        self.port = listener.getsockname()[1]
        thread = threading.Thread(target=self._accept_loop, name="hostile-imap", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def __enter__(self) -> HostileImapServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- serving --------------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        assert self._listener is not None
        context = self.pki.server_context("good")
        while not self._stopping.is_set():
            try:
                raw, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            raw.settimeout(_IO_TIMEOUT)
            thread = threading.Thread(
                target=self._serve, args=(raw, context), name="hostile-imap-conn", daemon=True
            )
            thread.start()
            with self._lock:
                self._threads.append(thread)

    def _serve(self, raw: socket.socket, context: ssl.SSLContext) -> None:
        try:
            conn = context.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            raw.close()
            return
        with self._lock:
            self._conns.append(conn)
        reader = conn.makefile("rb")
        try:
            self._session(conn, reader)
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            reader.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                conn.close()

    def _session(self, conn: socket.socket, reader: object) -> None:
        assert hasattr(reader, "readline") and hasattr(reader, "read")
        if self._send(conn, "GREETING", b"", b"", b"* OK [CAPABILITY IMAP4rev1] hostile ready\r\n"):
            return
        while not self._stopping.is_set():
            line = reader.readline(65536)
            if not line:
                return
            literal = _LITERAL.search(line.rstrip(b"\r\n"))
            if literal:  # a synchronising literal: ask for it, read it, then the line's rest
                conn.sendall(b"+ go ahead\r\n")
                line = line.rstrip(b"\r\n") + b" " + reader.read(int(literal.group(1)))
                line += reader.readline(65536)
            self.commands.append(line)
            tag, _, rest = line.rstrip(b"\r\n").partition(b" ")
            words = rest.split(b" ")
            name = words[0].upper().decode("ascii", "replace")
            args = b" ".join(words[1:])
            if name == "UID" and len(words) > 1:
                name = "UID " + words[1].upper().decode("ascii", "replace")
                args = b" ".join(words[2:])
            if self._send(conn, name, tag, args, self._correct(name, tag, args)):
                return
            if name == "LOGOUT":
                return

    def _send(
        self, conn: socket.socket, name: str, tag: bytes, args: bytes, correct: bytes
    ) -> bool:
        """Send the scripted answer or the correct one; True when the session ends here."""
        scripted = self.answers.get(name)
        if scripted is None:
            conn.sendall(correct)
            return False
        data = (scripted(tag, args) if callable(scripted) else scripted).replace(b"{tag}", tag)
        conn.sendall(data)
        completed = not tag or re.search(rb"(?:^|\n)" + re.escape(tag) + rb" ", data)
        if completed or self.keep_open_after_script:
            return False
        # End our side after the answer, so the client reads it whole and then EOF (a close
        # with its next command unread would reset the connection under the answer).
        with contextlib.suppress(OSError, ssl.SSLError):
            socket.socket.shutdown(conn, socket.SHUT_WR)
            conn.settimeout(1.0)
            while conn.recv(65536):
                pass
        return True

    # -- the correct mailbox --------------------------------------------------------------------

    def _correct(self, name: str, tag: bytes, args: bytes) -> bytes:
        done = tag + b" OK done\r\n"
        if name == "CAPABILITY":
            return b"* CAPABILITY IMAP4rev1\r\n" + done
        if name in ("LOGIN", "CLOSE", "NOOP"):
            return done
        if name in ("EXAMINE", "SELECT"):
            top = max(self.messages, default=0)
            return (
                b"* FLAGS (\\Seen)\r\n* %d EXISTS\r\n* OK [UIDVALIDITY %s] ok\r\n"
                b"* OK [UIDNEXT %d] ok\r\n%s OK [READ-ONLY] done\r\n"
                % (len(self.messages), self.uidvalidity, top + 1, tag)
            )
        if name == "LIST":
            return b'* LIST () "/" INBOX\r\n* LIST (\\Sent) "/" Sent\r\n' + done
        if name == "UID SEARCH":
            found = b""
            match = re.match(rb"UID (\d+):\*", args)
            if match:
                low = int(match.group(1))
                uids = sorted(u for u in self.messages if u >= low) or sorted(self.messages)[-1:]
                found = b" " + b" ".join(b"%d" % u for u in uids) if uids else b""
            return b"* SEARCH" + found + b"\r\n" + done
        if name == "UID FETCH":
            out = b""
            wanted = {int(x) for x in re.findall(rb"\d+", args.split(b" ")[0])}
            for seq, uid in enumerate(sorted(self.messages), 1):
                if uid in wanted:
                    raw = self.messages[uid]
                    out += b'* %d FETCH (UID %d INTERNALDATE "02-Mar-2026 11:00:00 +0000" ' % (
                        seq,
                        uid,
                    )
                    out += b"BODY[]<0> {%d}\r\n%s)\r\n" % (len(raw), raw)
            return out + done
        if name == "LOGOUT":
            return b"* BYE bye\r\n" + done
        return tag + b" BAD unknown command\r\n"


__all__ = ["HostileImapServer"]
