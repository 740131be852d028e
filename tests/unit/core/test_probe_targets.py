"""Which addresses the verification probe may connect to (core/probe_targets.py)."""

import pytest

from outreach_tui.core.probe_targets import parse_networks, refusal

INTERNAL = [
    "127.0.0.1", "127.8.9.10", "10.0.0.5", "172.16.0.1", "172.31.255.254", "192.168.1.1",
    "169.254.169.254", "100.64.0.1", "100.127.255.254", "0.0.0.0", "0.1.2.3", "224.0.0.251",
    "239.255.255.250", "240.0.0.1", "255.255.255.255", "192.0.2.10", "198.18.0.1", "::1",
    "::", "fc00::1", "fd12:3456::1", "fe80::1", "fe80::1%eth0", "ff02::1", "2001:db8::25",
    "::ffff:127.0.0.1", "::ffff:169.254.169.254", "64:ff9b::a00:1", "2002:7f00:1::1",
]  # fmt: skip
PUBLIC = ["8.8.8.8", "142.250.1.27", "2a00:1450:4001:82b::1b", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", INTERNAL)
def test_internal_addresses_are_refused_with_a_reason(address):
    why = refusal(address)
    assert why is not None and " is " in why


@pytest.mark.parametrize("address", PUBLIC)
def test_public_unicast_addresses_may_be_probed(address):
    assert refusal(address) is None


def test_an_allowed_network_opens_its_addresses_and_their_mapped_forms():
    allowed = parse_networks(["127.0.0.1/8", "fd00::/8"])
    assert refusal("127.0.10.4", allowed) is None
    assert refusal("::ffff:127.0.0.1", allowed) is None
    assert refusal("fd00::25", allowed) is None
    assert refusal("10.0.0.1", allowed) is not None


def test_a_name_is_never_an_address_to_connect_to():
    assert refusal("localhost") is not None


def test_a_network_that_is_not_cidr_is_named():
    with pytest.raises(ValueError, match=r"'10\.0\.0\.0/33'"):
        parse_networks(["10.0.0.0/8", "10.0.0.0/33"])
