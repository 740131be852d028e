"""A real, scriptable SMTP server on loopback for testing the outreach SMTP client.

Why a real server: the client pins TLS, verifies certificates and has to make the right call in
the ambiguous failure cases (a reply that never comes after the message was received, a
connection that dies mid-DATA, a slow or silent server). Those behaviours live in the socket and
TLS layers, so they are only trustworthy when exercised over real TCP connections with real
handshakes. :class:`ScriptedSmtpServer` wraps aiosmtpd's threaded ``Controller`` (the server runs
its own event loop in its own thread, so both sync tests and ``asyncio.run`` clients can use it)
and lets a test script the server's answers per recipient.

Only ``127.0.0.1`` is ever bound; the OS picks a free port. Drive clients from sync tests with
:func:`tests.servers.aio.run_async` rather than bare ``asyncio.run``, so that TLS connections are
fully closed before the loop is (see that module for why).
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from types import TracebackType
from typing import Any, Literal, NoReturn, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session, syntax

from tests.servers.pki import CertKind, TestPKI

Security = Literal["starttls", "tls", "plain"]
"""How the listener offers TLS: STARTTLS upgrade, implicit TLS, or none at all."""

LOOPBACK = "127.0.0.1"

#: How long a ``drop_mid_data`` server waits for the first line of message content before it
#: drops the connection anyway (a client that never sends content must not hang the server).
_MID_DATA_READ_TIMEOUT = 5.0

#: Upper bound for the wait, in ``stop()``, until aborted connections have been torn down.
_STOP_DRAIN_TIMEOUT = 2.0


class _DropLoginDataDeprecation(logging.Filter):
    """Drop aiosmtpd's "Session.login_data is deprecated" warning.

    aiosmtpd 1.4 logs it from its *own* ``smtp_AUTH`` on every successful login (it still sets
    the deprecated attribute itself), so it says nothing about the code under test.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "login_data is deprecated" not in str(record.msg)


_AIOSMTPD_LOG = logging.getLogger("mail.log")
if not any(isinstance(f, _DropLoginDataDeprecation) for f in _AIOSMTPD_LOG.filters):
    _AIOSMTPD_LOG.addFilter(_DropLoginDataDeprecation())


@dataclass(frozen=True)
class Rule:
    """How the server answers for one recipient (every field optional; defaults = accept).

    RCPT-stage fields apply to the recipient they are keyed by. DATA-stage fields apply to the
    whole transaction, so for a multi-recipient message the rule of the *first accepted recipient
    that has an explicit rule* is used (the default rule if none has one).
    """

    rcpt_reply: str | None = None
    """Reply to ``RCPT TO``, e.g. ``"550 5.1.1 User unknown"`` or ``"451 4.7.1 Try later"``.
    A 2xx reply accepts the recipient; anything else refuses it."""

    data_reply: str | None = None
    """Reply to the end of DATA, e.g. ``"554 5.7.1 Refused"`` or ``"452 4.3.1 full"``.
    Only a 2xx reply records the message in ``received``."""

    drop_after_data: bool = False
    """Receive the complete message, record it in ``received``, then close the connection
    without replying: the RFC 1047 case where the client cannot know the message was accepted."""

    drop_mid_data: bool = False
    """Send the ``354``, read at most one line of content, then close the connection before the
    message is complete. Nothing is recorded."""

    stall_after_data_seconds: float = 0.0
    """Sleep this long after the message is received (and recorded) before the DATA reply."""

    reply_delay_seconds: float = 0.0
    """Delay before the RCPT reply and before the DATA reply: a slow server far away."""


