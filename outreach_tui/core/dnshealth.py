"""DNS health of a sending domain, evaluated from DNS answers: MX, SPF, DKIM, DMARC, DNSBL.

Pure: the lookups happen in `outreach_tui.mail.dnshealth`, which hands over a `DnsWorld`
(every answer it got, keyed by name and type). Keeping the rules here means they are tested
on record strings alone, and "we could not find out" (SERVFAIL, timeout) stays apart from
"the record is not there" all the way to the database.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

#: RFC 7208 §4.6.4: evaluating a record may cost at most 10 DNS-querying terms.
SPF_LOOKUP_LIMIT = 10
SPF_LOOKUP_TERMS = frozenset({"include", "a", "mx", "ptr", "exists", "redirect"})


class AnswerStatus(StrEnum):
    OK = "ok"
    NXDOMAIN = "nxdomain"
    NODATA = "nodata"
    ERROR = "error"
    """SERVFAIL, timeout, refused: the name's state is unknown, never "missing"."""


@dataclass(frozen=True)
class Answer:
    """One DNS lookup's outcome: TXT strings joined, addresses as text, MX as hosts."""

    status: AnswerStatus
    values: tuple[str, ...] = ()
    detail: str = ""

    @property
    def absent(self) -> bool:
        return self.status in (AnswerStatus.NXDOMAIN, AnswerStatus.NODATA)


DnsWorld = Mapping[tuple[str, str], Answer]
"""(lower-case name without trailing dot, record type) → answer."""


class CheckStatus(StrEnum):
    OK = "ok"
    WARNING = "warning"
    """Valid, but weaker than it should be (DMARC p=none, SPF ?all, no rua)."""
    FAIL = "fail"
    MISSING = "missing"
    UNKNOWN = "unknown"
    """The DNS did not answer (SERVFAIL, timeout): say so, do not guess."""

    @property
    def healthy(self) -> bool | None:
        if self is CheckStatus.UNKNOWN:
            return None
        return self in (CheckStatus.OK, CheckStatus.WARNING)


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: CheckStatus
    summary: str
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    facts: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status.value,
            "summary": self.summary,
            "problems": list(self.problems),
            "warnings": list(self.warnings),
            **self.facts,
        }


def norm(name: str) -> str:
    return name.strip().rstrip(".").lower()


def _worst(statuses: Iterable[CheckStatus]) -> CheckStatus:
    order = [
        CheckStatus.MISSING,
        CheckStatus.FAIL,
        CheckStatus.UNKNOWN,
        CheckStatus.WARNING,
        CheckStatus.OK,
    ]
    present = set(statuses)
    return next((s for s in order if s in present), CheckStatus.OK)


# ---------------------------------------------------------------- MX


def evaluate_mx(domain: str, answer: Answer) -> CheckResult:
    """Replies and bounces need somewhere to go: a sending domain without MX is broken."""
    if answer.status is AnswerStatus.ERROR:
        return CheckResult("mx", CheckStatus.UNKNOWN, f"MX lookup failed: {answer.detail}")
    hosts = [h for h in answer.values if norm(h)]
    if answer.absent or not hosts:
        return CheckResult(
            "mx", CheckStatus.MISSING, "no MX record", problems=(f"{domain} has no MX record",)
        )
    return CheckResult("mx", CheckStatus.OK, ", ".join(hosts), facts={"hosts": hosts})


# ---------------------------------------------------------------- SPF

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


# ---------------------------------------------------------------- tag lists (DKIM, DMARC)


def parse_tags(record: str) -> tuple[dict[str, str], list[str]]:
    """``"v=DKIM1; k=rsa; p=MIGf..."`` → tags (names lower-cased) and problems."""
    tags: dict[str, str] = {}
    problems: list[str] = []
    for part in record.split(";"):
        part = part.strip()
        if not part:
            continue
        name, eq, value = part.partition("=")
        name = name.strip().lower()
        if not eq or not name:
            problems.append(f"{part!r} is not tag=value")
            continue
        if name in tags:
            problems.append(f"tag {name} appears twice")
        tags[name] = value.strip()
    return tags, problems


# ---------------------------------------------------------------- DKIM


def dkim_name(selector: str, domain: str) -> str:
    return f"{norm(selector)}._domainkey.{norm(domain)}"


