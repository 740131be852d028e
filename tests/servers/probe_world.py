"""A world of MX hosts on loopback for testing (and benchmarking) the SMTP address probe.

Why a real world: the verifier's promises (one session per MX host at a time, QUIT on every
session, the right status for greylisting, 5.7.x refusals, tarpits, dropped connections, a 452
on the second RCPT) live in sockets and timing, so they are checked against real aiosmtpd
servers that count what they saw.

Every MX host listens on its own loopback address (``127.0.x.y``; Linux routes all of
127.0.0.0/8 to ``lo``) and all of them on ONE shared port, because the verifier has a single
``probe_port`` setting, like real SMTP's port 25. All hosts are served by one background thread
running one asyncio loop, so a world of 300 hosts costs one thread, not 300.

Usage::

    world = ProbeWorld([HostSpec("mx.a.test", "127.0.10.1", "normal", {"ann@a.test"})])
    with world:                       # or world.start() / world.stop()
        zone = world.zone({"a.test": "mx.a.test"})   # a tests.servers.dns.Zone
        ... point the verifier at DnsServer(zone), probe_port=world.port and
        allow_networks=["127.0.0.0/8"] (the hosts are on loopback, refused by default) ...
        world.assert_all_sessions_quit()
        assert world.max_concurrent_sessions() == 1

Behaviours (``HostSpec.behaviour``):

* ``normal``: known mailboxes (``HostSpec.mailboxes``) get 250, everything else 550 5.1.1.
* ``catch_all``: 250 for every recipient.
* ``greylist``: 451 4.7.1 for an address until it has been asked on ``greylist_attempts``
  sessions (and, if ``greylist_window_seconds`` is set, until that long after the first
  deferral); then it answers like ``normal``. A retry within the same session stays deferred:
  like real greylisting, only a fresh connection counts as a new attempt.
* ``policy_refusal``: 550 5.7.1 on every RCPT (a blocklisted prober).
* ``tarpit``: accepts the TCP connection and never sends the greeting.
* ``drop_after_rcpt``: closes the connection right after receiving RCPT (or, with
  ``drop_with_reply=True``, right after answering it normally).
* ``rate_limit_421``: 421 4.7.0 at the greeting (``rate_limit_at="greeting"``) or in reply to
  RCPT (``"rcpt"``), then closes the connection, as RFC 5321 says a 421 does.
* ``one_rcpt_per_session``: normal, except 452 4.5.3 to every RCPT after the first in a session.
* ``slow``: normal answers, with ``slow_seconds`` (default 1.0) before the greeting and before
  the RCPT reply. ``slow_seconds`` also works with any other behaviour.
* ``closed``: nothing listens on the address (connection refused).

``reply_delay`` seconds are added before every reply of a host (a multi-line EHLO reply counts
once): the network distance of a real server. The benchmark uses 40 ms.

Counters per host (read from any thread; they are kept under a lock): sessions opened, ended
by the client's QUIT, dropped by the server, closed by the client without QUIT, aborted because
the world stopped, never greeted, current and maximum concurrent sessions, RCPT commands,
greylist deferrals, and which recipients were asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NoReturn

from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.servers.dns import Zone

Behaviour = Literal[
    "normal",
    "catch_all",
    "greylist",
    "policy_refusal",
    "tarpit",
    "drop_after_rcpt",
    "rate_limit_421",
    "one_rcpt_per_session",
    "slow",
    "closed",
]

BEHAVIOURS: tuple[Behaviour, ...] = (
    "normal",
    "catch_all",
    "greylist",
    "policy_refusal",
    "tarpit",
    "drop_after_rcpt",
    "rate_limit_421",
    "one_rcpt_per_session",
    "slow",
    "closed",
)

REPLY_UNKNOWN = "550 5.1.1 <{address}>: Recipient address rejected: User unknown"
REPLY_OK = "250 2.1.5 OK"
REPLY_GREYLIST = "451 4.7.1 <{address}>: Recipient address rejected: Greylisted, try again later"
REPLY_POLICY = "550 5.7.1 Service unavailable; client host blocked using a reputation list"
REPLY_RATE_LIMIT = "421 4.7.0 Too many connections from your host, try again later"
REPLY_ONE_RCPT = "452 4.5.3 Too many recipients in this session"

#: Upper bound for the wait, in ``stop()``, until aborted connections have been torn down.
_STOP_DRAIN_TIMEOUT = 3.0


def loopback_address(index: int) -> str:
    """The address of the ``index``-th host: 127.0.10.1, 127.0.10.2, ... (250 per /24).

    Starts at 127.0.10.x so it never collides with 127.0.0.1, where the DNS server and the
    other loopback test servers listen.
    """
    if index < 0 or index >= 240 * 250:
        raise ValueError(f"host index {index} out of range")
    return f"127.0.{10 + index // 250}.{1 + index % 250}"


@dataclass
class HostSpec:
    """One MX host of the world and how it behaves."""

    name: str
    """The MX host name the DNS zone points at, e.g. ``"mx1.probe.test"``."""
    address: str
    """The loopback address it listens on, e.g. ``loopback_address(0)``."""
    behaviour: Behaviour = "normal"
    mailboxes: set[str] = field(default_factory=set)
    """Addresses (any case) that exist here; the other recipients get 550 5.1.1."""
    reply_delay: float = 0.0
    """Seconds added before every reply."""
    slow_seconds: float | None = None
    """Extra seconds before the greeting and the RCPT reply (default 1.0 for ``slow``)."""
    greylist_attempts: int = 1
    """``greylist``: sessions on which an address is deferred before it is answered."""
    greylist_window_seconds: float = 0.0
    """``greylist``: a retry earlier than this after the first deferral is deferred again."""
    drop_with_reply: bool = False
    """``drop_after_rcpt``: answer the RCPT first (normally), then drop."""
    rate_limit_at: Literal["greeting", "rcpt"] = "greeting"
    """``rate_limit_421``: where the 421 comes."""
    idle_timeout: float = 60.0
    """Seconds without a command before the server closes the session (counted as a drop)."""

    def __post_init__(self) -> None:
        if self.behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {self.behaviour!r} for {self.name}")
        self.mailboxes = {m.lower() for m in self.mailboxes}

    @property
    def extra_slow(self) -> float:
        if self.slow_seconds is not None:
            return self.slow_seconds
        return 1.0 if self.behaviour == "slow" else 0.0

    def answer_for(self, address: str) -> str:
        """The normal-mailbox answer (what ``normal`` says, and ``greylist`` once it lets go)."""
        if address.lower() in self.mailboxes:
            return REPLY_OK
        return REPLY_UNKNOWN.format(address=address)


@dataclass
class HostStats:
    """A snapshot of one host's counters."""

    sessions_opened: int = 0
    sessions_quit: int = 0
    """Ended after the client sent QUIT."""
    sessions_dropped: int = 0
    """Ended by the server itself (drop, 421, idle timeout)."""
    sessions_client_closed: int = 0
    """Ended by the client closing the connection without QUIT."""
    sessions_aborted_at_stop: int = 0
    """Still open when the world stopped."""
    sessions_ungreeted: int = 0
    """Sessions that never got a 220 greeting (tarpit, 421 at greeting)."""
    ungreeted_client_closed: int = 0
    """Of ``sessions_client_closed``: those that never got a greeting (a client giving up on a
    tarpit cannot have been told anything, so leaving without QUIT is polite enough)."""
    active_sessions: int = 0
    max_concurrent_sessions: int = 0
    rcpt_count: int = 0
    greylist_deferrals: int = 0
    mail_from: Counter[str] = field(default_factory=Counter)
    helo_names: Counter[str] = field(default_factory=Counter)
    recipients: Counter[str] = field(default_factory=Counter)
    """How often each recipient (lower-cased) was asked in a RCPT."""
    rcpts_per_session: Counter[int] = field(default_factory=Counter)
    """Ended sessions by how many RCPT commands they had (how well a client batches)."""

    @property
    def sessions_ended(self) -> int:
        return (
            self.sessions_quit
            + self.sessions_dropped
            + self.sessions_client_closed
            + self.sessions_aborted_at_stop
        )

    def copy(self) -> HostStats:
        return dataclasses.replace(
            self,
            mail_from=Counter(self.mail_from),
            helo_names=Counter(self.helo_names),
            recipients=Counter(self.recipients),
            rcpts_per_session=Counter(self.rcpts_per_session),
        )