@dataclass(frozen=True)
class ReceivedMessage:
    """A message the server accepted (or received before dropping the connection)."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    """The message exactly as transmitted, dot-unstuffed, with CRLF line endings."""
    auth_user: str | None
    """The user name the session authenticated as, or None if it did not authenticate."""
    tls: bool
    """Whether the message travelled over TLS (STARTTLS or implicit)."""

    def parsed(self) -> EmailMessage:
        """Parse :attr:`data` with the modern email policy, for header and body assertions."""
        return email.message_from_bytes(self.data, policy=email.policy.default)


class RuleBook(MutableMapping[str, Rule]):
    """Per-recipient rules, keyed case-insensitively, safe to edit while the server runs.

    Tests mutate it directly (``server.rules["a@b.example"] = Rule(...)``,
    ``server.rules.clear()``) from the test thread while the server thread reads it; every
    access takes a lock, and keys are lower-cased because the server looks recipients up
    case-insensitively.
    """

    def __init__(self, rules: Mapping[str, Rule] | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: dict[str, Rule] = {}
        for address, rule in (rules or {}).items():
            self[address] = rule

    def __getitem__(self, address: str) -> Rule:
        with self._lock:
            return self._rules[address.lower()]

    def __setitem__(self, address: str, rule: Rule) -> None:
        if not isinstance(rule, Rule):
            raise TypeError(f"expected a Rule, got {rule!r}")
        with self._lock:
            self._rules[address.lower()] = rule

    def __delitem__(self, address: str) -> None:
        with self._lock:
            del self._rules[address.lower()]

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            return iter(list(self._rules))

    def __len__(self) -> int:
        with self._lock:
            return len(self._rules)

    def __repr__(self) -> str:
        with self._lock:
            return f"RuleBook({self._rules!r})"


@dataclass
class _Stats:
    """Everything the server records; only touched while holding ``ScriptedSmtpServer._lock``."""

    received: list[ReceivedMessage] = field(default_factory=list)
    raw_commands: list[bytes] = field(default_factory=list)
    connections_accepted: int = 0
    sessions_started: int = 0
    sessions_quit: int = 0
    active_sessions: int = 0
    max_concurrent_sessions: int = 0
    auth_failures: int = 0
    auth_successes: int = 0
    errors: list[str] = field(default_factory=list)


async def _wait_forever() -> NoReturn:
    """Park a handler coroutine until ``connection_lost`` (or ``stop()``) cancels it.

    Used after the server deliberately dropped a connection: returning to aiosmtpd instead would
    let it try to push a reply (or read the next command) on a dead transport.
    """
    await asyncio.get_running_loop().create_future()
    raise AssertionError("unreachable: the future above is never resolved")


class _CommandRecordingReader:
    """Stream reader proxy that records each SMTP command line the server reads.

    aiosmtpd reads command lines with ``readuntil()`` (default ``b"\\n"`` separator), DATA
    content with ``readuntil(b"\\r\\n")`` and AUTH continuation lines with ``readline()``, so
    recording only separator-less ``readuntil`` calls captures exactly the command lines and
    never message content. (An ``AUTH PLAIN <initial-response>`` line is a command line, so it
    is recorded; AUTH LOGIN's separate user/password lines are not.) Attribute writes are
    forwarded because aiosmtpd's STARTTLS code pokes ``reader._transport`` directly.
    """

    def __init__(self, inner: asyncio.StreamReader, record: Callable[[bytes], None]) -> None:
        object.__setattr__(self, "_inner", inner)
        object.__setattr__(self, "_record", record)

    async def readuntil(self, separator: bytes = b"\n") -> bytes:
        inner: asyncio.StreamReader = object.__getattribute__(self, "_inner")
        line = await inner.readuntil(separator)
        if separator == b"\n":
            object.__getattribute__(self, "_record")(line)
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(object.__getattribute__(self, "_inner"), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(object.__getattribute__(self, "_inner"), name, value)


class _ScriptedSMTP(SMTP):
    """aiosmtpd protocol with hooks the handler API does not offer.

    Needed for: counting sessions (connection_made/lost), tarpit and custom greetings (the
    greeting is sent inside ``_handle_client``), dropping the connection as soon as DATA starts
    (``handle_DATA`` only runs once the whole message has arrived) and recording raw command
    lines (the reader is only reachable from the protocol).
    """

    def __init__(self, owner: ScriptedSmtpServer, handler: _ScriptedHandler, **kwargs: Any) -> None:
        self._owner = owner
        self._live = False
        super().__init__(handler, **kwargs)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # aiosmtpd calls connection_made a second time after a STARTTLS handshake; that is the
        # same session, recognisable by the original (plain) transport having been kept.
        is_new_connection = self._original_transport is None
        super().connection_made(transport)
        if is_new_connection:
            self._live = True
            self._owner._on_session_start(self)

    def connection_lost(self, error: Exception | None) -> None:
        # aiosmtpd may call this twice (once itself after a failed STARTTLS handshake, once
        # from the transport); count the end of the session once.
        if self._live:
            self._live = False
            self._owner._on_session_end(self)
        super().connection_lost(error)

    def _cb_client_connected(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        recording = _CommandRecordingReader(reader, self._owner._record_command)
        super()._cb_client_connected(cast(asyncio.StreamReader, recording), writer)

    async def _handle_client(self) -> None:
        if self._owner.tarpit:
            # Accept the TCP connection (and TLS handshake) but never say a word.
            await _wait_forever()
        if self._owner.greeting is not None:
            await self.push(self._owner.greeting)
            assert self.transport is not None
            self.transport.close()
            return
        await super()._handle_client()

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        envelope = self.envelope
        if envelope is not None and envelope.rcpt_tos and not arg:
            # rcpt_tos being non-empty implies HELO, AUTH and MAIL already succeeded.
            rule = self._owner._rule_for_data(envelope.rcpt_tos)
            if rule.drop_mid_data:
                await self.push("354 End data with <CR><LF>.<CR><LF>")
                with contextlib.suppress(
                    TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError
                ):
                    await asyncio.wait_for(
                        self._reader.readuntil(b"\r\n"), timeout=_MID_DATA_READ_TIMEOUT
                    )
                self.drop_connection()
                await _wait_forever()
        await super().smtp_DATA(arg)

    def drop_connection(self) -> None:
        """Close the socket at once, without a reply and without a TLS close_notify.

        ``abort()`` rather than ``close()``: after ``close()`` asyncio may still flush a reply
        that aiosmtpd pushes afterwards, whereas an aborted transport discards every later write.
        """
        if isinstance(self.transport, asyncio.WriteTransport):
            self.transport.abort()

    def uses_tls(self) -> bool:
        """True under implicit TLS and after STARTTLS.

        aiosmtpd's own ``session.ssl`` is only set by STARTTLS, so ask the transport instead.
        """
        return self.transport is not None and (
            self.transport.get_extra_info("ssl_object") is not None
        )


class _ScriptedHandler:
    """aiosmtpd handler: applies the server options and rules, records what happened."""

    def __init__(self, owner: ScriptedSmtpServer) -> None:
        self._owner = owner

    def authenticate(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        """aiosmtpd ``authenticator`` for the built-in PLAIN and LOGIN mechanisms."""
        if isinstance(auth_data, LoginPassword):
            user = auth_data.login.decode("utf-8", "replace")
            password = auth_data.password.decode("utf-8", "replace")
            expected = self._owner.users.get(user)
            if expected is not None and password == expected:
                self._owner._count("auth_successes")
                # auth_data ends up in session.auth_data: keep just the user name there.
                return AuthResult(success=True, auth_data=user)
        self._owner._count("auth_failures")
        return AuthResult(success=False, handled=False)

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        # aiosmtpd's own auth_required only works together with auth_require_tls=True, which
        # it cannot honour under implicit TLS; so the requirement is enforced here for all modes.
        if self._owner.users and not session.authenticated:
            return "530 5.7.0 Authentication required"
        reply = self._owner.mail_reply
        if reply is None or reply.startswith("2"):
            envelope.mail_from = address
            envelope.mail_options.extend(mail_options)
        return reply if reply is not None else "250 2.1.0 OK"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        rule = self._owner._rule_for(address)
        if rule.reply_delay_seconds:
            await asyncio.sleep(rule.reply_delay_seconds)
        reply = rule.rcpt_reply
        if reply is None or reply.startswith("2"):
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(rcpt_options)
        return reply if reply is not None else "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        protocol = cast(_ScriptedSMTP, server)
        if self._owner.on_data is not None:
            self._owner.on_data(envelope)
        rule = self._owner._rule_for_data(envelope.rcpt_tos)
        message = ReceivedMessage(
            mail_from=envelope.mail_from or "",
            rcpt_tos=list(envelope.rcpt_tos),
            data=envelope.original_content or b"",
            auth_user=cast(str, session.auth_data) if session.authenticated else None,
            tls=protocol.uses_tls(),
        )
        if rule.drop_after_data:
            self._owner._record_message(message)
            protocol.drop_connection()
            await _wait_forever()
        reply = rule.data_reply
        if reply is None or reply.startswith("2"):
            self._owner._record_message(message)
        delay = rule.stall_after_data_seconds + rule.reply_delay_seconds
        if delay:
            await asyncio.sleep(delay)
        return reply if reply is not None else "250 2.0.0 OK: queued"

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self._owner._count("sessions_quit")
        return "221 2.0.0 Bye"

    async def handle_exception(self, error: Exception) -> str:
        # Keep the failure visible to the test (server.errors) instead of only in a log.
        self._owner._record_error(f"{type(error).__name__}: {error}")
        return f"500 Error: ({type(error).__name__}) {error}"


class _ScriptedController(Controller):
    """aiosmtpd Controller bound to 127.0.0.1 on an OS-chosen port.

    Overrides the start-up self-check: stock ``Controller.start()`` opens a real connection to
    the server and reads the greeting to force the (lazy) protocol factory to run. That probe
    would hang for a second against a tarpit, be counted as a session, and fails outright for
    port 0. Instead the factory is invoked once inside the server loop without any connection,
    which still surfaces construction errors from ``start()``.
    """

    def __init__(self, owner: ScriptedSmtpServer, handler: _ScriptedHandler, **kwargs: Any) -> None:
        self._owner = owner
        super().__init__(handler, hostname=LOOPBACK, port=0, **kwargs)

    def factory(self) -> SMTP:
        return _ScriptedSMTP(self._owner, self.handler, loop=self.loop, **self.SMTP_kwargs)

    def _factory_invoker(self) -> Any:
        # Called by asyncio once per accepted TCP connection (before any TLS handshake).
        self._owner._count("connections_accepted")
        return super()._factory_invoker()

    def _probe_factory(self) -> None:
        Controller._factory_invoker(self)

    def _trigger_server(self) -> None:
        server = cast(asyncio.Server, self.server)
        self.port = server.sockets[0].getsockname()[1]
        self.loop.call_soon_threadsafe(self._probe_factory)


class ScriptedSmtpServer:
    """A real SMTP server on 127.0.0.1 whose answers a test scripts.

    Use as a context manager or call :meth:`start` / :meth:`stop`. Counters and records are
    read from the test thread through properties that copy under a lock.

    ``security``:
      * ``"starttls"``: plaintext listener that advertises STARTTLS, refuses mail before it
        (``require_starttls``) and offers AUTH only after it.
      * ``"tls"``: implicit TLS (the handshake happens on connect).
      * ``"plain"``: no TLS at all, never advertises STARTTLS, AUTH allowed in the clear: a
        downgrade the client under test must refuse.

    ``users`` maps user name to password for AUTH PLAIN / LOGIN; when non-empty, MAIL FROM is
    refused with 530 until the session has authenticated.
    """

    def __init__(
        self,
        pki: TestPKI | None = None,
        *,
        security: Security = "starttls",
        cert: CertKind = "good",
        users: Mapping[str, str] | None = None,
        rules: Mapping[str, Rule] | None = None,
        default_rule: Rule | None = None,
        greeting: str | None = None,
        tarpit: bool = False,
        mail_reply: str | None = None,
        hostname: str = "localhost",
        ready_timeout: float = 5.0,
    ) -> None:
        if security not in ("starttls", "tls", "plain"):
            raise ValueError(f"unknown security {security!r}")
        if security != "plain" and pki is None:
            raise ValueError(f"security={security!r} needs a TestPKI for its certificate")
        if greeting is not None and greeting.startswith("2"):
            # The 220 banner is aiosmtpd's; this option exists to refuse service at connect.
            raise ValueError("greeting is for non-2xx banners (e.g. '421 4.3.2 ...')")
        self.security: Security = security
        self.cert: CertKind = cert
        self.users: dict[str, str] = dict(users or {})
        self.greeting = greeting
        self.tarpit = tarpit
        self.mail_reply = mail_reply
        self.hostname = hostname
        self.rules = RuleBook(rules)
        """Per-recipient rules; edit freely while the server runs."""
        self.default_rule: Rule = default_rule or Rule()
        """Rule for recipients without their own; may be replaced while the server runs."""
        self.on_data: Callable[[Envelope], None] | None = None
        """Called in the server thread with the aiosmtpd ``Envelope`` once a message's content
        has arrived and before the server replies (or drops), e.g. to inspect the client's
        database at the moment the server holds the message. It blocks the server loop while
        it runs; an exception it raises becomes a 500 reply and is listed in ``errors``."""
        self._lock = threading.Lock()
        self._stats = _Stats()
        self._live_protocols: set[_ScriptedSMTP] = set()  # touched only in the server thread
        self._controller: _ScriptedController | None = None

        handler = _ScriptedHandler(self)
        smtp_kwargs: dict[str, Any] = {
            "server_hostname": hostname,
            "authenticator": handler.authenticate,
            "ready_timeout": ready_timeout,
        }
        if security == "starttls":
            assert pki is not None
            smtp_kwargs.update(
                tls_context=pki.server_context(cert),
                require_starttls=True,
                auth_require_tls=True,
                auth_required=bool(self.users),
            )
        elif security == "tls":
            assert pki is not None
            # aiosmtpd only counts STARTTLS as "TLS" for auth_require_tls, so with implicit TLS
            # that flag would hide AUTH entirely; the connection is encrypted from byte one.
            # auth_required stays off because aiosmtpd warns (UserWarning, an error under
            # pytest's filterwarnings=error) when it is combined with auth_require_tls=False;
            # the handler enforces authentication instead.
            smtp_kwargs.update(ssl_context=pki.server_context(cert), auth_require_tls=False)
        else:
            smtp_kwargs.update(auth_require_tls=False)
        self._controller_kwargs = smtp_kwargs
        self._handler = handler

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> ScriptedSmtpServer:
        """Bind 127.0.0.1 on a free port and serve from a background thread."""
        if self._controller is not None:
            raise RuntimeError("server already started")
        controller = _ScriptedController(self, self._handler, **self._controller_kwargs)
        controller.start()
        self._controller = controller
        return self

    def stop(self) -> None:
        """Abort every open connection, then stop the server thread. Idempotent.

        Connections are aborted first because aiosmtpd's ``stop()`` only stops the loop; any
        transport still open would be garbage-collected later with a ResourceWarning (an error
        under this project's ``filterwarnings = error``).
        """
        controller, self._controller = self._controller, None
        if controller is None:
            return
        try:
            future = asyncio.run_coroutine_threadsafe(self._abort_all(), controller.loop)
            future.result(timeout=_STOP_DRAIN_TIMEOUT + 1)
        finally:
            controller.stop()

    async def _abort_all(self) -> None:
        for protocol in list(self._live_protocols):
            protocol.drop_connection()
        deadline = time.monotonic() + _STOP_DRAIN_TIMEOUT
        while self._live_protocols and time.monotonic() < deadline:
            await asyncio.sleep(0.005)

    def __enter__(self) -> ScriptedSmtpServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ address

    @property
    def host(self) -> str:
        """Always ``"127.0.0.1"``."""
        return LOOPBACK

    @property
    def port(self) -> int:
        """The port the OS assigned at :meth:`start`."""
        if self._controller is None:
            raise RuntimeError("server not started")
        return int(self._controller.port)

    # ------------------------------------------------------------------ scripting

    def _rule_for(self, address: str) -> Rule:
        return self.rules.get(address, self.default_rule)

    def _rule_for_data(self, rcpt_tos: list[str]) -> Rule:
        for address in rcpt_tos:
            rule = self.rules.get(address)
            if rule is not None:
                return rule
        return self.default_rule

    # ------------------------------------------------------------------ records (read side)

    @property
    def received(self) -> list[ReceivedMessage]:
        """Messages received so far (a copy)."""
        with self._lock:
            return list(self._stats.received)

    @property
    def received_count(self) -> int:
        """How many messages :attr:`received` holds, without copying the list (cheap to poll
        while thousands of messages arrive)."""
        with self._lock:
            return len(self._stats.received)

    @property
    def raw_commands(self) -> list[bytes]:
        """Every command line the server read, with its line ending (a copy).

        For header-injection assertions: a CR or LF smuggled into an address shows up here as
        an extra command line. Message content and AUTH continuation lines are not included.
        """
        with self._lock:
            return list(self._stats.raw_commands)

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted, including ones whose implicit-TLS handshake failed."""
        with self._lock:
            return self._stats.connections_accepted

    @property
    def sessions_started(self) -> int:
        """SMTP sessions begun (the protocol got going; for implicit TLS: handshake done)."""
        with self._lock:
            return self._stats.sessions_started

    @property
    def sessions_quit(self) -> int:
        """Sessions that sent QUIT."""
        with self._lock:
            return self._stats.sessions_quit

    @property
    def active_sessions(self) -> int:
        """Sessions currently connected."""
        with self._lock:
            return self._stats.active_sessions

    @property
    def max_concurrent_sessions(self) -> int:
        """Highest number of simultaneously connected sessions seen."""
        with self._lock:
            return self._stats.max_concurrent_sessions

    @property
    def auth_failures(self) -> int:
        """Rejected AUTH attempts (wrong user or password)."""
        with self._lock:
            return self._stats.auth_failures

    @property
    def auth_successes(self) -> int:
        """Accepted AUTH attempts."""
        with self._lock:
            return self._stats.auth_successes

    @property
    def errors(self) -> list[str]:
        """Exceptions raised inside SMTP command handling (e.g. failed STARTTLS handshakes)."""
        with self._lock:
            return list(self._stats.errors)

    def commands_named(self, verb: str) -> list[bytes]:
        """Raw command lines whose verb is ``verb`` (case-insensitive), e.g. ``"RCPT"``."""
        wanted = verb.upper().encode("ascii")
        return [c for c in self.raw_commands if c.split(b" ", 1)[0].strip().upper() == wanted]

    def reset_counters(self) -> None:
        """Forget everything recorded so far (``active_sessions`` is kept: it is live state)."""
        with self._lock:
            active = self._stats.active_sessions
            self._stats = _Stats(active_sessions=active, max_concurrent_sessions=active)

    def wait_until(
        self, predicate: Callable[[ScriptedSmtpServer], bool], timeout: float = 5.0
    ) -> None:
        """Poll ``predicate(self)`` until true; raise ``TimeoutError`` after ``timeout``.

        Why: the server runs in another thread, so some effects (a session ending after the
        client hung up) land shortly after the client call returned.
        """
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition not met within {timeout}s on {self!r}")
            time.sleep(0.005)

    def __repr__(self) -> str:
        where = f"{self.host}:{self.port}" if self._controller is not None else "stopped"
        return f"<ScriptedSmtpServer {self.security} cert={self.cert} {where}>"

    # ------------------------------------------------------------------ records (server thread)

    def _count(self, name: str) -> None:
        with self._lock:
            setattr(self._stats, name, getattr(self._stats, name) + 1)

    def _record_command(self, line: bytes) -> None:
        with self._lock:
            self._stats.raw_commands.append(bytes(line))

    def _record_message(self, message: ReceivedMessage) -> None:
        with self._lock:
            self._stats.received.append(message)

    def _record_error(self, text: str) -> None:
        with self._lock:
            self._stats.errors.append(text)

    def _on_session_start(self, protocol: _ScriptedSMTP) -> None:
        self._live_protocols.add(protocol)
        with self._lock:
            stats = self._stats
            stats.sessions_started += 1
            stats.active_sessions += 1
            stats.max_concurrent_sessions = max(
                stats.max_concurrent_sessions, stats.active_sessions
            )

    def _on_session_end(self, protocol: _ScriptedSMTP) -> None:
        self._live_protocols.discard(protocol)
        with self._lock:
            self._stats.active_sessions = max(0, self._stats.active_sessions - 1)