def evaluate_dkim(selector: str, answer: Answer) -> CheckResult:
    """``<selector>._domainkey.<domain>``: v=DKIM1 and a non-empty base64 p= key."""
    name = f"dkim:{selector}"
    if answer.status is AnswerStatus.ERROR:
        return CheckResult(
            name,
            CheckStatus.UNKNOWN,
            f"lookup failed: {answer.detail}",
            facts={"selector": selector},
        )
    records = [r for r in answer.values if "p=" in r.replace(" ", "") or "v=dkim1" in r.lower()]
    if answer.absent or not records:
        return CheckResult(
            name,
            CheckStatus.MISSING,
            "no DKIM key",
            problems=(f"selector {selector}: no key",),
            facts={"selector": selector},
        )
    if len(records) > 1:
        return CheckResult(
            name,
            CheckStatus.FAIL,
            f"{len(records)} keys",
            problems=(f"selector {selector}: {len(records)} key records (one expected)",),
            facts={"selector": selector},
        )
    tags, problems = parse_tags(records[0])
    warnings: list[str] = []
    version = tags.get("v")
    if version is None:
        warnings.append("no v=DKIM1 tag")
    elif version != "DKIM1":
        problems.append(f"v={version} (expected DKIM1)")
    key_type = tags.get("k", "rsa").lower()
    if key_type not in ("rsa", "ed25519"):
        problems.append(f"unknown key type k={key_type}")
    if "p" not in tags:
        problems.append("no p= key")
    else:
        key = re.sub(r"\s+", "", tags["p"])
        if not key:
            problems.append("empty p= (the key was revoked)")
        else:
            try:
                base64.b64decode(key, validate=True)
            except (binascii.Error, ValueError):
                problems.append("p= is not valid base64")
    facts = {"selector": selector, "key_type": key_type}
    if problems:
        return CheckResult(name, CheckStatus.FAIL, "; ".join(problems), tuple(problems), (), facts)
    status = CheckStatus.WARNING if warnings else CheckStatus.OK
    return CheckResult(name, status, f"{key_type} key", (), tuple(warnings), facts)


# ---------------------------------------------------------------- DMARC

_POLICIES = ("none", "quarantine", "reject")


def evaluate_dmarc(domain: str, answer: Answer) -> CheckResult:
    """``_dmarc.<domain>``: one record, a policy, alignment modes, aggregate reports."""
    if answer.status is AnswerStatus.ERROR:
        return CheckResult("dmarc", CheckStatus.UNKNOWN, f"lookup failed: {answer.detail}")
    records = [r for r in answer.values if r.replace(" ", "").lower().startswith("v=dmarc1")]
    if answer.absent or not records:
        return CheckResult(
            "dmarc",
            CheckStatus.MISSING,
            "no DMARC record",
            problems=(f"_dmarc.{norm(domain)} has no DMARC record",),
        )
    if len(records) > 1:
        return CheckResult(
            "dmarc",
            CheckStatus.FAIL,
            f"{len(records)} DMARC records",
            problems=(f"{len(records)} DMARC records: receivers ignore DMARC altogether",),
        )
    tags, problems = parse_tags(records[0])
    warnings: list[str] = []
    if tags.get("v") != "DMARC1":
        problems.append("the first tag must be v=DMARC1")
    policy = tags.get("p", "").lower() or None
    if policy is None:
        problems.append("no p= policy")
    elif policy not in _POLICIES:
        problems.append(f"p={policy} is not none, quarantine or reject")
    sub = tags.get("sp")
    if sub is not None and sub.lower() not in _POLICIES:
        problems.append(f"sp={sub} is not none, quarantine or reject")
    alignment = {}
    for tag in ("adkim", "aspf"):
        mode = tags.get(tag, "r").lower()
        if mode not in ("r", "s"):
            problems.append(f"{tag}={mode} is not r or s")
        alignment[tag] = "strict" if mode == "s" else "relaxed"
    pct = tags.get("pct", "100")
    if not pct.isdigit() or not 0 <= int(pct) <= 100:
        problems.append(f"pct={pct} is not 0-100")
    elif int(pct) < 100:
        warnings.append(f"pct={pct}: the policy applies to part of the mail only")
    rua = [u.strip() for u in tags.get("rua", "").split(",") if u.strip()]
    bad_rua = [u for u in rua if not u.lower().startswith(("mailto:", "https:"))]
    if bad_rua:
        problems.append(f"rua: {', '.join(bad_rua)} is not a mailto: or https: URI")
    if not rua:
        warnings.append("no rua=: nobody receives the aggregate reports")
    if policy == "none":
        warnings.append("p=none: receivers take no action on failing mail (monitoring only)")
    facts = {"record": records[0], "policy": policy, **alignment, "rua": rua, "pct": pct}
    if problems:
        return CheckResult(
            "dmarc", CheckStatus.FAIL, "; ".join(problems), tuple(problems), tuple(warnings), facts
        )
    status = CheckStatus.WARNING if warnings else CheckStatus.OK
    summary = f"p={policy}, adkim={alignment['adkim']}, aspf={alignment['aspf']}"
    return CheckResult("dmarc", status, summary, (), tuple(warnings), facts)