class _Host:
    """A host's spec, its live counters and its greylist memory (server-thread state)."""

    def __init__(self, spec: HostSpec, lock: threading.Lock) -> None:
        self.spec = spec
        self.lock = lock
        self.stats = HostStats()
        self.greylist_seen: dict[str, tuple[int, float]] = {}  # address -> (sessions, first)
        self.live: set[_ProbeSMTP] = set()

    def count(self, name: str, amount: int = 1) -> None:
        with self.lock:
            setattr(self.stats, name, getattr(self.stats, name) + amount)


async def _wait_forever() -> NoReturn:
    """Park a coroutine until the connection's teardown cancels it."""
    await asyncio.get_running_loop().create_future()
    raise AssertionError("unreachable")


class _ProbeSMTP(SMTP):
    """aiosmtpd protocol for one session with one host of the world.

    Subclassed (not just a handler) because the handler API cannot delay every reply, withhold
    the greeting, close the connection after a reply, or see how a session ended.
    """

    def __init__(self, host: _Host, **kwargs: Any) -> None:
        self._host = host
        self._ended = False
        self._quit_received = False
        self._server_dropped = False
        self._greeted = False
        self._mid_reply = False
        self._rcpts_in_session = 0
        self._greylist_asked: set[str] = set()
        self._tarpit_input = b""
        self._close_after_reply = False
        super().__init__(_ProbeHandler(host), **kwargs)

    # -------------------------------------------------------------- session bookkeeping

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        host = self._host
        host.live.add(self)
        with host.lock:
            stats = host.stats
            stats.sessions_opened += 1
            stats.active_sessions += 1
            stats.max_concurrent_sessions = max(
                stats.max_concurrent_sessions, stats.active_sessions
            )

    def connection_lost(self, error: Exception | None) -> None:
        self._end_session(aborted=False)
        super().connection_lost(error)

    def _end_session(self, *, aborted: bool) -> None:
        if self._ended:
            return
        self._ended = True
        host = self._host
        host.live.discard(self)
        with host.lock:
            stats = host.stats
            stats.active_sessions -= 1
            stats.rcpts_per_session[self._rcpts_in_session] += 1
            if not self._greeted:
                stats.sessions_ungreeted += 1
            if self._quit_received:
                stats.sessions_quit += 1
            elif self._server_dropped:
                stats.sessions_dropped += 1
            elif aborted:
                stats.sessions_aborted_at_stop += 1
            else:
                stats.sessions_client_closed += 1
                if not self._greeted:
                    stats.ungreeted_client_closed += 1

    def drop(self) -> None:
        """Close at once, no reply (abort: nothing queued afterwards gets written)."""
        self._server_dropped = True
        if isinstance(self.transport, asyncio.WriteTransport):
            self.transport.abort()

    def abort_at_stop(self) -> None:
        self._end_session(aborted=True)
        if isinstance(self.transport, asyncio.WriteTransport):
            self.transport.abort()

    def _timeout_cb(self) -> None:
        self._server_dropped = True
        super()._timeout_cb()  # type: ignore[no-untyped-call]

    # -------------------------------------------------------------- replies

    async def push(self, status: str | bytes) -> None:
        # One delay per reply: a multi-line reply ("250-...", ..., "250 ...") is one reply.
        text = status.decode("ascii", "replace") if isinstance(status, bytes) else status
        if not self._mid_reply and self._host.spec.reply_delay:
            await asyncio.sleep(self._host.spec.reply_delay)
        self._mid_reply = text[3:4] == "-"
        await super().push(status)  # type: ignore[type-var]

    async def _handle_client(self) -> None:
        spec = self._host.spec
        if spec.behaviour == "tarpit":
            await self._tarpit()
            return
        if spec.extra_slow:
            await asyncio.sleep(spec.extra_slow)
        if spec.behaviour == "rate_limit_421" and spec.rate_limit_at == "greeting":
            await self.push(REPLY_RATE_LIMIT)
            self._server_dropped = True
            assert self.transport is not None
            self.transport.close()
            return
        self._greeted = True
        await super()._handle_client()

    async def _tarpit(self) -> None:
        """Never greet, never answer; the connection lives until either side closes it."""
        try:
            await _wait_forever()
        finally:
            if self.transport is not None:
                self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._host.spec.behaviour == "tarpit":
            # Read here, not in the (cancellable) handler: "QUIT" and the client's EOF often
            # arrive together, and aiosmtpd cancels the handler on EOF before it could read.
            self._tarpit_input = (self._tarpit_input + data)[-1024:]
            if any(line.strip().upper() == b"QUIT" for line in self._tarpit_input.split(b"\n")):
                self._quit_received = True
        super().data_received(data)

    async def smtp_QUIT(self, arg: str) -> None:
        if not arg:
            # Counted when received: a client may hang up without waiting for the 221.
            self._quit_received = True
        await super().smtp_QUIT(arg)

    async def smtp_RCPT(self, arg: str | None) -> None:
        await super().smtp_RCPT(arg)
        if self._close_after_reply:
            self._server_dropped = True
            if self.transport is not None:
                self.transport.close()
            await _wait_forever()


