"""Self-tests for the SMTP probe world, driven by the standard library's smtplib.

Why: the verifier's tests trust the world's answers and, above all, its counters (QUIT on every
session, never two sessions at once to one host). Each test pins one behaviour those tests rely
on, with an independent client. Plain sync tests: smtplib blocks, the world serves from its own
thread.
"""

from __future__ import annotations

import contextlib
import smtplib
import socket
import time
from collections.abc import Iterator

import dns.resolver
import pytest

from tests.servers.probe_fixtures import DnsServerFactory, ProbeWorldFactory
from tests.servers.probe_world import HostSpec, ProbeWorld, loopback_address

KNOWN = "ann@a.test"
UNKNOWN = "nobody@a.test"


def host(index: int, behaviour: str, **options: object) -> HostSpec:
    return HostSpec(
        name=f"mx{index}.probe.test",
        address=loopback_address(index),
        behaviour=behaviour,  # type: ignore[arg-type]
        mailboxes={KNOWN},
        **options,  # type: ignore[arg-type]
    )


@contextlib.contextmanager
def session(world: ProbeWorld, spec: HostSpec, *, timeout: float = 5.0) -> Iterator[smtplib.SMTP]:
    """An smtplib session that said EHLO and MAIL FROM; closed (without QUIT) on the way out
    if the test did not QUIT itself."""
    client = smtplib.SMTP(spec.address, world.port, local_hostname="prober.test", timeout=timeout)
    try:
        client.ehlo()
        code, _ = client.mail("probe@prober.test")
        assert code == 250
        yield client
    finally:
        client.close()


def rcpt(client: smtplib.SMTP, address: str) -> tuple[int, str]:
    code, text = client.rcpt(address)
    return code, text.decode()


def test_normal_host_accepts_known_mailboxes_and_refuses_others_with_5_1_1(
    probe_world: ProbeWorldFactory,
) -> None:
    spec = host(0, "normal")
    world = probe_world([spec])
    with session(world, spec) as client:
        assert rcpt(client, KNOWN)[0] == 250
        code, text = rcpt(client, UNKNOWN)
        assert (code, text[:5]) == (550, "5.1.1")
        client.quit()
    world.assert_all_sessions_quit()
    stats = world.stats(spec.name)
    assert (stats.sessions_opened, stats.sessions_quit, stats.rcpt_count) == (1, 1, 2)
    assert stats.helo_names["prober.test"] == 1
    assert stats.mail_from["probe@prober.test"] == 1
    assert stats.recipients[UNKNOWN] == 1
    assert stats.rcpts_per_session == {2: 1}


def test_catch_all_host_accepts_every_recipient(probe_world: ProbeWorldFactory) -> None:
    spec = host(0, "catch_all")
    world = probe_world([spec])
    with session(world, spec) as client:
        assert rcpt(client, "x7f3q9z@a.test")[0] == 250
        assert rcpt(client, UNKNOWN)[0] == 250
        client.quit()
    world.assert_all_sessions_quit()


def test_greylist_defers_until_a_fresh_connection_then_answers_normally(
    probe_world: ProbeWorldFactory,
) -> None:
    spec = host(0, "greylist")
    world = probe_world([spec])
    with session(world, spec) as client:
        code, text = rcpt(client, KNOWN)
        assert (code, text[:5]) == (451, "4.7.1")
        # A retry in the same session is not a new attempt.
        assert rcpt(client, KNOWN)[0] == 451
        assert rcpt(client, UNKNOWN)[0] == 451
        client.quit()
    with session(world, spec) as client:
        assert rcpt(client, KNOWN)[0] == 250
        assert rcpt(client, UNKNOWN)[0] == 550
        client.quit()
    world.assert_all_sessions_quit()
    assert world.stats(spec.name).greylist_deferrals == 3


def test_greylist_window_defers_an_early_retry_even_on_a_fresh_connection(
    probe_world: ProbeWorldFactory,
) -> None:
    spec = host(0, "greylist", greylist_window_seconds=0.5)
    world = probe_world([spec])
    for expected in (451, 451):
        with session(world, spec) as client:
            assert rcpt(client, KNOWN)[0] == expected
            client.quit()
    time.sleep(0.6)
    with session(world, spec) as client:
        assert rcpt(client, KNOWN)[0] == 250
        client.quit()


