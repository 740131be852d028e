"""What the DNS said and what a check concluded: `Answer` (one lookup's outcome, with "could
not find out" kept apart from "not there"), `DnsWorld` (every answer of one domain's check),
and `CheckResult` with its `CheckStatus`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


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


def worst_status(statuses: Iterable[CheckStatus]) -> CheckStatus:
    order = [
        CheckStatus.MISSING,
        CheckStatus.FAIL,
        CheckStatus.UNKNOWN,
        CheckStatus.WARNING,
        CheckStatus.OK,
    ]
    present = set(statuses)
    return next((s for s in order if s in present), CheckStatus.OK)
