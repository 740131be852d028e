"""The whole domain: its MX, the `DomainHealth` of every check, what to tell the operator
(`findings`) and what changed since the last check (`describe_changes`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from outreach_tui.core.dnshealth.answers import (
    Answer,
    AnswerStatus,
    CheckResult,
    CheckStatus,
    norm,
    worst_status,
)


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
        return worst_status(r.status for r in self.dkim).healthy

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
