"""A scripted SMTP server on loopback whose reply at any stage is whatever a test says.

Why: aiosmtpd (tests/servers/smtp.py) always speaks well-formed SMTP. A broken or hostile
submission server answers a 9,000-byte line, a code of 999, no code at all, or a 250 where a
354 was due; the transport must read each as the stage rules say (core/smtp_reply.py) and
never raise. This server plays a correct submission service over implicit TLS (a certificate
of the run-time test CA, tests/servers/pki.py) and replaces the reply of one or more stages:

    GREETING, EHLO, AUTH, MAIL, RCPT, DATA (the DATA command), END (after the final "."), QUIT

    with HostileSmtpServer(pki, replies={"RCPT": b"250 " + b"x" * 9000 + b"\\r\\n"}) as server:
        ... SmtpEndpoint(host=server.host, port=server.port, security="tls", ...) ...

The server answers each command once and then reads the next: a client that gives up simply
closes. `received` holds the messages whose final "." arrived (whatever the END reply said).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from dataclasses import dataclass, field
from types import TracebackType

from tests.servers.pki import TestPKI

LOOPBACK = "127.0.0.1"
_IO_TIMEOUT = 5.0

CORRECT: dict[str, bytes] = {
    "GREETING": b"220 hostile.test ESMTP\r\n",
    "EHLO": b"250-hostile.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n",
    "AUTH": b"235 2.7.0 Authentication successful\r\n",
    "MAIL": b"250 2.1.0 Ok\r\n",
    "RCPT": b"250 2.1.5 Ok\r\n",
    "DATA": b"354 End data with <CR><LF>.<CR><LF>\r\n",
    "END": b"250 2.0.0 Ok: queued\r\n",
    "QUIT": b"221 2.0.0 Bye\r\n",
    "RSET": b"250 2.0.0 Ok\r\n",
    "NOOP": b"250 2.0.0 Ok\r\n",
}


#: aiosmtplib's bounds on a reply (aiosmtplib/protocol.py): longer is code -1.
MAX_LINE = 8192
MAX_REPLY = MAX_LINE * 4


def reply_code(reply: bytes) -> int | None:
    """The code a client reading like aiosmtplib takes from `reply`: the last line's, -1 when
    a line is too long or has no number where the code goes, None when the reply is not
    complete (the last line still says "-" more to come)."""
    if len(reply) > MAX_REPLY:
        return -1
    for line in reply.split(b"\n")[:-1]:
        if len(line) + 1 > MAX_LINE:
            return -1
        try:
            code = int(line[:3])
        except ValueError:
            return -1
        if line[3:4] != b"-":
            return code
    return None


@dataclass
class HostileSmtpServer:
    pki: TestPKI
    replies: dict[str, bytes] = field(default_factory=dict)
    """Stage → the bytes sent instead of the correct reply (see the module docstring)."""
    received: list[bytes] = field(default_factory=list)
    stages: list[str] = field(default_factory=list)
    """Every stage the server answered, in order."""

    def __post_init__(self) -> None:
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.host = LOOPBACK
        self.port = 0

    def start(self) -> HostileSmtpServer:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((LOOPBACK, 0))
        listener.listen(16)
        listener.settimeout(0.2)
        self._listener = listener
        self.port = listener.getsockname()[1]
        thread = threading.Thread(target=self._accept_loop, name="hostile-smtp", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            conns, threads = list(self._conns), list(self._threads)
        for conn in conns:
            with contextlib.suppress(OSError):
                socket.socket.shutdown(conn, socket.SHUT_RDWR)
        for thread in threads:
            thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def __enter__(self) -> HostileSmtpServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

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
                target=self._serve, args=(raw, context), name="hostile-smtp-conn", daemon=True
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

    def _reply(self, conn: socket.socket, stage: str) -> None:
        self.stages.append(stage)
        conn.sendall(self.replies.get(stage, CORRECT.get(stage, b"502 5.5.2 Unknown\r\n")))

    def _session(self, conn: socket.socket, reader: object) -> None:
        assert hasattr(reader, "readline")
        self._reply(conn, "GREETING")
        while not self._stopping.is_set():
            line = reader.readline(65536)
            if not line:
                return
            verb = line.split(b" ", 1)[0].strip().upper().decode("ascii", "replace")
            stage = {"HELO": "EHLO"}.get(verb, verb)
            self._reply(conn, stage)
            if stage == "QUIT":
                return
            if stage == "DATA" and reply_code(self.replies.get("DATA", CORRECT["DATA"])) == 354:
                content = bytearray()
                while (piece := reader.readline(1 << 20)) not in (b".\r\n", b""):
                    content += piece
                if not piece:
                    return
                self.received.append(bytes(content))
                self._reply(conn, "END")


__all__ = ["CORRECT", "HostileSmtpServer", "reply_code"]
