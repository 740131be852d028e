"""Where a domain's mail goes: MX lookup with the RFC 5321 §5.1 address fallback.

- MX records, sorted by preference (then name, so the order is stable).
- No MX records but the name exists: the domain itself is the mail host if it has an A or
  AAAA record (the "implicit MX"); with neither, it takes no mail.
- Null MX (RFC 7505, a single ``0 .``): the domain says it takes no mail.
- NXDOMAIN: no such domain. Both are NO_MX, and both may be cached.
- SERVFAIL, refused, timeout: the lookup failed, which says nothing about the domain: never
  NO_MX, and never cached.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import dns.asyncresolver
import dns.exception
import dns.resolver


class MxStatus(StrEnum):
    OK = "ok"
    """MX records found."""
    IMPLICIT = "implicit"
    """No MX; the domain's own A/AAAA record takes mail (RFC 5321 §5.1)."""
    NULL_MX = "null_mx"
    NXDOMAIN = "nxdomain"
    NO_RECORDS = "no_records"
    """The name exists but has neither MX nor A/AAAA."""
    TIMEOUT = "timeout"
    FAILED = "failed"
    """SERVFAIL, REFUSED, or another answer that is not an answer."""
    REFUSED_TARGET = "refused_target"
    """A mail host whose addresses are all internal (loopback, private, link-local, reserved):
    never probed (core/probe_targets.py)."""

    @property
    def takes_mail(self) -> bool:
        return self in (MxStatus.OK, MxStatus.IMPLICIT)

    @property
    def decisive(self) -> bool:
        """A fact about the domain (cacheable), not a failure of the lookup."""
        return self not in (MxStatus.TIMEOUT, MxStatus.FAILED)


@dataclass(frozen=True, slots=True)
class MxAnswer:
    status: MxStatus
    hosts: tuple[str, ...] = ()
    """Mail hosts, most preferred first (without the trailing dot)."""
    detail: str = ""


async def lookup_mx(resolver: dns.asyncresolver.Resolver, domain: str) -> MxAnswer:
    """The mail hosts of `domain` (an A-label name), or why there are none."""
    try:
        answer = await resolver.resolve(domain, "MX", search=False)
    except dns.resolver.NXDOMAIN:
        return MxAnswer(MxStatus.NXDOMAIN, detail=f"{domain} does not exist (NXDOMAIN)")
    except dns.resolver.NoAnswer:
        return await _implicit_mx(resolver, domain)
    except dns.exception.Timeout:
        return MxAnswer(MxStatus.TIMEOUT, detail=f"DNS lookup of {domain} MX timed out")
    except dns.resolver.NoNameservers as exc:
        return MxAnswer(MxStatus.FAILED, detail=f"DNS servers failed for {domain} MX: {exc}")
    except dns.exception.DNSException as exc:
        return MxAnswer(MxStatus.FAILED, detail=f"DNS lookup of {domain} MX failed: {exc}")
    records = sorted(
        ((int(r.preference), r.exchange.to_text(omit_final_dot=True).lower()) for r in answer),
    )
    hosts = tuple(name for _, name in records if name not in ("", "."))
    if not hosts:
        # RFC 7505: "0 ." is a domain's way of saying it takes no mail at all.
        return MxAnswer(MxStatus.NULL_MX, detail=f"{domain} publishes a null MX: takes no mail")
    return MxAnswer(MxStatus.OK, hosts)


async def _implicit_mx(resolver: dns.asyncresolver.Resolver, domain: str) -> MxAnswer:
    failure: MxAnswer | None = None
    for rdtype in ("A", "AAAA"):
        addresses = await resolve_addresses(resolver, domain, rdtype)
        if isinstance(addresses, MxAnswer):
            failure = failure or addresses
        elif addresses:
            return MxAnswer(
                MxStatus.IMPLICIT, (domain,), detail=f"no MX: {domain}'s own {rdtype} takes mail"
            )
    if failure is not None and failure.status is not MxStatus.NXDOMAIN:
        return failure
    return MxAnswer(MxStatus.NO_RECORDS, detail=f"{domain} has no MX, A or AAAA record")


async def resolve_addresses(
    resolver: dns.asyncresolver.Resolver, name: str, rdtype: str
) -> list[str] | MxAnswer:
    """The addresses of `name` (possibly none), or the failure as an `MxAnswer`."""
    try:
        answer = await resolver.resolve(name, rdtype, search=False)
    except dns.resolver.NoAnswer:
        return []
    except dns.resolver.NXDOMAIN:
        return MxAnswer(MxStatus.NXDOMAIN, detail=f"{name} does not exist (NXDOMAIN)")
    except dns.exception.Timeout:
        return MxAnswer(MxStatus.TIMEOUT, detail=f"DNS lookup of {name} {rdtype} timed out")
    except dns.exception.DNSException as exc:
        return MxAnswer(MxStatus.FAILED, detail=f"DNS lookup of {name} {rdtype} failed: {exc}")
    return [r.to_text() for r in answer]


async def host_addresses(resolver: dns.asyncresolver.Resolver, host: str) -> list[str] | MxAnswer:
    """The addresses to connect to for a mail host: IPv4 first, then IPv6, each sorted (at
    least one), or why there are none."""
    failure: MxAnswer | None = None
    found: list[str] = []
    for rdtype in ("A", "AAAA"):
        addresses = await resolve_addresses(resolver, host, rdtype)
        if isinstance(addresses, MxAnswer):
            if addresses.status is MxStatus.NXDOMAIN:
                return addresses
            failure = failure or addresses
        else:
            found.extend(sorted(addresses))
    if found:
        return found
    return failure or MxAnswer(MxStatus.NO_RECORDS, detail=f"mail host {host} has no address")


__all__ = ["MxAnswer", "MxStatus", "host_addresses", "lookup_mx", "resolve_addresses"]