class _ProbeHandler:
    """aiosmtpd handler hooks: the RCPT answers of the host's behaviour."""

    def __init__(self, host: _Host) -> None:
        self._host = host

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        with self._host.lock:
            self._host.stats.helo_names[hostname] += 1
        return responses

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        envelope.mail_from = address
        with self._host.lock:
            self._host.stats.mail_from[address] += 1
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        assert isinstance(server, _ProbeSMTP)
        host = self._host
        spec = host.spec
        server._rcpts_in_session += 1
        with host.lock:
            host.stats.rcpt_count += 1
            host.stats.recipients[address.lower()] += 1
        if spec.extra_slow:
            await asyncio.sleep(spec.extra_slow)
        behaviour = spec.behaviour
        if behaviour == "drop_after_rcpt" and not spec.drop_with_reply:
            server.drop()
            await _wait_forever()
        if behaviour == "rate_limit_421" and spec.rate_limit_at == "rcpt":
            server._close_after_reply = True
            return REPLY_RATE_LIMIT
        if behaviour == "drop_after_rcpt":
            server._close_after_reply = True
        if behaviour == "policy_refusal":
            return REPLY_POLICY
        if behaviour == "one_rcpt_per_session" and server._rcpts_in_session > 1:
            return REPLY_ONE_RCPT
        if behaviour == "greylist" and self._greylisted(server, address):
            host.count("greylist_deferrals")
            return REPLY_GREYLIST.format(address=address)
        reply = REPLY_OK if behaviour == "catch_all" else spec.answer_for(address)
        if reply.startswith("2"):
            envelope.rcpt_tos.append(address)
        return reply

    def _greylisted(self, server: _ProbeSMTP, address: str) -> bool:
        key = address.lower()
        spec = self._host.spec
        now = time.monotonic()
        seen = self._host.greylist_seen
        sessions, first = seen.get(key, (0, now))
        if key not in server._greylist_asked:
            server._greylist_asked.add(key)
            sessions += 1
            seen[key] = (sessions, first)
        if sessions <= spec.greylist_attempts:
            return True
        return now - first < spec.greylist_window_seconds

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        # A probe never sends a message; refuse it so nothing here pretends to deliver.
        return "554 5.7.0 This host does not accept mail (probe test world)"