def test_greylist_attempts_sets_how_many_sessions_are_deferred(
    probe_world: ProbeWorldFactory,
) -> None:
    spec = host(0, "greylist", greylist_attempts=2)
    world = probe_world([spec])
    codes = []
    for _ in range(3):
        with session(world, spec) as client:
            codes.append(rcpt(client, KNOWN)[0])
            client.quit()
    assert codes == [451, 451, 250]


def test_policy_refusal_answers_5_7_1(probe_world: ProbeWorldFactory) -> None:
    spec = host(0, "policy_refusal")
    world = probe_world([spec])
    with session(world, spec) as client:
        code, text = rcpt(client, KNOWN)
        assert (code, text[:5]) == (550, "5.7.1")
        client.quit()
    world.assert_all_sessions_quit()


def test_tarpit_accepts_the_connection_but_never_greets(probe_world: ProbeWorldFactory) -> None:
    spec = host(0, "tarpit")
    world = probe_world([spec])
    with (
        socket.create_connection((spec.address, world.port), timeout=0.3) as sock,
        pytest.raises(TimeoutError),
    ):
        sock.recv(100)
    world.wait_idle(ended=1)
    stats = world.stats(spec.name)
    assert (stats.sessions_opened, stats.sessions_ungreeted, stats.sessions_client_closed) == (
        1,
        1,
        1,
    )
    # A client that gives up on a silent server had nothing to QUIT from...
    world.assert_all_sessions_quit()
    # ...unless the caller wants to see it anyway.
    with pytest.raises(AssertionError, match="without QUIT"):
        world.assert_all_sessions_quit(exempt_ungreeted=False)


def test_tarpit_notices_a_quit_sent_without_a_greeting(probe_world: ProbeWorldFactory) -> None:
    spec = host(0, "tarpit")
    world = probe_world([spec])
    with socket.create_connection((spec.address, world.port), timeout=1) as sock:
        sock.sendall(b"QUIT\r\n")
    world.wait_idle(ended=1)
    assert world.stats(spec.name).sessions_quit == 1


def test_drop_after_rcpt_closes_without_answering(probe_world: ProbeWorldFactory) -> None:
    spec = host(0, "drop_after_rcpt")
    world = probe_world([spec])
    with session(world, spec) as client, pytest.raises(smtplib.SMTPServerDisconnected):
        client.rcpt(KNOWN)
    world.wait_idle(ended=1)
    stats = world.stats(spec.name)
    assert (stats.sessions_dropped, stats.sessions_client_closed, stats.rcpt_count) == (1, 0, 1)
    world.assert_all_sessions_quit()  # server drops are not the client's fault


def test_drop_after_rcpt_with_reply_answers_then_closes(probe_world: ProbeWorldFactory) -> None:
    spec = host(0, "drop_after_rcpt", drop_with_reply=True)
    world = probe_world([spec])
    with session(world, spec) as client:
        assert rcpt(client, KNOWN)[0] == 250
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client.rcpt(UNKNOWN)
    world.wait_idle(ended=1)
    assert world.stats(spec.name).sessions_dropped == 1


def test_rate_limit_421_at_greeting_refuses_the_session(probe_world: ProbeWorldFactory) -> None:
    spec = host(0, "rate_limit_421")
    world = probe_world([spec])
    with pytest.raises(smtplib.SMTPConnectError) as refused:
        smtplib.SMTP(spec.address, world.port, local_hostname="prober.test", timeout=5)
    assert refused.value.smtp_code == 421
    assert refused.value.smtp_error.startswith(b"4.7.0")
    world.wait_idle(ended=1)
    stats = world.stats(spec.name)
    assert (stats.sessions_dropped, stats.sessions_ungreeted) == (1, 1)


def test_rate_limit_421_at_rcpt_answers_421_and_closes(probe_world: ProbeWorldFactory) -> None:
    spec = host(0, "rate_limit_421", rate_limit_at="rcpt")
    world = probe_world([spec])
    with session(world, spec) as client:
        # smtplib closes its side itself on a 421 (RFC 5321: the server is going away).
        code, text = rcpt(client, KNOWN)
        assert (code, text[:5]) == (421, "4.7.0")
    world.wait_idle(ended=1)
    assert world.stats(spec.name).sessions_dropped == 1


def test_one_rcpt_per_session_answers_452_to_the_second_rcpt(
    probe_world: ProbeWorldFactory,
) -> None:
    spec = host(0, "one_rcpt_per_session")
    world = probe_world([spec])
    with session(world, spec) as client:
        assert rcpt(client, KNOWN)[0] == 250
        code, text = rcpt(client, UNKNOWN)
        assert (code, text[:5]) == (452, "4.5.3")
        client.quit()
    with session(world, spec) as client:
        assert rcpt(client, UNKNOWN)[0] == 550
        client.quit()
    world.assert_all_sessions_quit()


