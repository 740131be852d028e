"""The benchmark world of bench/verify.py: domains, MX hosts, an address list and its truth.

Everything is generated from a seed, so both tools and every round see the same list. The
truth per address is what a perfect verifier would answer in this world:

* normal / greylisting / one-RCPT-per-session hosts: VALID for a mailbox the host knows,
  MAILBOX_NOT_FOUND otherwise (greylisting lets a retry on a fresh connection through, so the
  truth is the answer behind the 451);
* catch-all hosts: CATCH_ALL; disposable domains: DISPOSABLE; domains that do not exist:
  NO_MX; malformed addresses: INVALID_SYNTAX.

Domain names look like real ones (``.com``, ``.io``): email-validator refuses special-use
names such as ``.test``, and the whole run happens inside a network namespace that only has
``lo``, so no name can leak to a real resolver or server.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.servers.dns import Zone
from tests.servers.probe_world import Behaviour, HostSpec, ProbeWorld, loopback_address

#: Disposable domains that both disposable-email-domains and py3-validate-email's own list
#: carry (checked at run time), so neither tool is marked wrong for a list it lacks.
DISPOSABLE_CANDIDATES = (
    "mailinator.com", "yopmail.com", "guerrillamail.com", "10minutemail.com", "trashmail.com",
    "sharklasers.com", "getnada.com", "temp-mail.org", "dispostable.com", "maildrop.cc",
)  # fmt: skip

FIRST = [
    "anna",
    "ben",
    "carla",
    "david",
    "elena",
    "farid",
    "grace",
    "hugo",
    "irene",
    "jonas",
    "karin",
    "liam",
    "maria",
    "noah",
]
LAST = [
    "meyer",
    "smith",
    "garcia",
    "rossi",
    "novak",
    "berg",
    "khan",
    "silva",
    "dubois",
    "weber",
    "ito",
    "larsen",
    "costa",
]
WORDS = [
    "north",
    "bright",
    "apex",
    "blue",
    "cedar",
    "delta",
    "ember",
    "forge",
    "granite",
    "harbor",
    "iron",
    "juniper",
    "kite",
]
NOUNS = [
    "works",
    "labs",
    "logistics",
    "systems",
    "partners",
    "foods",
    "health",
    "media",
    "energy",
    "capital",
    "tools",
]
TLDS = ("com", "io", "net", "de", "co", "org")

# Share of the list per kind of address (the rest is on ordinary hosts).
SHARE = {
    "syntax": 0.02,
    "disposable": 0.02,
    "no_mx": 0.02,
    "catch_all": 0.08,
    "greylist": 0.05,
    "one_rcpt_per_session": 0.005,  # rare in practice, and one session per address
}
# Domains per kind, out of 300 (scaled for other domain counts).
DOMAINS = {"disposable": 8, "no_mx": 8, "catch_all": 24, "greylist": 15, "one_rcpt_per_session": 6}
VALID_SHARE = 0.7  # of the addresses at real mailbox hosts, the rest are unknown mailboxes

LAYOUTS = ("mixed", "own")


@dataclass
class Scenario:
    hosts: list[HostSpec]
    domains: dict[str, list[str]]
    """Domain → MX host names (domains that exist and receive mail)."""
    nxdomains: set[str]
    disposable: list[str]
    addresses: list[str]
    truth: dict[str, str]
    layout: str
    domain_kind: dict[str, str] = field(default_factory=dict)

    def world(self, port: int) -> ProbeWorld:
        return ProbeWorld(self.hosts, port=port, domains=self.domains)

    def zone(self) -> Zone:
        zone = ProbeWorld(self.hosts, domains=self.domains).zone()
        zone.nxdomain |= self.nxdomains
        return zone

    def describe(self) -> list[str]:
        kinds = Counter(self.truth.values())
        sharing = Counter(len(v) for v in self._domains_per_host().values())
        hosts_line = ", ".join(
            f"{n} host(s) with {k} domain(s)" for k, n in sorted(sharing.items())
        )
        return [
            f"addresses: {len(self.addresses)} over {len(self.domain_kind)} domains "
            f"({len(self.domains)} with MX, {len(self.nxdomains)} nonexistent, "
            f"{len(self.disposable)} disposable)",
            f"MX layout ({self.layout}): {len(self.hosts)} MX hosts: {hosts_line}",
            "truth: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())),
        ]

    def _domains_per_host(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for domain, names in self.domains.items():
            out.setdefault(names[0], []).append(domain)
        return out


def _domain_names(rng: random.Random, count: int) -> Iterator[str]:
    seen: set[str] = set()
    while len(seen) < count:
        name = f"{rng.choice(WORDS)}{rng.choice(NOUNS)}{rng.randint(1, 999)}.{rng.choice(TLDS)}"
        if name not in seen:
            seen.add(name)
            yield name


def available_disposable() -> list[str]:
    """The candidates that both tools' disposable lists contain."""
    from disposable_email_domains import blocklist

    try:
        import validate_email

        peer_file = Path(validate_email.__file__).parent / "data" / "blacklist.txt"
        peer = {line.strip() for line in peer_file.read_text().splitlines()}
    except ImportError:  # the peer is not installed: our list alone decides
        peer = set(blocklist)
    return [d for d in DISPOSABLE_CANDIDATES if d in blocklist and d in peer]


