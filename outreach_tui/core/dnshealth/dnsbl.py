"""DNS blocklists: the names to ask (an IP's reversed octets or nibbles, or a domain, under
the list's zone) and what an answer means (listed, not listed, or unknown)."""

from __future__ import annotations

import ipaddress

from outreach_tui.core.dnshealth.answers import Answer, AnswerStatus, CheckResult, CheckStatus, norm


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