def test_slow_host_waits_before_greeting_and_rcpt_reply(probe_world: ProbeWorldFactory) -> None:
    spec = host(0, "slow", slow_seconds=0.2)
    world = probe_world([spec])
    started = time.monotonic()
    with session(world, spec) as client:
        greeted = time.monotonic()
        assert rcpt(client, KNOWN)[0] == 250
        answered = time.monotonic()
        client.quit()
    assert greeted - started >= 0.2
    assert answered - greeted >= 0.2


def test_reply_delay_comes_once_before_every_reply(probe_world: ProbeWorldFactory) -> None:
    spec = host(0, "normal", reply_delay=0.1)
    world = probe_world([spec])
    started = time.monotonic()
    with session(world, spec) as client:  # greeting, EHLO (multi-line: one reply), MAIL
        rcpt(client, KNOWN)
        client.quit()
    elapsed = time.monotonic() - started
    # Five replies; a delay per EHLO *line* would add another 0.4 s.
    assert 0.5 <= elapsed < 0.85


def test_closed_host_refuses_the_connection(probe_world: ProbeWorldFactory) -> None:
    spec = host(1, "closed")
    world = probe_world([host(0, "normal"), spec])
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((spec.address, world.port), timeout=2).close()


def test_a_session_closed_without_quit_is_counted_and_fails_the_quit_assertion(
    probe_world: ProbeWorldFactory,
) -> None:
    spec = host(0, "normal")
    world = probe_world([spec])
    with session(world, spec) as client:
        rcpt(client, KNOWN)
    world.wait_idle(ended=1)
    assert world.stats(spec.name).sessions_client_closed == 1
    assert world.sessions_without_quit() == {spec.name: 1}
    assert world.quit_share() == 0.0
    with pytest.raises(AssertionError, match="without QUIT"):
        world.assert_all_sessions_quit(settle_seconds=0.1)


def test_concurrent_sessions_are_counted_per_host(probe_world: ProbeWorldFactory) -> None:
    busy, calm = host(0, "normal"), host(1, "normal")
    world = probe_world([busy, calm])
    with session(world, busy) as first, session(world, busy) as second:
        assert world.stats(busy.name).active_sessions == 2
        first.quit()
        second.quit()
    for _ in range(3):
        with session(world, calm) as client:
            client.quit()
    world.assert_all_sessions_quit()
    assert world.stats(busy.name).max_concurrent_sessions == 2
    assert world.stats(calm.name).max_concurrent_sessions == 1
    assert world.max_concurrent_sessions() == 2
    total = world.total()
    assert (total.sessions_opened, total.sessions_quit) == (5, 5)


def test_all_hosts_share_one_port_on_their_own_addresses(probe_world: ProbeWorldFactory) -> None:
    specs = [host(i, "normal") for i in range(300)]
    world = probe_world(specs)
    for spec in (specs[0], specs[251], specs[-1]):
        with session(world, spec) as client:
            client.quit()
    assert {s.address for s in specs} >= {"127.0.10.1", "127.0.11.2", "127.0.11.50"}
    world.assert_all_sessions_quit()
    assert world.stats(specs[251].name).sessions_quit == 1


def test_zone_maps_domains_to_mx_names_to_host_addresses(
    probe_world: ProbeWorldFactory, probe_dns: DnsServerFactory
) -> None:
    first, second = host(0, "normal"), host(1, "catch_all")
    world = probe_world(
        [first, second], {"a.test": first.name, "b.test": [second.name, first.name]}
    )
    server = probe_dns(world.zone())
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [server.host]
    resolver.port = server.port
    mx = sorted((r.preference, str(r.exchange)) for r in resolver.resolve("b.test", "MX"))
    assert mx == [(10, f"{second.name}."), (20, f"{first.name}.")]
    address = resolver.resolve(first.name, "A")[0].to_text()
    assert address == first.address
    assert world.host_for_domain("B.test") == second


def test_stop_aborts_open_sessions_and_counts_them(probe_world: ProbeWorldFactory) -> None:
    spec = host(0, "normal")
    world = ProbeWorld([spec]).start()
    try:
        with session(world, spec):
            world.stop()
            assert world.stats(spec.name).sessions_aborted_at_stop == 1
    finally:
        world.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((spec.address, world.port), timeout=2).close()
