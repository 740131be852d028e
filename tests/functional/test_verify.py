"""The verifier against a real world on loopback: aiosmtpd MX hosts that play every behaviour
(tests/servers/probe_world.py) and a dnslib DNS server (tests/servers/dns.py).

Each behaviour gives its status; every session the servers saw ended with the client's QUIT
(sessions the server itself dropped excepted; the tarpit, which never greets, gets its QUIT
too: the client writes it before it closes); no host ever had two sessions at once; a domain
costs one MX lookup and one catch-all probe however many addresses it has."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from outreach_tui.db.database import Database
from outreach_tui.engine.leads.domain_insight import MemoryInsightStore
from outreach_tui.engine.leads.domain_insight_db import DbInsightStore
from outreach_tui.engine.leads.verifier import Verifier, collect
from outreach_tui.mail.probe import probe
from tests.functional.verify_world import EXPECTED, SLOW, build

DOMAIN = "valid.vworld.net"


@pytest.fixture
def world(probe_world, probe_dns):
    return build(probe_world, probe_dns)


def random_recipients(stats) -> int:
    return sum(n for rcpt, n in stats.recipients.items() if rcpt.startswith("no-such-user-"))


def test_each_behaviour_of_the_world_gets_its_status(world):
    verifier = Verifier(world.settings(), world.resolver(), MemoryInsightStore())

    results = {r.email: r for r in asyncio.run(collect(verifier, list(EXPECTED)))}

    assert {email: r.status.value for email, r in results.items()} == EXPECTED
    policy = results["ann@policy.vworld.net"]
    assert "refused the probe" in policy.detail and policy.smtp_code == 550
    assert results["nobody@valid.vworld.net"].smtp_code == 550
    assert results["ann@valid.vworld.net"].health.value == "GREEN"
    assert results["ann@implicit.vworld.net".replace("ann", "bob")].mx_host == "implicit.vworld.net"
    assert results["ann@bücher.vworld.net"].mx_host == "mx.xn--bcher-kva.vworld.net"
    assert "SERVFAIL" in results["ann@servfail.vworld.net"].detail
    # Greylisting: deferred once, asked again on a new connection, then answered.
    grey = world.world.stats("mx.grey.vworld.net")
    assert grey.greylist_deferrals >= 1 and grey.sessions_opened == 2
    # One RCPT per session: the 452 host saw the real address again, alone.
    assert world.world.stats("mx.onercpt.vworld.net").recipients["ann@onercpt.vworld.net"] == 2


def test_every_session_ends_with_quit_and_no_host_sees_two_at_once(world):
    verifier = Verifier(world.settings(), world.resolver(), MemoryInsightStore())

    asyncio.run(collect(verifier, list(EXPECTED) * 3))

    # Dropped by the server (drop after RCPT, 421) is not the client's doing; the tarpit
    # never greets, and still gets a QUIT (exempt_ungreeted=False counts it).
    world.world.assert_all_sessions_quit(exempt_ungreeted=False)
    tarpit = world.world.stats("mx.tarpit.vworld.net")
    assert tarpit.sessions_ungreeted == tarpit.sessions_quit == 1  # remembered as down
    assert world.world.total().sessions_dropped >= 4
    assert world.world.max_concurrent_sessions() == 1
    assert verifier.stats["max_host_sessions"] == 1


def test_five_thousand_addresses_at_one_domain_cost_one_mx_lookup_and_one_catch_all_probe(
    world, db
):
    addresses = ["ann@valid.vworld.net"] + [f"user{i}@{DOMAIN}" for i in range(4999)]
    settings = world.settings(rcpt_per_session=50, rate_limit_seconds=0.01, concurrency=20)
    store = DbInsightStore(Database(db))

    results = asyncio.run(collect(Verifier(settings, world.resolver(), store), addresses))

    statuses = {r.email: r.status.value for r in results}
    assert len(results) == 5000
    assert statuses["ann@valid.vworld.net"] == "VALID"
    assert {s for e, s in statuses.items() if e.startswith("user")} == {"MAILBOX_NOT_FOUND"}
    assert world.dns.count(DOMAIN, "MX") == 1
    stats = world.world.stats("mx.valid.vworld.net")
    assert random_recipients(stats) == 1
    assert stats.max_concurrent_sessions == 1
    assert stats.sessions_opened <= 1 + 5000 // 50 + 1  # addresses share sessions

    # A second run finds the domain in the database: no lookup, no catch-all probe.
    again = asyncio.run(collect(Verifier(settings, world.resolver(), store), addresses[:20]))
    assert len(again) == 20
    assert world.dns.count(DOMAIN, "MX") == 1
    assert random_recipients(world.world.stats("mx.valid.vworld.net")) == 1


def test_sessions_to_one_host_start_a_gap_after_the_previous_one_ended(world):
    spans: list[tuple[float, float]] = []

    async def timed(*args, **kwargs):
        start = time.monotonic()
        try:
            return await probe(*args, **kwargs)
        finally:
            spans.append((start, time.monotonic()))

    gap = 0.2
    settings = world.settings(rate_limit_seconds=gap, rcpt_per_session=1)
    addresses = [f"user{i}@{DOMAIN}" for i in range(5)]

    asyncio.run(
        collect(Verifier(settings, world.resolver(), MemoryInsightStore(), prober=timed), addresses)
    )

    assert len(spans) == 5
    spans.sort()
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start - end >= gap * 0.95
    assert world.world.max_concurrent_sessions() == 1


def test_a_host_waiting_for_its_turn_does_not_hold_the_pool(world):
    # One session at a time in all, a long gap per host: the catch-all domain's address,
    # last in the input, must not wait behind the queue of the first host.
    settings = world.settings(concurrency=1, rate_limit_seconds=0.5, rcpt_per_session=1)
    addresses = [f"user{i}@{DOMAIN}" for i in range(5)] + ["ann@catchall.vworld.net"]

    async def order() -> list[str]:
        verifier = Verifier(settings, world.resolver(), MemoryInsightStore())
        return [r.email async for r in verifier.verify_stream(addresses)]

    done = asyncio.run(order())
    assert done.index("ann@catchall.vworld.net") < done.index(f"user4@{DOMAIN}")


def test_a_greylisted_address_waiting_for_its_retry_lets_the_others_through(world):
    settings = world.settings(greylist_retry_seconds=1.5)
    addresses = ["ann@grey.vworld.net", "ann@catchall.vworld.net", "ann@valid.vworld.net"]

    async def order() -> list[tuple[str, str]]:
        verifier = Verifier(settings, world.resolver(), MemoryInsightStore())
        # One address in flight at a time: only a parked retry that gives its place back
        # lets the next address start.
        stream = verifier.verify_stream(addresses, in_flight=1)
        return [(r.email, r.status.value) async for r in stream]

    done = asyncio.run(order())
    assert done[-1] == ("ann@grey.vworld.net", "VALID")
    assert {e for e, _ in done[:2]} == {"ann@catchall.vworld.net", "ann@valid.vworld.net"}


def test_a_slow_server_within_the_timeout_is_waited_for(world):
    settings = world.settings(timeout_seconds=SLOW * 3)

    (result,) = asyncio.run(
        collect(Verifier(settings, world.resolver(), MemoryInsightStore()), ["ann@slow.vworld.net"])
    )

    assert result.status.value == "VALID"
    world.world.assert_all_sessions_quit()


def test_a_domain_in_skip_catch_all_domains_gets_no_random_recipient(world):
    settings = world.settings(skip_catch_all_domains=["vworld.net"])

    results = asyncio.run(
        collect(
            Verifier(settings, world.resolver(), MemoryInsightStore()),
            ["ann@valid.vworld.net", "x@valid.vworld.net"],
        )
    )

    assert sorted(r.status.value for r in results) == ["MAILBOX_NOT_FOUND", "VALID"]
    assert random_recipients(world.world.stats("mx.valid.vworld.net")) == 0


def test_no_probe_domains_are_never_asked_over_smtp(world):
    settings = world.settings(no_probe_domains=["valid.vworld.net"])

    (result,) = asyncio.run(
        collect(
            Verifier(settings, world.resolver(), MemoryInsightStore()), ["ann@valid.vworld.net"]
        )
    )

    assert (result.status.value, result.health.value) == ("UNKNOWN", "YELLOW")
    assert world.world.stats("mx.valid.vworld.net").sessions_opened == 0
