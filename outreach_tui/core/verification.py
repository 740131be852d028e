"""Verification statuses, what an SMTP probe's replies mean, and the score and health of a result.

Pure: the verifier (engine/leads/verifier.py) does the looking up and the talking; this module
decides what the answers mean.

Score and health per status (health bands: 80-100 GREEN, 50-79 YELLOW,
0-49 RED; RED never reaches a send queue, YELLOW is capped per mailbox per day):

==================  =====  ======  ==================================================
status              score  health  why
==================  =====  ======  ==================================================
VALID                  95  GREEN   the primary MX accepted this mailbox and refused a
                                   random one (or is a provider that answers truly)
CATCH_ALL              60  YELLOW  the domain accepts any mailbox: deliverable, unknown
GREYLISTED             55  YELLOW  still deferred after a retry on a fresh connection
UNKNOWN                50  YELLOW  the probe was refused (5.7.x), the DNS failed, the
                                   server said nothing we can read, or the mail host
                                   is at an internal address (not probed, see
                                   core/probe_targets.py)
UNKNOWN (no probe)     70  YELLOW  the domain takes mail, the mailbox was not asked
                                   (``--no-smtp``, ``[verify] no_probe_domains``)
TIMEOUT                50  YELLOW  the server (or DNS) did not answer in time: often a
                                   tarpit or a blocked port 25, which says nothing
                                   about the mailbox
CONNECTION_REFUSED     35  RED     the domain's MX refuses SMTP: a real send would
                                   bounce too
DISPOSABLE             10  RED     a throwaway-address provider
MAILBOX_NOT_FOUND       5  RED     5.1.x (or a bare 550/551/553) on RCPT
NO_MX                   0  RED     NXDOMAIN, null MX (RFC 7505), or no MX/A/AAAA
INVALID_SYNTAX          0  RED     not an address
==================  =====  ======  ==================================================
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from enum import StrEnum

from outreach_tui.core.smtp_reply import parse_enhanced


class VerificationStatus(StrEnum):
    VALID = "VALID"
    CATCH_ALL = "CATCH_ALL"
    MAILBOX_NOT_FOUND = "MAILBOX_NOT_FOUND"
    INVALID_SYNTAX = "INVALID_SYNTAX"
    NO_MX = "NO_MX"
    DISPOSABLE = "DISPOSABLE"
    GREYLISTED = "GREYLISTED"
    TIMEOUT = "TIMEOUT"
    CONNECTION_REFUSED = "CONNECTION_REFUSED"
    UNKNOWN = "UNKNOWN"


class Health(StrEnum):
    GREEN = "GREEN"
    YELLOW = "YELLOW"
    RED = "RED"


V = VerificationStatus

SCORES: dict[VerificationStatus, int] = {
    V.VALID: 95,
    V.CATCH_ALL: 60,
    V.GREYLISTED: 55,
    V.UNKNOWN: 50,
    V.TIMEOUT: 50,
    V.CONNECTION_REFUSED: 35,
    V.DISPOSABLE: 10,
    V.MAILBOX_NOT_FOUND: 5,
    V.NO_MX: 0,
    V.INVALID_SYNTAX: 0,
}

#: The domain takes mail but the mailbox itself was not asked (no SMTP probe).
UNPROBED_SCORE = 70

#: Why the planner holds back a lead whose health is not known yet (`[verify] required`).
WAITING_FOR_VERIFICATION = "waiting for verification"


def health_for(score: int) -> Health:
    """The health bands: 80-100 GREEN, 50-79 YELLOW, 0-49 RED."""
    if score >= 80:
        return Health.GREEN
    if score >= 50:
        return Health.YELLOW
    return Health.RED


FIELDS = ("email", "status", "score", "health", "mx_host", "smtp_code", "detail")


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """One verified address, with the fields of the `validate` contract (docs/ARCHITECTURE.md)."""

    email: str
    status: VerificationStatus
    score: int
    health: Health
    mx_host: str | None = None
    smtp_code: int | None = None
    detail: str = ""

    @classmethod
    def of(
        cls,
        email: str,
        status: VerificationStatus,
        detail: str = "",
        *,
        mx_host: str | None = None,
        smtp_code: int | None = None,
        score: int | None = None,
    ) -> VerificationResult:
        """A result whose score defaults to the status's and whose health follows the score."""
        value = SCORES[status] if score is None else max(0, min(100, score))
        return cls(email, status, value, health_for(value), mx_host, smtp_code, detail)

    def as_dict(self) -> dict[str, object]:
        row = asdict(self)
        row["status"] = self.status.value
        row["health"] = self.health.value
        return row