# ---------------------------------------------------------------- DNSBL


def dnsbl_name_for_ip(ip: str, zone: str) -> str:
    """``192.0.2.7`` → ``7.2.0.192.<zone>``; IPv6 by reversed nibbles."""
    address = ipaddress.ip_address(ip)
    if address.version == 4:
        return ".".join(reversed(str(address).split("."))) + "." + norm(zone)
    nibbles = address.exploded.replace(":", "")
    return ".".join(reversed(nibbles)) + "." + norm(zone)


def dnsbl_name_for_domain(domain: str, zone: str) -> str:
    return f"{norm(domain)}.{norm(zone)}"


def evaluate_dnsbl(target: str, zone: str, answer: Answer) -> CheckResult:
    """A 127.0.0.x answer means listed, NXDOMAIN means not listed; anything else (a
    timeout, a 127.255.255.x "you may not query" code, a hijacked answer) is unknown."""
    name = f"blocklist:{norm(zone)}:{target}"
    facts = {"zone": norm(zone), "target": target}
    if answer.status is AnswerStatus.ERROR:
        return CheckResult(
            name, CheckStatus.UNKNOWN, f"lookup failed: {answer.detail}", facts=facts
        )
    if answer.absent:
        return CheckResult(name, CheckStatus.OK, "not listed", facts={**facts, "listed": False})
    codes: list[str] = []
    for value in answer.values:
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            continue
        if (
            address.version == 4
            and value.startswith("127.")
            and not value.startswith("127.255.255.")
        ):
            codes.append(value)
    if not codes:
        return CheckResult(
            name,
            CheckStatus.UNKNOWN,
            f"unexpected answer {', '.join(answer.values)}",
            facts=facts,
        )
    return CheckResult(
        name,
        CheckStatus.FAIL,
        f"LISTED ({', '.join(codes)})",
        problems=(f"{target} is listed on {norm(zone)} ({', '.join(codes)})",),
        facts={**facts, "listed": True, "codes": codes},
    )


# ---------------------------------------------------------------- the whole domain


@dataclass(frozen=True)
class DomainHealth:
    domain: str
    mx: CheckResult
    spf: CheckResult
    dkim: tuple[CheckResult, ...]
    dmarc: CheckResult
    blocklists: tuple[CheckResult, ...]

    @property
    def spf_ok(self) -> bool | None:
        return self.spf.status.healthy

    @property
    def dkim_ok(self) -> bool | None:
        """Every configured selector has a valid key; None when none is configured or a
        lookup failed without any definite failure."""
        if not self.dkim:
            return None
        return _worst(r.status for r in self.dkim).healthy

    @property
    def dmarc_ok(self) -> bool | None:
        return self.dmarc.status.healthy

    @property
    def blocklisted(self) -> bool | None:
        statuses = [r.status for r in self.blocklists]
        if CheckStatus.FAIL in statuses:
            return True
        if CheckStatus.UNKNOWN in statuses:
            return None
        return False

    @property
    def healthy(self) -> bool:
        """What the recovery pipeline waits for: SPF, DKIM, DMARC valid, not listed."""
        return bool(self.spf_ok and self.dkim_ok and self.dmarc_ok and self.blocklisted is False)

    @property
    def broken(self) -> bool:
        """Something definitely wrong (the CLI's non-zero exit)."""
        return any(r.status in (CheckStatus.FAIL, CheckStatus.MISSING) for r in self.results())

    def results(self) -> list[CheckResult]:
        return [self.mx, self.spf, *self.dkim, self.dmarc, *self.blocklists]

    def flags(self) -> dict[str, bool | None]:
        return {
            "spf_ok": self.spf_ok,
            "dkim_ok": self.dkim_ok,
            "dmarc_ok": self.dmarc_ok,
            "blocklisted": self.blocklisted,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            **self.flags(),
            "healthy": self.healthy,
            "broken": self.broken,
            "mx": self.mx.as_dict(),
            "spf": self.spf.as_dict(),
            "dkim": [r.as_dict() for r in self.dkim],
            "dmarc": self.dmarc.as_dict(),
            "blocklists": [r.as_dict() for r in self.blocklists],
        }


