"""Which addresses the verification probe may connect to.

The probe connects to whatever a lead's domain says its mail host is, unattended, for every
imported list: an MX or A record pointing at 127.0.0.1, a private network or 169.254.169.254
(a cloud's metadata service) would have it talk to the operator's own network. So only public
unicast addresses are probed unless `[verify] allow_networks` names the network (tests and
private deployments). The address checked is the one connected to: the verifier resolves the
mail host, picks an address this module allows, and connects to that address, never to a name.

IPv6 forms that carry an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``,
6to4 ``2002::/16``) are judged by the IPv4 address inside as well.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Ranges refused by default, with the words an operator reads (most specific first).
_REFUSED: tuple[tuple[str, str], ...] = (
    ("127.0.0.0/8", "a loopback address"),
    ("10.0.0.0/8", "a private address (10.0.0.0/8)"),
    ("172.16.0.0/12", "a private address (172.16.0.0/12)"),
    ("192.168.0.0/16", "a private address (192.168.0.0/16)"),
    ("169.254.0.0/16", "a link-local address (169.254.0.0/16, cloud metadata services)"),
    ("100.64.0.0/10", "a shared carrier-grade NAT address (100.64.0.0/10)"),
    ("0.0.0.0/8", "a 'this network' address (0.0.0.0/8)"),
    ("224.0.0.0/4", "a multicast address"),
    ("240.0.0.0/4", "a reserved address (240.0.0.0/4)"),
    ("::1/128", "a loopback address"),
    ("::/128", "the unspecified address"),
    ("fc00::/7", "a unique local address (fc00::/7)"),
    ("fe80::/10", "a link-local address (fe80::/10)"),
    ("ff00::/8", "a multicast address"),
)
_REFUSED_NETWORKS: tuple[tuple[Network, str], ...] = tuple(
    (ipaddress.ip_network(cidr), why) for cidr, why in _REFUSED
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """CIDR strings as networks (host bits allowed: ``127.0.0.1/8`` is ``127.0.0.0/8``);
    `ValueError` names the first entry that is not one."""
    networks: list[Network] = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{value!r} is not a network in CIDR form (e.g. 10.0.0.0/8)") from None
    return tuple(networks)


def _embedded(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def _kind(address: Address) -> str | None:
    """Why `address` is not a public unicast address, or None when it is one."""
    for network, why in _REFUSED_NETWORKS:
        if address.version == network.version and address in network:
            return why
    if address.is_multicast:
        return "a multicast address"
    if not address.is_global or address.is_reserved:
        return "a reserved address (not globally routed)"
    return None


def refusal(address: str, allowed: Sequence[Network] = ()) -> str | None:
    """Why the probe must not connect to `address` (an IP literal), or None when it may:
    a public unicast address, or one inside a network of `allowed`."""
    try:
        parsed: Address = ipaddress.ip_address(address.strip().split("%", 1)[0])
    except ValueError:
        return f"{address[:60]!r} is not an IP address"
    # A form that carries an IPv4 address reaches that address: it is what is judged.
    target: Address = _embedded(parsed) or parsed
    if any(a.version == n.version and a in n for a in (parsed, target) for n in allowed):
        return None
    why = _kind(target)
    if why is None:
        return None
    return f"{parsed} ({target}) is {why}" if target is not parsed else f"{parsed} is {why}"


__all__ = ["Network", "parse_networks", "refusal"]