class RcptVerdict(StrEnum):
    """What one RCPT reply says about the mailbox, before retries and catch-all are known."""

    ACCEPTED = "accepted"
    NOT_FOUND = "not_found"
    REFUSED_PROBE = "refused_probe"
    """5.7.x: the server refused *us* (policy, blocklisted prober); nothing about the mailbox."""
    TEMPORARY = "temporary"
    """4xx (greylisting 4.7.1, 421 closing, rate limits): ask again later on a new connection."""
    TOO_MANY_RECIPIENTS = "too_many_recipients"
    """452 on a second RCPT of a session: this host takes one recipient per session."""
    UNREADABLE = "unreadable"
    """A permanent reply that names neither the mailbox nor policy."""


# Bare 5xx replies (no enhanced code) that are about the prober or its reputation, not the
# mailbox: read as a refusal rather than "no such user".
_POLICY_WORDS = re.compile(
    r"block|black ?list|spamhaus|policy|reputation|rejected due|not allowed|denied|"
    r"banned|abuse|\brbl\b|dnsbl|client host|your ip",
    re.IGNORECASE,
)


def classify_rcpt(code: int, text: str, *, position: int = 0) -> RcptVerdict:
    """Read one RCPT reply by its enhanced status code first (RFC 3463).

    `position` is the RCPT's index within its session: a 452 on the second or later RCPT
    means "one recipient per session", on the first it is an ordinary temporary failure.
    """
    enhanced = parse_enhanced(text)
    if 200 <= code < 300:
        return RcptVerdict.ACCEPTED
    if 400 <= code < 500:
        if code == 452 and position > 0:
            return RcptVerdict.TOO_MANY_RECIPIENTS
        return RcptVerdict.TEMPORARY
    if enhanced is not None and enhanced.klass == 5:
        if enhanced.subject == 1:
            return RcptVerdict.NOT_FOUND
        if enhanced.subject == 7:
            return RcptVerdict.REFUSED_PROBE
        return RcptVerdict.UNREADABLE
    if code in (550, 551, 553) and not _POLICY_WORDS.search(text):
        # Servers without enhanced codes say "550 no such user": the classic meaning.
        return RcptVerdict.NOT_FOUND
    if 500 <= code < 600 and _POLICY_WORDS.search(text):
        return RcptVerdict.REFUSED_PROBE
    return RcptVerdict.UNREADABLE


def reply_text(code: int, text: str) -> str:
    """`550 5.1.1 no such user` on one line, short enough for a CSV cell."""
    flat = " ".join(text.split())
    return f"{code} {flat}"[:200]


def result_for_rcpt(
    email: str,
    code: int,
    text: str,
    *,
    mx_host: str | None,
    catch_all: bool | None,
    retried: bool,
) -> VerificationResult | None:
    """The final result of a real address's RCPT reply, or None if it must be asked again
    (a first temporary reply: greylisting wants a retry on a fresh connection)."""
    verdict = classify_rcpt(code, text)
    said = reply_text(code, text)
    if verdict is RcptVerdict.ACCEPTED:
        if catch_all:
            return VerificationResult.of(
                email, V.CATCH_ALL, f"domain accepts any address: {said}", mx_host=mx_host,
                smtp_code=code,
            )  # fmt: skip
        return VerificationResult.of(email, V.VALID, said, mx_host=mx_host, smtp_code=code)
    if verdict is RcptVerdict.NOT_FOUND:
        return VerificationResult.of(
            email, V.MAILBOX_NOT_FOUND, said, mx_host=mx_host, smtp_code=code
        )
    if verdict is RcptVerdict.REFUSED_PROBE:
        return VerificationResult.of(
            email,
            V.UNKNOWN,
            f"the server refused the probe (policy, not the mailbox): {said}",
            mx_host=mx_host,
            smtp_code=code,
        )
    if verdict is RcptVerdict.TEMPORARY:
        if not retried:
            return None
        return VerificationResult.of(
            email,
            V.GREYLISTED,
            f"still deferred after a retry on a new connection: {said}",
            mx_host=mx_host,
            smtp_code=code,
        )
    return VerificationResult.of(
        email, V.UNKNOWN, f"unreadable reply: {said}", mx_host=mx_host, smtp_code=code
    )


__all__ = [
    "FIELDS",
    "SCORES",
    "UNPROBED_SCORE",
    "WAITING_FOR_VERIFICATION",
    "Health",
    "RcptVerdict",
    "VerificationResult",
    "VerificationStatus",
    "classify_rcpt",
    "health_for",
    "reply_text",
    "result_for_rcpt",
]