def no_dkim_selectors() -> CheckResult:
    return CheckResult(
        "dkim",
        CheckStatus.UNKNOWN,
        "no DKIM selectors configured ([dns] dkim_selectors)",
    )


@dataclass(frozen=True)
class Finding:
    """Something to tell the operator about: an alert's severity, key and words."""

    severity: Literal["critical", "warning", "info"]
    key: str
    title: str


def findings(health: DomainHealth) -> list[Finding]:
    """Critical: listed, SPF missing or broken. Warning: DKIM, DMARC (p=none too), MX.
    Info: a check that could not be completed."""
    d = health.domain
    out: list[Finding] = []
    for result in health.blocklists:
        if result.status is CheckStatus.FAIL:
            out.append(Finding("critical", f"dns:{d}:{result.name}", f"{d}: {result.problems[0]}"))
    if health.spf.status is CheckStatus.MISSING:
        out.append(Finding("critical", f"dns:{d}:spf", f"{d}: no SPF record"))
    elif health.spf.status is CheckStatus.FAIL:
        out.append(
            Finding("critical", f"dns:{d}:spf", f"{d}: SPF broken: {health.spf.problems[0]}")
        )
    for result in health.dkim:
        if result.status in (CheckStatus.FAIL, CheckStatus.MISSING):
            out.append(
                Finding(
                    "warning",
                    f"dns:{d}:{result.name}",
                    f"{d}: DKIM {result.summary} ({result.name})",
                )
            )
    if health.dmarc.status in (CheckStatus.FAIL, CheckStatus.MISSING):
        out.append(Finding("warning", f"dns:{d}:dmarc", f"{d}: DMARC {health.dmarc.summary}"))
    elif health.dmarc.facts.get("policy") == "none":
        out.append(
            Finding("warning", f"dns:{d}:dmarc-none", f"{d}: DMARC p=none (monitoring only)")
        )
    if health.mx.status is CheckStatus.MISSING:
        out.append(
            Finding("warning", f"dns:{d}:mx", f"{d}: no MX record (replies and bounces are lost)")
        )
    unknown = [
        r.name for r in health.results() if r.status is CheckStatus.UNKNOWN and r.name != "dkim"
    ]
    if unknown:
        out.append(
            Finding("info", f"dns:{d}:unknown", f"{d}: DNS check incomplete ({', '.join(unknown)})")
        )
    return out


_LABELS = {"spf_ok": "SPF", "dkim_ok": "DKIM", "dmarc_ok": "DMARC"}


def describe_changes(
    domain: str, before: Mapping[str, bool | None], health: DomainHealth
) -> list[str]:
    """Definite transitions since the last check, in words ("DMARC record disappeared").
    A check that could not complete (None) is not a change."""
    changes: list[str] = []
    after = health.flags()
    for key, label in _LABELS.items():
        old, new = before.get(key), after[key]
        if old is None or new is None or old == new:
            continue
        if new:
            changes.append(f"{domain}: {label} is valid again")
            continue
        result = {"spf_ok": health.spf, "dmarc_ok": health.dmarc}.get(key)
        if result is not None and result.status is CheckStatus.MISSING:
            changes.append(f"{domain}: {label} record disappeared")
        else:
            changes.append(f"{domain}: {label} became invalid")
    old_listed, new_listed = before.get("blocklisted"), after["blocklisted"]
    if old_listed is not None and new_listed is not None and old_listed != new_listed:
        if new_listed:
            zones = [
                r.facts.get("zone", "") for r in health.blocklists if r.status is CheckStatus.FAIL
            ]
            changes.append(f"{domain}: now listed on {', '.join(zones)}")
        else:
            changes.append(f"{domain}: no longer on any blocklist")
    return changes
