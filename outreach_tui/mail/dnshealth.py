"""DNS health lookups for one sending domain; the rules live in `outreach_tui.core.dnshealth`.

Why not checkdmarc (PyPI): it can be handed a dnspython resolver on a custom port, but its
lookups are synchronous, go through a process-wide answer cache (a re-check right after the
operator fixed a record would see the old answer, for hours), and it reports a SERVFAIL or a
timeout on the SPF lookup as "SPF record not found", which is exactly the "missing" we must
not claim when the DNS did not answer. It also cannot tell whether the record authorises the
sending IPs. So: dnspython's async resolver from the project's one factory
(`outreach_tui.mail.dns.make_resolver`), and a small pure evaluator.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import dns.asyncresolver
import dns.exception
import dns.resolver

from outreach_tui.core import dnshealth as rules
from outreach_tui.core.dnshealth import Answer, AnswerStatus, DomainHealth

log = logging.getLogger(__name__)

#: Names fetched while following SPF includes and redirects; more than 10 includes fail
#: the lookup limit anyway, so this bounds a hostile or looping record without hiding it.
MAX_SPF_NAMES = 24


@dataclass(frozen=True)
class DomainCheckPlan:
    """What to check for one domain."""

    domain: str
    dkim_selectors: Sequence[str] = ()
    sending_ips: Sequence[str] = ()
    """IPs that must be authorised by SPF and are queried on the IP blocklists."""
    sending_hosts: Sequence[str] = ()
    """Host names whose addresses are added to `sending_ips` (the mailboxes' smtp_host)."""
    ip_zones: Sequence[str] = ()
    domain_zones: Sequence[str] = ()


@dataclass
class DnsLookups:
    """Answers of one check run, each name and type asked once."""

    resolver: dns.asyncresolver.Resolver
    answers: dict[tuple[str, str], Answer] = field(default_factory=dict)
    _pending: dict[tuple[str, str], asyncio.Future[Answer]] = field(default_factory=dict)

    async def get(self, name: str, rdtype: str) -> Answer:
        key = (rules.norm(name), rdtype)
        if key in self.answers:
            return self.answers[key]
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        answer = await self._resolve(*key)
        self.answers[key] = answer
        future.set_result(answer)
        del self._pending[key]
        return answer

    async def _resolve(self, name: str, rdtype: str) -> Answer:
        try:
            result = await self.resolver.resolve(name, rdtype, search=False)
        except dns.resolver.NXDOMAIN:
            return Answer(AnswerStatus.NXDOMAIN)
        except dns.resolver.NoAnswer:
            return Answer(AnswerStatus.NODATA)
        except dns.resolver.NoNameservers:
            return Answer(AnswerStatus.ERROR, detail="SERVFAIL")
        except dns.exception.Timeout:
            return Answer(AnswerStatus.ERROR, detail="timeout")
        except dns.exception.DNSException as exc:
            return Answer(AnswerStatus.ERROR, detail=type(exc).__name__)
        except OSError as exc:
            return Answer(AnswerStatus.ERROR, detail=exc.strerror or type(exc).__name__)
        values: list[str] = []
        for rdata in result:
            if rdtype == "TXT":
                values.append(b"".join(rdata.strings).decode("utf-8", "replace"))
            elif rdtype == "MX":
                values.append(rules.norm(rdata.exchange.to_text()))
            else:
                values.append(rdata.to_text())
        return Answer(AnswerStatus.OK, tuple(values))


async def _host_addresses(lookups: DnsLookups, host: str) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    found: list[str] = []
    for rdtype in ("A", "AAAA"):
        answer = await lookups.get(host, rdtype)
        found.extend(answer.values)
    return found


async def _crawl_spf(lookups: DnsLookups, domain: str, need_addresses: bool) -> None:
    """Fetch the SPF tree: includes and redirects (TXT), and, when the sending IPs are to be
    checked, the addresses behind a and mx terms. Breadth first, each layer concurrently."""
    seen: set[str] = {domain}
    layer = [domain]
    while layer and len(seen) <= MAX_SPF_NAMES:
        answers = await asyncio.gather(*(lookups.get(n, "TXT") for n in layer))
        next_layer: list[str] = []
        address_names: list[str] = []
        mx_names: list[str] = []
        for name, answer in zip(layer, answers, strict=True):
            found = rules.spf_records(answer.values)
            if len(found) != 1:
                continue
            txt, addresses, mx = rules.spf_fetch_plan(name, rules.parse_spf(found[0]))
            address_names += addresses
            mx_names += mx
            for target in txt:
                if target not in seen and len(seen) < MAX_SPF_NAMES:
                    seen.add(target)
                    next_layer.append(target)
        if need_addresses:
            await asyncio.gather(
                *(_host_addresses(lookups, n) for n in set(address_names)),
                *(_mx_addresses(lookups, n) for n in set(mx_names)),
            )
        layer = next_layer


async def _mx_addresses(lookups: DnsLookups, name: str) -> None:
    answer = await lookups.get(name, "MX")
    await asyncio.gather(*(_host_addresses(lookups, host) for host in answer.values))


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


async def check_domain(resolver: dns.asyncresolver.Resolver, plan: DomainCheckPlan) -> DomainHealth:
    """Every check for one domain, concurrently; never raises for a DNS failure."""
    domain = rules.norm(plan.domain)
    lookups = DnsLookups(resolver)
    ips = list(plan.sending_ips)
    for host in plan.sending_hosts:
        ips += await _host_addresses(lookups, rules.norm(host))
    sending_ips = _unique(ips)
    selectors = _unique(rules.norm(s) for s in plan.dkim_selectors)

    async def blocklist(target: str, zone: str, query: str) -> rules.CheckResult:
        return rules.evaluate_dnsbl(target, zone, await lookups.get(query, "A"))

    blocklist_checks = [
        blocklist(domain, zone, rules.dnsbl_name_for_domain(domain, zone))
        for zone in _unique(plan.domain_zones)
    ] + [
        blocklist(ip, zone, rules.dnsbl_name_for_ip(ip, zone))
        for ip in sending_ips
        for zone in _unique(plan.ip_zones)
    ]
    mx, _, dmarc, dkim, listed = await asyncio.gather(
        lookups.get(domain, "MX"),
        _crawl_spf(lookups, domain, need_addresses=bool(sending_ips)),
        lookups.get(f"_dmarc.{domain}", "TXT"),
        asyncio.gather(*(lookups.get(rules.dkim_name(s, domain), "TXT") for s in selectors)),
        asyncio.gather(*blocklist_checks),
    )
    health = DomainHealth(
        domain=domain,
        mx=rules.evaluate_mx(domain, mx),
        spf=rules.evaluate_spf(domain, lookups.answers, sending_ips),
        dkim=tuple(rules.evaluate_dkim(s, a) for s, a in zip(selectors, dkim, strict=True))
        or (rules.no_dkim_selectors(),),
        dmarc=rules.evaluate_dmarc(domain, dmarc),
        blocklists=tuple(listed),
    )
    log.info(
        "dns check %s: %s",
        domain,
        ", ".join(f"{r.name}={r.status.value}" for r in health.results()),
    )
    return health


__all__ = ["DnsLookups", "DomainCheckPlan", "check_domain"]
