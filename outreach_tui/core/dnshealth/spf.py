"""SPF (RFC 7208) over fetched answers: parsing a record, what to look up next, counting DNS
lookups across includes and redirects, and whether a sending IP is authorised (a reduced
check_host() that says "unknown" rather than guess)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from outreach_tui.core.dnshealth.answers import (
    Answer,
    AnswerStatus,
    CheckResult,
    CheckStatus,
    DnsWorld,
    norm,
)

#: RFC 7208 §4.6.4: evaluating a record may cost at most 10 DNS-querying terms.
SPF_LOOKUP_LIMIT = 10
SPF_LOOKUP_TERMS = frozenset({"include", "a", "mx", "ptr", "exists", "redirect"})

_QUALIFIERS = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}
_TERM = re.compile(
    r"^(?P<q>[+\-~?]?)(?P<mech>all|include|a|mx|ptr|ip4|ip6|exists)"
    r"(?::(?P<arg>[^/\s]*))?(?P<cidr>(?:/\d{1,3})?(?://\d{1,3})?)$",
    re.IGNORECASE,
)
_MODIFIER = re.compile(r"^(?P<name>[a-z][a-z0-9_.\-]*)=(?P<value>\S*)$", re.IGNORECASE)
_DOMAIN_SPEC = re.compile(r"^[A-Za-z0-9_\-.%{}+/=!,]+$")


@dataclass(frozen=True)
class SpfTerm:
    qualifier: str
    """pass | fail | softfail | neutral"""
    mechanism: str
    argument: str = ""
    cidr4: int | None = None
    cidr6: int | None = None


@dataclass(frozen=True)
class SpfRecord:
    terms: tuple[SpfTerm, ...]
    redirect: str | None
    errors: tuple[str, ...]

    @property
    def lookups(self) -> int:
        """DNS-querying terms in this record alone (not counting included records)."""
        return sum(t.mechanism in SPF_LOOKUP_TERMS for t in self.terms) + (
            1 if self.redirect else 0
        )

    @property
    def all_term(self) -> SpfTerm | None:
        return next((t for t in self.terms if t.mechanism == "all"), None)


def spf_records(txt: Iterable[str]) -> list[str]:
    """RFC 7208 §4.5: the TXT strings that are SPF records ("v=spf1" alone or then a space)."""
    return [r for r in txt if r.lower() == "v=spf1" or r.lower().startswith("v=spf1 ")]


def parse_spf(record: str) -> SpfRecord:
    """Parse one SPF record; syntax problems are collected, not raised."""
    parts = record.split()
    errors: list[str] = []
    if not parts or parts[0].lower() != "v=spf1":
        return SpfRecord((), None, ("the record does not start with v=spf1",))
    terms: list[SpfTerm] = []
    redirect: str | None = None
    seen_modifiers: set[str] = set()
    for part in parts[1:]:
        term = _TERM.match(part)
        if term is not None:
            parsed = _parse_term(term, errors)
            if parsed is not None:
                terms.append(parsed)
            continue
        modifier = _MODIFIER.match(part)
        if modifier is not None:
            name, value = modifier["name"].lower(), modifier["value"]
            if name in ("redirect", "exp"):
                if name in seen_modifiers:
                    errors.append(f"{name}= appears more than once")
                seen_modifiers.add(name)
                if not value or not _DOMAIN_SPEC.match(value):
                    errors.append(f"{part!r}: {name}= needs a domain")
                elif name == "redirect":
                    redirect = norm(value)
            continue
        errors.append(f"unknown term {part!r}")
    return SpfRecord(tuple(terms), redirect, tuple(errors))


def _parse_term(match: re.Match[str], errors: list[str]) -> SpfTerm | None:
    mech = match["mech"].lower()
    arg = match["arg"]
    cidr = match["cidr"] or ""
    raw = match.group(0)
    qualifier = _QUALIFIERS.get(match["q"] or "+", "pass")
    if mech in ("include", "exists", "ip4", "ip6") and not arg:
        errors.append(f"{raw!r}: {mech} needs an argument")
        return None
    if mech == "all" and (arg is not None or cidr):
        errors.append(f"{raw!r}: all takes no argument")
        return None
    cidr4 = cidr6 = None
    if cidr:
        four, _, six = cidr.lstrip("/").partition("//")
        if cidr.startswith("//"):
            four, six = "", cidr[2:]
        elif mech == "ip6":
            four, six = "", four  # ip6 takes one prefix length: the IPv6 one
        try:
            cidr4 = int(four) if four else None
            cidr6 = int(six) if six else None
        except ValueError:
            errors.append(f"{raw!r}: bad prefix length")
            return None
        if (cidr4 is not None and cidr4 > 32) or (cidr6 is not None and cidr6 > 128):
            errors.append(f"{raw!r}: prefix length out of range")
            return None
    if mech in ("ip4", "ip6"):
        text = arg + (f"/{cidr4 if mech == 'ip4' else cidr6}" if cidr else "")
        try:
            net = ipaddress.ip_network(text, strict=False)
        except ValueError:
            errors.append(f"{raw!r}: not a valid {mech} address")
            return None
        if net.version != (4 if mech == "ip4" else 6):
            errors.append(f"{raw!r}: not an IPv{4 if mech == 'ip4' else 6} address")
            return None
    elif arg and not _DOMAIN_SPEC.match(arg):
        errors.append(f"{raw!r}: not a domain")
        return None
    return SpfTerm(qualifier, mech, arg or "", cidr4, cidr6)


def spf_fetch_plan(domain: str, record: SpfRecord) -> tuple[list[str], list[str], list[str]]:
    """What to look up next for `record` (published at `domain`): TXT names (include,
    redirect), address names (a) and MX names (mx). Macro names (%{...}) are skipped:
    they depend on the sender and the connecting IP."""
    txt: list[str] = []
    addresses: list[str] = []
    mx: list[str] = []
    for term in record.terms:
        target = norm(term.argument) if term.argument else domain
        if "%" in target:
            continue
        if term.mechanism == "include":
            txt.append(target)
        elif term.mechanism == "a":
            addresses.append(target)
        elif term.mechanism == "mx":
            mx.append(target)
    if record.redirect and "%" not in record.redirect:
        txt.append(record.redirect)
    return txt, addresses, mx


def _spf_at(world: DnsWorld, name: str) -> tuple[SpfRecord | None, str | None, bool]:
    """The SPF record at `name`: (record, problem, unknown)."""
    answer = world.get((name, "TXT"))
    if answer is None:
        return None, f"{name}: not looked up (too many names)", True
    if answer.status is AnswerStatus.ERROR:
        return None, f"{name}: TXT lookup failed ({answer.detail})", True
    found = spf_records(answer.values)
    if not found:
        return None, f"{name} has no SPF record", False
    if len(found) > 1:
        return None, f"{name} has {len(found)} SPF records (exactly one is allowed)", False
    return parse_spf(found[0]), None, False


@dataclass
class _Walk:
    lookups: int = 0
    problems: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    loops: set[str] = field(default_factory=set)


def _count_lookups(
    world: DnsWorld, name: str, record: SpfRecord, walk: _Walk, path: tuple[str, ...]
) -> None:
    walk.lookups += record.lookups
    txt, _, _ = spf_fetch_plan(name, record)
    for target in txt:
        if target in path:
            walk.loops.add(target)
            walk.problems.append(f"SPF loop: {' → '.join((*path, target))}")
            continue
        nested, problem, unknown = _spf_at(world, target)
        if nested is None:
            (walk.unknown if unknown else walk.problems).append(
                f"included {problem}" if problem else f"{target}: no record"
            )
            continue
        if nested.errors:
            walk.problems.extend(f"{target}: {e}" for e in nested.errors)
        _count_lookups(world, target, nested, walk, (*path, target))


Match = Literal["match", "no", "unknown"]


def _addresses(world: DnsWorld, name: str) -> tuple[list[str], bool]:
    found: list[str] = []
    unknown = False
    for rdtype in ("A", "AAAA"):
        answer = world.get((name, rdtype))
        if answer is None or answer.status is AnswerStatus.ERROR:
            unknown = True
        else:
            found.extend(answer.values)
    return found, unknown


def _in(ip: str, candidates: Iterable[str], cidr4: int | None, cidr6: int | None) -> bool:
    address = ipaddress.ip_address(ip)
    for text in candidates:
        try:
            candidate = ipaddress.ip_address(text)
        except ValueError:
            continue
        if candidate.version != address.version:
            continue
        prefix = (cidr4 if candidate.version == 4 else cidr6) or candidate.max_prefixlen
        if address in ipaddress.ip_network(f"{candidate}/{prefix}", strict=False):
            return True
    return False


def _term_matches(world: DnsWorld, name: str, term: SpfTerm, ip: str, depth: int) -> Match:
    target = norm(term.argument) if term.argument else name
    mech = term.mechanism
    if mech == "all":
        return "match"
    if mech in ("ip4", "ip6"):
        bits = term.cidr4 if mech == "ip4" else term.cidr6
        net = ipaddress.ip_network(
            term.argument + (f"/{bits}" if bits is not None else ""), strict=False
        )
        address = ipaddress.ip_address(ip)
        return "match" if address.version == net.version and address in net else "no"
    if "%" in target or mech in ("ptr", "exists"):
        return "unknown"  # needs the connecting client's details: not decidable here
    if mech == "a":
        found, unknown = _addresses(world, target)
        if _in(ip, found, term.cidr4, term.cidr6):
            return "match"
        return "unknown" if unknown else "no"
    if mech == "mx":
        answer = world.get((target, "MX"))
        if answer is None or answer.status is AnswerStatus.ERROR:
            return "unknown"
        unknown = False
        for host in answer.values:
            found, missing = _addresses(world, norm(host))
            unknown = unknown or missing
            if _in(ip, found, term.cidr4, term.cidr6):
                return "match"
        return "unknown" if unknown else "no"
    # include: matches when the included record passes the address.
    result = _check_host(world, target, ip, depth + 1)
    if result == "pass":
        return "match"
    return "unknown" if result == "unknown" else "no"


def _check_host(world: DnsWorld, name: str, ip: str, depth: int) -> str:
    """A reduced RFC 7208 check_host() over the fetched answers: pass, fail, softfail,
    neutral, none (no record) or unknown (a term that cannot be decided here)."""
    if depth > SPF_LOOKUP_LIMIT:
        return "unknown"
    record, _, unknown = _spf_at(world, name)
    if record is None:
        return "unknown" if unknown else "none"
    uncertain = False
    for term in record.terms:
        matched = _term_matches(world, name, term, ip, depth)
        if matched == "unknown":
            uncertain = True
        elif matched == "match":
            # A match after an undecidable term may not be what a receiver sees.
            return "unknown" if uncertain and term.qualifier != "pass" else term.qualifier
    if record.redirect:
        return _check_host(world, record.redirect, ip, depth + 1)
    return "unknown" if uncertain else "neutral"


def evaluate_spf(domain: str, world: DnsWorld, sending_ips: Sequence[str] = ()) -> CheckResult:
    """One record, valid syntax, at most 10 lookups across includes and redirects, an
    ending that refuses strangers (-all or ~all), and the sending IPs authorised."""
    domain = norm(domain)
    answer = world.get((domain, "TXT"), Answer(AnswerStatus.ERROR, detail="not looked up"))
    if answer.status is AnswerStatus.ERROR:
        return CheckResult("spf", CheckStatus.UNKNOWN, f"TXT lookup failed: {answer.detail}")
    found = spf_records(answer.values)
    if not found:
        return CheckResult(
            "spf", CheckStatus.MISSING, "no SPF record", problems=(f"{domain} has no SPF record",)
        )
    if len(found) > 1:
        return CheckResult(
            "spf",
            CheckStatus.FAIL,
            f"{len(found)} SPF records",
            problems=(f"{len(found)} SPF records published: receivers treat that as an error",),
            facts={"records": found},
        )
    record_text = found[0]
    record = parse_spf(record_text)
    facts: dict[str, Any] = {"record": record_text}
    if record.errors:
        return CheckResult(
            "spf",
            CheckStatus.FAIL,
            "syntax error",
            problems=tuple(f"syntax: {e}" for e in record.errors),
            facts=facts,
        )
    walk = _Walk()
    _count_lookups(world, domain, record, walk, (domain,))
    facts["lookups"] = walk.lookups
    problems = list(walk.problems)
    warnings: list[str] = []
    if walk.lookups > SPF_LOOKUP_LIMIT:
        problems.append(
            f"{walk.lookups} DNS lookups (the limit is {SPF_LOOKUP_LIMIT}): receivers fail SPF"
        )
    all_term = record.all_term
    ending = None
    if all_term is not None:
        ending = {"pass": "+all", "fail": "-all", "softfail": "~all", "neutral": "?all"}[
            all_term.qualifier
        ]
    facts["all"] = ending
    if ending == "+all":
        problems.append("+all lets anyone send as this domain")
    elif ending == "?all" or (ending is None and record.redirect is None):
        warnings.append(f"ends with {ending or 'no all'}: use -all or ~all")
    authorised: dict[str, str] = {}
    for ip in sending_ips:
        result = _check_host(world, domain, ip, 0)
        authorised[ip] = result
        if result in ("fail", "softfail", "neutral", "none"):
            problems.append(f"sending IP {ip} is not authorised (SPF {result})")
    if authorised:
        facts["sending_ips"] = authorised
    elif not sending_ips:
        warnings.append("no sending IPs known: whether SPF covers the sending host is unchecked")
    if problems:
        status = CheckStatus.FAIL
    elif walk.unknown or any(r == "unknown" for r in authorised.values()):
        status = CheckStatus.UNKNOWN
        warnings.extend(walk.unknown)
    elif warnings:
        status = CheckStatus.WARNING
    else:
        status = CheckStatus.OK
    summary = f"{ending or 'no all'}, {walk.lookups}/{SPF_LOOKUP_LIMIT} lookups"
    return CheckResult("spf", status, summary, tuple(problems), tuple(warnings), facts)