class ProbeWorld:
    """Many MX hosts on loopback addresses, one shared port, one serving thread."""

    def __init__(
        self,
        hosts: Iterable[HostSpec],
        *,
        port: int = 0,
        domains: Mapping[str, str | Sequence[str]] | None = None,
    ) -> None:
        """``port=0`` picks a port free on every host address; ``domains`` maps each domain to
        its MX host name(s) (used by :meth:`zone` and :meth:`host_for_domain`)."""
        self._lock = threading.Lock()
        self._hosts: dict[str, _Host] = {}
        for spec in hosts:
            if spec.name.lower() in self._hosts:
                raise ValueError(f"duplicate host name {spec.name}")
            self._hosts[spec.name.lower()] = _Host(spec, self._lock)
        addresses = [h.spec.address for h in self._hosts.values()]
        if len(set(addresses)) != len(addresses):
            raise ValueError("two hosts share one address")
        self.domains: dict[str, list[str]] = {}
        for domain, mx in (domains or {}).items():
            names = [mx] if isinstance(mx, str) else list(mx)
            for name in names:
                if name.lower() not in self._hosts:
                    raise ValueError(f"domain {domain} points at unknown host {name}")
            self.domains[domain.lower()] = names
        self._requested_port = port
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: list[asyncio.AbstractServer] = []

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> ProbeWorld:
        if self._loop is not None:
            raise RuntimeError("world already started")
        listening = [h for h in self._hosts.values() if h.spec.behaviour != "closed"]
        sockets = _bind_all([h.spec.address for h in listening], self._requested_port)
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        else:  # only "closed" hosts: any port refuses
            self.port = self._requested_port or 25
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        thread = threading.Thread(target=serve, name="probe-world", daemon=True)
        thread.start()
        ready.wait(10)
        self._loop, self._thread = loop, thread
        try:
            future = asyncio.run_coroutine_threadsafe(self._listen(listening, sockets), loop)
            future.result(timeout=30)
        except BaseException:
            for sock in sockets:
                sock.close()
            self.stop()
            raise
        return self

    async def _listen(self, hosts: list[_Host], sockets: list[socket.socket]) -> None:
        loop = asyncio.get_running_loop()
        for host, sock in zip(hosts, sockets, strict=True):

            def factory(host: _Host = host) -> _ProbeSMTP:
                return _ProbeSMTP(
                    host,
                    hostname=host.spec.name,
                    ident="probe-world",
                    timeout=host.spec.idle_timeout,
                    # SMTPUTF8: internationalised recipients must reach the RCPT logic.
                    enable_SMTPUTF8=True,
                    loop=loop,
                )

            server = await loop.create_server(factory, sock=sock)
            self._servers.append(server)

    def stop(self) -> None:
        """Close the listeners, abort open sessions, stop the thread and close the loop."""
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(
                timeout=_STOP_DRAIN_TIMEOUT + 5
            )
        finally:
            loop.call_soon_threadsafe(loop.stop)
            if thread is not None:
                thread.join(10)
            loop.close()

    async def _shutdown(self) -> None:
        for server in self._servers:
            server.close()
        # Abort before wait_closed: from Python 3.12 on it waits for open connections.
        for host in self._hosts.values():
            for protocol in list(host.live):
                protocol.abort_at_stop()
        for server in self._servers:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), _STOP_DRAIN_TIMEOUT)
        self._servers.clear()
        deadline = time.monotonic() + _STOP_DRAIN_TIMEOUT
        current = asyncio.current_task()
        while time.monotonic() < deadline:
            pending = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
            if not pending:
                break
            for task in pending:
                task.cancel()
            await asyncio.wait(pending, timeout=0.2)
        # Let the aborted transports run their connection_lost (which closes the sockets).
        for _ in range(5):
            await asyncio.sleep(0)

    def __enter__(self) -> ProbeWorld:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ addresses and DNS

    @property
    def hosts(self) -> list[HostSpec]:
        return [h.spec for h in self._hosts.values()]

    def host(self, name: str) -> HostSpec:
        return self._hosts[name.lower()].spec

    def host_for_domain(self, domain: str) -> HostSpec:
        """The (first) MX host of ``domain``."""
        return self.host(self.domains[domain.lower()][0])

    def zone(
        self, domains: Mapping[str, str | Sequence[str]] | None = None, *, zone: Zone | None = None
    ) -> Zone:
        """A dnslib :class:`Zone` with an MX record per domain and an A record per host.

        ``domains`` (default: the world's own map) maps a domain to its MX host name(s); several
        names get preferences 10, 20, ... in the order given. Records are appended to ``zone``
        if given.
        """
        return build_zone(self.hosts, domains if domains is not None else self.domains, zone=zone)

    # ------------------------------------------------------------------ counters

    def stats(self, name: str) -> HostStats:
        """A consistent copy of one host's counters."""
        host = self._hosts[name.lower()]
        with self._lock:
            return host.stats.copy()

    def all_stats(self) -> dict[str, HostStats]:
        with self._lock:
            return {h.spec.name: h.stats.copy() for h in self._hosts.values()}

    def total(self) -> HostStats:
        """All hosts' counters added up (max concurrency: the highest of any single host)."""
        out = HostStats()
        with self._lock:
            for host in self._hosts.values():
                stats = host.stats
                for name, value in vars(stats).items():
                    if name == "max_concurrent_sessions":
                        out.max_concurrent_sessions = max(out.max_concurrent_sessions, value)
                    elif isinstance(value, Counter):
                        getattr(out, name).update(value)
                    else:
                        setattr(out, name, getattr(out, name) + value)
        return out

    def max_concurrent_sessions(self) -> int:
        """The most sessions any one host had open at once."""
        with self._lock:
            return max((h.stats.max_concurrent_sessions for h in self._hosts.values()), default=0)

    def reset_counters(self) -> None:
        """Forget counts and greylist memory (``active_sessions`` is live state and is kept)."""
        with self._lock:
            for host in self._hosts.values():
                active = host.stats.active_sessions
                host.stats = HostStats(active_sessions=active, max_concurrent_sessions=active)
                host.greylist_seen.clear()

    def wait_idle(self, timeout: float = 5.0, *, ended: int = 0) -> None:
        """Wait until no session is open and at least ``ended`` sessions have ended in all.

        Why: the server thread accepts and tears down connections slightly after the client
        returned, so a test that just closed a session passes ``ended=1``.
        """
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                active = sum(h.stats.active_sessions for h in self._hosts.values())
                done = sum(h.stats.sessions_ended for h in self._hosts.values())
            if active == 0 and done >= ended:
                return
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"after {timeout}s: {active} session(s) still open, {done} ended"
                    f" (wanted {ended})"
                )
            time.sleep(0.005)

    def sessions_without_quit(self, *, exempt_ungreeted: bool = True) -> dict[str, int]:
        """Per host: sessions the client ended without QUIT (server drops never count).

        ``exempt_ungreeted``: a client that gave up on a host that never greeted it (tarpit)
        had nothing to QUIT from, so such sessions are not counted.
        """
        out: dict[str, int] = {}
        with self._lock:
            for host in self._hosts.values():
                stats = host.stats
                missing = stats.sessions_client_closed + stats.active_sessions
                if exempt_ungreeted:
                    missing -= stats.ungreeted_client_closed
                if missing:
                    out[host.spec.name] = missing
        return out

    def quit_share(self, *, exempt_ungreeted: bool = True) -> float:
        """Share of the sessions that the client ended (not the server) that ended with QUIT."""
        total = self.total()
        client_ended = total.sessions_quit + total.sessions_client_closed
        if exempt_ungreeted:
            client_ended -= total.ungreeted_client_closed
        if client_ended <= 0:
            return 1.0
        return total.sessions_quit / client_ended

    def assert_all_sessions_quit(
        self, *, exempt_ungreeted: bool = True, settle_seconds: float = 5.0
    ) -> None:
        """Fail unless every session ended with the client's QUIT (server drops excluded).

        Waits up to ``settle_seconds`` for sessions that are still closing.
        """
        with contextlib.suppress(TimeoutError):
            self.wait_idle(settle_seconds)
        missing = self.sessions_without_quit(exempt_ungreeted=exempt_ungreeted)
        assert not missing, f"sessions ended (or left open) without QUIT, per host: {missing}"

    def __repr__(self) -> str:
        state = f"port {self.port}" if self._loop is not None else "stopped"
        return f"<ProbeWorld {len(self._hosts)} hosts, {state}>"


