"""The verification probe never connects to an internal address unless told to: an MX (or the
implicit MX's A/AAAA record) pointing at loopback, a private network, link-local (cloud
metadata), CGNAT, multicast or reserved space is refused with a result that says why, and
`[verify] allow_networks` opens the networks it names. Against the loopback world of
tests/functional/verify_world.py; a connect off loopback would also fail the test
(tests/netguard)."""

from __future__ import annotations

import asyncio

import pytest

from outreach_tui.config import load_settings
from outreach_tui.core.errors import ConfigError
from outreach_tui.engine.leads.domain_insight import MemoryInsightStore
from outreach_tui.engine.leads.verifier import Verifier, collect
from tests.functional.verify_world import build

#: domain → a record that sends its mail to an internal address
INTERNAL = {
    "metadata.vworld.net": "mx.metadata.vworld.net. 300 IN A 169.254.169.254",
    "ten.vworld.net": "mx.ten.vworld.net. 300 IN A 10.0.0.5",
    "oneseventwo.vworld.net": "mx.oneseventwo.vworld.net. 300 IN A 172.16.4.2",
    "home.vworld.net": "mx.home.vworld.net. 300 IN A 192.168.1.1",
    "cgnat.vworld.net": "mx.cgnat.vworld.net. 300 IN A 100.64.0.1",
    "zero.vworld.net": "mx.zero.vworld.net. 300 IN A 0.0.0.1",
    "multicast.vworld.net": "mx.multicast.vworld.net. 300 IN A 224.0.0.251",
    "reserved.vworld.net": "mx.reserved.vworld.net. 300 IN A 240.0.0.1",
    "six.vworld.net": "mx.six.vworld.net. 300 IN AAAA ::1",
    "ula.vworld.net": "mx.ula.vworld.net. 300 IN AAAA fd00::25",
    "linklocal6.vworld.net": "mx.linklocal6.vworld.net. 300 IN AAAA fe80::25",
    "mapped.vworld.net": "mx.mapped.vworld.net. 300 IN AAAA ::ffff:a01:203",  # ::ffff:10.1.2.3,
}


@pytest.fixture
def world(probe_world, probe_dns):
    built = build(probe_world, probe_dns)
    for domain, record in INTERNAL.items():
        built.dns.zone.add(f"{domain}. 300 IN MX 10 mx.{domain}.")
        built.dns.zone.add(record)
    built.dns.zone.add("implicit-private.vworld.net. 300 IN A 10.9.9.9")  # no MX: its own A
    built.dns.reload()
    return built


def verify(world, emails, **settings):
    verifier = Verifier(world.settings(**settings), world.resolver(), MemoryInsightStore())
    return {r.email: r for r in asyncio.run(collect(verifier, emails))}


def test_an_mx_at_an_internal_address_is_not_probed_and_the_result_says_why(world):
    addresses = [f"ann@{d}" for d in INTERNAL] + ["bob@implicit-private.vworld.net"]

    results = verify(world, addresses, allow_networks=[])

    assert {r.status.value for r in results.values()} == {"UNKNOWN"}
    for email, result in results.items():
        assert "not probed" in result.detail, (email, result.detail)
    assert "link-local" in results["ann@metadata.vworld.net"].detail
    assert "169.254.169.254" in results["ann@metadata.vworld.net"].detail
    assert "private" in results["ann@ten.vworld.net"].detail
    assert "loopback" in results["ann@six.vworld.net"].detail
    assert "10.1.2.3" in results["ann@mapped.vworld.net"].detail
    assert "10.9.9.9" in results["bob@implicit-private.vworld.net"].detail


def test_a_loopback_mx_is_refused_by_default_and_probed_once_its_network_is_allowed(world):
    email = "ann@valid.vworld.net"

    refused = verify(world, [email], allow_networks=[])[email]
    assert world.world.stats("mx.valid.vworld.net").sessions_opened == 0
    allowed = verify(world, [email], allow_networks=["127.0.0.0/8"])[email]

    assert refused.status.value == "UNKNOWN" and "loopback" in refused.detail
    assert allowed.status.value == "VALID"
    assert world.world.stats("mx.valid.vworld.net").sessions_opened >= 1


def test_allow_networks_is_checked_when_the_settings_load(tmp_path):
    config = tmp_path / "outreach.toml"
    config.write_text('[verify]\nallow_networks = ["10.0.0.0/8", "not-a-network"]\n')

    with pytest.raises(ConfigError, match="allow_networks"):
        load_settings(config)
    config.write_text('[verify]\nallow_networks = ["127.0.0.1/8", "fd00::/8"]\n')
    assert load_settings(config).verify.allow_networks == ["127.0.0.0/8", "fd00::/8"]