def build_scenario(
    count: int = 10_000,
    domain_count: int = 300,
    *,
    seed: int = 5,
    reply_delay: float = 0.04,
    layout: str = "mixed",
) -> Scenario:
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}")
    rng = random.Random(seed)
    scale = domain_count / 300
    per_kind = {k: max(1, round(v * scale)) for k, v in DOMAINS.items()}
    disposable = available_disposable()[: per_kind["disposable"]]
    per_kind["disposable"] = len(disposable)
    per_kind["normal"] = domain_count - sum(per_kind.values())
    names = iter(_domain_names(rng, domain_count))
    by_kind: dict[str, list[str]] = {
        kind: [next(names) for _ in range(n)]
        for kind, n in per_kind.items()
        if kind != "disposable"
    }
    by_kind["disposable"] = disposable

    hosts: list[HostSpec] = []
    domains: dict[str, list[str]] = {}

    def new_host(behaviour: Behaviour, provider: str) -> HostSpec:
        index = len(hosts)
        spec = HostSpec(
            name=f"mx{index}.{provider}",
            address=loopback_address(index),
            behaviour=behaviour,
            reply_delay=reply_delay,
        )
        hosts.append(spec)
        return spec

    for kind in ("catch_all", "greylist", "one_rcpt_per_session"):
        for domain in by_kind[kind]:
            domains[domain] = [new_host(kind, f"mail.{domain}").name]  # type: ignore[arg-type]
    normal = by_kind["normal"]
    shared = normal[: (len(normal) // 2 // 3) * 3] if layout == "mixed" else []
    for start in range(0, len(shared), 3):
        # A small hosting provider: three customers' domains on one MX host.
        spec = new_host("normal", f"hosting{start // 3}.net")
        for domain in shared[start : start + 3]:
            domains[domain] = [spec.name]
    for domain in normal[len(shared) :]:
        domains[domain] = [new_host("normal", f"mail.{domain}").name]
    host_by_name = {h.name: h for h in hosts}

    used: set[str] = set()

    def local_part() -> str:
        while True:
            first, last = rng.choice(FIRST), rng.choice(LAST)
            style = rng.randrange(4)
            local = (f"{first}.{last}", f"{first[0]}{last}", f"{first}", f"{first}_{last}")[style]
            if rng.random() < 0.5:
                local += str(rng.randint(1, 99))
            if local not in used:
                used.add(local)
                return local

    truth: dict[str, str] = {}
    addresses: list[str] = []

    def add(address: str, status: str) -> None:
        if address in truth:
            return
        truth[address] = status
        addresses.append(address)

    def mailbox_address(domain: str) -> None:
        address = f"{local_part()}@{domain}"
        spec = host_by_name[domains[domain][0]]
        if spec.behaviour == "catch_all":
            add(address, "CATCH_ALL")
        elif rng.random() < VALID_SHARE:
            spec.mailboxes.add(address)
            add(address, "VALID")
        else:
            add(address, "MAILBOX_NOT_FOUND")

    targets = {kind: round(count * share) for kind, share in SHARE.items()}
    for kind in ("catch_all", "greylist", "one_rcpt_per_session"):
        for i in range(targets[kind]):
            mailbox_address(by_kind[kind][i % len(by_kind[kind])])
    for i in range(targets["disposable"]):
        add(f"{local_part()}@{disposable[i % len(disposable)]}", "DISPOSABLE")
    for i in range(targets["no_mx"]):
        add(f"{local_part()}@{by_kind['no_mx'][i % len(by_kind['no_mx'])]}", "NO_MX")
    all_domains = [d for kind in by_kind.values() for d in kind]
    for _ in range(targets["syntax"]):
        local, domain = local_part(), rng.choice(all_domains)
        bad = (
            f"{local}..x@{domain}",  # consecutive dots
            f"{local}.{domain}",  # no @
            f".{local}@{domain}",  # leading dot
            f"{local}@{domain.split('.')[0]}",  # no top-level domain
            f"{local}@@{domain}",
        )[rng.randrange(5)]
        add(bad, "INVALID_SYNTAX")
    # Ordinary hosts get the rest, some domains up to four times as many as others.
    weights = [rng.uniform(0.5, 2.0) for _ in normal]
    while len(addresses) < count:
        mailbox_address(rng.choices(normal, weights)[0])
    rng.shuffle(addresses)

    domain_kind = {d: kind for kind, ds in by_kind.items() for d in ds}
    return Scenario(
        hosts=hosts,
        domains=domains,
        nxdomains=set(by_kind["no_mx"]),
        disposable=disposable,
        addresses=addresses,
        truth=truth,
        layout=layout,
        domain_kind=domain_kind,
    )


def peer_answer_is_right(truth: str, answer: bool | None) -> bool:
    """py3-validate-email says True / False / None (ambiguous). It cannot tell a catch-all
    host from a real mailbox, so True counts as right there (lenient to the peer)."""
    if truth in ("VALID", "CATCH_ALL"):
        return answer is True
    return answer is False


def subset(addresses: list[str], size: int) -> list[str]:
    """Every k-th address: the same mix as the whole (shuffled) list."""
    if size >= len(addresses):
        return list(addresses)
    step = len(addresses) / size
    return [addresses[int(i * step)] for i in range(size)]


def generated_addresses(count: int, domains: list[str], seed: int = 11) -> Iterator[str]:
    """``count`` distinct, well-formed addresses over ``domains`` (for the --no-smtp run)."""
    rng = random.Random(seed)
    for i in range(count):
        yield f"{rng.choice(FIRST)}.{rng.choice(LAST)}{i}@{domains[i % len(domains)]}"