def build_zone(
    hosts: Iterable[HostSpec],
    domains: Mapping[str, str | Sequence[str]],
    *,
    zone: Zone | None = None,
    ttl: int = 300,
) -> Zone:
    """A :class:`Zone`: ``domain MX pref name`` per domain, ``name A address`` per host."""
    zone = zone if zone is not None else Zone()
    for spec in hosts:
        zone.add(f"{spec.name.rstrip('.')}. {ttl} IN A {spec.address}")
    for domain, mx in domains.items():
        names = [mx] if isinstance(mx, str) else list(mx)
        for preference, name in enumerate(names, start=1):
            zone.add(f"{domain.rstrip('.')}. {ttl} IN MX {10 * preference} {name.rstrip('.')}.")
    return zone


def _bind_all(addresses: Sequence[str], port: int) -> list[socket.socket]:
    """Listening sockets on every address, all on one port (``port`` or one free on all)."""
    if not addresses:
        return []
    attempts = 1 if port else 100
    last_error: OSError | None = None
    for _ in range(attempts):
        sockets: list[socket.socket] = []
        try:
            chosen = port
            for address in addresses:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sockets.append(sock)
                # REUSEADDR: a benchmark rerun must not wait for the last run's TIME_WAITs.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((address, chosen))
                chosen = int(sock.getsockname()[1])
                sock.listen(512)
                sock.setblocking(False)
            return sockets
        except OSError as error:
            for sock in sockets:
                sock.close()
            if error.errno != errno.EADDRINUSE or port:
                raise
            last_error = error
    raise RuntimeError(f"no port free on all {len(addresses)} addresses: {last_error}")


def standard_world_hosts(
    *, reply_delay: float = 0.0, slow_seconds: float = 1.0, mailboxes: Iterable[str] = ()
) -> Iterator[HostSpec]:
    """One host per behaviour, named ``<behaviour>.mx.probe.test``, for quick test worlds."""
    boxes = set(mailboxes)
    for index, behaviour in enumerate(BEHAVIOURS):
        yield HostSpec(
            name=f"{behaviour.replace('_', '-')}.mx.probe.test",
            address=loopback_address(index),
            behaviour=behaviour,
            mailboxes=set(boxes),
            reply_delay=reply_delay,
            slow_seconds=slow_seconds if behaviour == "slow" else None,
        )
