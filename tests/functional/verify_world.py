"""The verification tests' world: MX hosts on loopback (tests/servers/probe_world.py) that
play every behaviour the verifier must read, and a dnslib zone that maps a domain to each,
plus the DNS failures (no MX with an A fallback, null MX, NXDOMAIN, SERVFAIL, silence)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from outreach_tui.config import VerifySettings
from outreach_tui.mail.dns import make_resolver
from tests.servers.dns import DnsServer, Zone
from tests.servers.probe_world import HostSpec, ProbeWorld, loopback_address

#: Per-reply timeout of the probe in these tests: the tarpit costs this (plus QUIT's grace).
TIMEOUT = 1.0
#: The slow host's extra delay before its greeting and its RCPT reply (under TIMEOUT).
SLOW = 0.3

# domain → (host behaviour, HostSpec extras)
HOSTS: dict[str, tuple[str, dict[str, Any]]] = {
    "valid.vworld.net": ("normal", {}),
    "catchall.vworld.net": ("catch_all", {}),
    "grey.vworld.net": ("greylist", {}),
    "policy.vworld.net": ("policy_refusal", {}),
    "tarpit.vworld.net": ("tarpit", {}),
    "drop.vworld.net": ("drop_after_rcpt", {}),
    "dropreply.vworld.net": ("drop_after_rcpt", {"drop_with_reply": True}),
    "busy.vworld.net": ("rate_limit_421", {"rate_limit_at": "greeting"}),
    "busyrcpt.vworld.net": ("rate_limit_421", {"rate_limit_at": "rcpt"}),
    "onercpt.vworld.net": ("one_rcpt_per_session", {}),
    "slow.vworld.net": ("slow", {"slow_seconds": SLOW}),
    "closed.vworld.net": ("closed", {}),
    "xn--bcher-kva.vworld.net": ("normal", {}),
}

MAILBOXES = {
    "ann@valid.vworld.net",
    "ann@grey.vworld.net",
    "ann@dropreply.vworld.net",
    "ann@onercpt.vworld.net",
    "ann@slow.vworld.net",
    "ann@busyrcpt.vworld.net",
    "ann@busy.vworld.net",
    "ann@drop.vworld.net",
    "ann@xn--bcher-kva.vworld.net",
    "bob@implicit.vworld.net",
}

#: address → the status it must get
EXPECTED = {
    "ann@valid.vworld.net": "VALID",
    "nobody@valid.vworld.net": "MAILBOX_NOT_FOUND",
    "ann@catchall.vworld.net": "CATCH_ALL",
    "ann@grey.vworld.net": "VALID",  # greylisted once, let through on the retry
    "ann@policy.vworld.net": "UNKNOWN",
    "ann@tarpit.vworld.net": "TIMEOUT",
    "ann@drop.vworld.net": "UNKNOWN",
    "ann@dropreply.vworld.net": "VALID",
    "ann@busy.vworld.net": "GREYLISTED",
    "ann@busyrcpt.vworld.net": "GREYLISTED",
    "ann@onercpt.vworld.net": "VALID",
    "ann@slow.vworld.net": "VALID",
    "ann@closed.vworld.net": "CONNECTION_REFUSED",
    "bob@implicit.vworld.net": "VALID",
    "ann@nullmx.vworld.net": "NO_MX",
    "ann@nowhere.vworld.net": "NO_MX",
    "ann@servfail.vworld.net": "UNKNOWN",
    "ann@silent.vworld.net": "TIMEOUT",
    "ann@mailinator.com": "DISPOSABLE",
    "ann@throwaway.vworld.net": "DISPOSABLE",
    "not-an-address": "INVALID_SYNTAX",
    "ann@@valid.vworld.net": "INVALID_SYNTAX",
    "ann@bücher.vworld.net": "VALID",
}


@dataclass
class VerifyWorld:
    world: ProbeWorld
    dns: DnsServer

    def settings(self, **extra: Any) -> VerifySettings:
        values: dict[str, Any] = {
            "helo_name": "verifier.example",
            "mail_from": "probe@verifier.example",
            "concurrency": 5,
            "rate_limit_seconds": 0.05,
            "greylist_retry_seconds": 0.3,
            "timeout_seconds": TIMEOUT,
            "probe_port": self.world.port,
            "disposable_domains": ["throwaway.vworld.net"],
            # The world's MX hosts listen on 127.0.10.x: loopback, refused unless allowed.
            "allow_networks": ["127.0.0.0/8"],
        }
        values.update(extra)
        return VerifySettings(**values)

    def resolver(self) -> Any:
        return make_resolver([self.dns.nameserver], timeout=TIMEOUT)

    def host(self, domain: str) -> str:
        return host_name(domain)

    def config_toml(self, **extra: Any) -> str:
        """`[verify]` and `[dns]` sections pointing the CLI at this world."""
        settings = self.settings(**extra)
        lines = ["[verify]"]
        for key, value in settings.model_dump().items():
            if value is None:
                continue
            if isinstance(value, bool):
                lines.append(f"{key} = {'true' if value else 'false'}")
            elif isinstance(value, str):
                lines.append(f'{key} = "{value}"')
            elif isinstance(value, list):
                lines.append(
                    f"{key} = [{', '.join(repr(v).replace(chr(39), chr(34)) for v in value)}]"
                )
            else:
                lines.append(f"{key} = {value}")
        lines += ["[dns]", f'nameservers = ["{self.dns.nameserver}"]']
        return "\n".join(lines) + "\n"


def host_name(domain: str) -> str:
    return f"mx.{domain}"


def build(probe_world: Any, probe_dns: Any, *, reply_delay: float = 0.0) -> VerifyWorld:
    specs = [
        HostSpec(
            host_name(domain),
            loopback_address(index),
            behaviour,  # type: ignore[arg-type]
            mailboxes=set(MAILBOXES),
            reply_delay=reply_delay,
            **extra,
        )
        for index, (domain, (behaviour, extra)) in enumerate(HOSTS.items())
    ]
    world = probe_world(specs, {domain: host_name(domain) for domain in HOSTS})
    zone: Zone = world.zone()
    valid = world.host(host_name("valid.vworld.net"))
    zone.add(f"implicit.vworld.net. 300 IN A {valid.address}")  # no MX: RFC 5321 §5.1 fallback
    zone.add("nullmx.vworld.net. 300 IN MX 0 .")  # RFC 7505
    zone.servfail.add("servfail.vworld.net")
    zone.silent.add("silent.vworld.net")
    # nowhere.vworld.net is in no record: NXDOMAIN
    dns = probe_dns(zone)
    return VerifyWorld(world, dns)
