"""What a bounce means, from its codes and its words: hard, soft or policy.

Pure: strings in, a verdict out. Reading the report (MIME, DSN fields, provider JSON) is
`outreach_tui.mail.bounces`' job; the effects (suppress, count, alert) are the engine's.

- **hard**: the address does not exist, is disabled or has moved, or its domain takes no mail.
  Only hard suppresses an address, so it needs evidence: a permanent failure whose words or code
  say so. A transient one never is (a "450 4.1.1 user unknown" may be a directory hiccup).
- **policy**: the receiver refused *us*: our IP or domain (block lists, reputation, reverse DNS,
  HELO, sender checks), our authentication (SPF, DKIM, DMARC), our content (spam, virus filters)
  or our rate. The address may be perfectly good.
- **soft**: the address is fine but the message did not arrive this time: mailbox full, message
  too big, greylisting, too many connections, network and system errors, expiry in the queue.

Order of evidence (the best parsers' order): the words of the remote server beat the codes,
because servers put whatever code they like on a refusal (5.7.1 on an unknown user, 5.0.0 or a
bare 550 on everything) while the words are written for people. Among codes, the specific
enhanced code in the diagnostic text beats a generic X.0.0 in the Status field, and the basic
reply code (550, 554, 552...) decides last.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from outreach_tui.core.bounce_texts import (
    DELAYED,
    EXPIRED,
    HARD,
    HARD_OVERRIDES,
    POLICY,
    SOFT,
    SOFT_STRONG,
    fold,
)

BounceClass = Literal["hard", "soft", "policy"]

_ENHANCED = re.compile(r"(?<![\d.])#?([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
_REPLY = re.compile(r"(?<![\d.\-])([245]\d\d)(?=[ \-]|$)", re.MULTILINE)
#: Codes that say the recipient's address is gone (RFC 3463, plus Microsoft's 5.1.10 and
#: 5.4.310-5.4.312 "DNS domain does not exist").
_HARD_CODES = {(1, 0), (1, 1), (1, 2), (1, 3), (1, 4), (1, 6), (1, 9), (1, 10), (2, 1), (4, 4)}
_HARD_CODES |= {(4, 310), (4, 311), (4, 312)}
_POLICY_SUBJECT_1 = {7, 8}  # X.1.7 / X.1.8: bad sender mailbox or system


@dataclass(frozen=True)
class BounceVerdict:
    bounce_class: BounceClass
    code: str | None
    """The enhanced status code that best describes the failure (the specific one)."""
    rule: str
    """What decided, for the audit trail: ``"text: policy"``, ``"code 5.1.1"``, ..."""


def enhanced_codes(text: str) -> list[str]:
    """Every RFC 3463 code in `text`, in order ("5.7.1", qmail's "#5.1.1" as "5.1.1")."""
    return [".".join(m.groups()) for m in _ENHANCED.finditer(text)]


def reply_code(text: str) -> int | None:
    """The first basic SMTP reply code (550, 421...) in `text`."""
    found = _REPLY.search(text)
    return int(found.group(1)) if found else None


def is_generic(code: str | None) -> bool:
    """X.0.0: a class without a cause."""
    return code is None or code.endswith(".0.0")


def specific_code(status: str | None, diagnostic: str) -> str | None:
    """The code that describes the failure best.

    The Status field is what the reporting MTA made of the answer; the diagnostic holds the
    remote server's own code. A generic or missing Status yields to the first specific code in
    the diagnostic; a specific Status yields to a more specific one of the same class and
    subject (5.1.1 stays 5.1.1; 5.7.0 becomes 5.7.26 when the server said so).
    """
    found = [c for c in enhanced_codes(diagnostic) if not is_generic(c)]
    if status is None or is_generic(status):
        if found and (status is None or found[0][0] == status[0]):
            return found[0]
        if status is not None:
            return status
        codes = enhanced_codes(diagnostic)
        return codes[0] if codes else None
    for code in found:
        same_subject = code.split(".")[:2] == status.split(".")[:2]
        if same_subject and status.endswith(".0"):
            return code
    return status


def classify(
    diagnostic: str,
    *,
    status: str | None = None,
    transient: bool | None = None,
    expired: bool = False,
) -> BounceVerdict:
    """The class of one failed delivery.

    `diagnostic` is the remote server's answer (or the reporting MTA's own words about it),
    `status` the report's Status field if any. `transient` says the failure was temporary
    (a 4.x.x status, Action: delayed); None works it out from the codes. `expired`: the
    message was returned because retries ran out, so the last answer was a temporary one.
    """
    code = specific_code(status, diagnostic)
    reply = reply_code(diagnostic)
    if transient is None:
        klass = (code or str(reply or ""))[:1]
        transient = klass == "4"
    transient = transient or expired
    text = fold(diagnostic)

    if HARD_OVERRIDES.search(text) or (
        code == "5.4.1" and "recipient address rejected: access denied" in text
    ):
        return _hard_unless_transient("text: address unknown to the receiver", code, transient)
    if POLICY.search(text):
        return BounceVerdict("policy", code, "text: sender refused")
    if SOFT_STRONG.search(text):
        return BounceVerdict("soft", code, "text: mailbox or delivery limit")
    if HARD.search(text):
        return _hard_unless_transient("text: address does not exist", code, transient)
    if SOFT.search(text):
        return BounceVerdict("soft", code, "text: temporary problem")
    return _by_codes(code, reply, transient)


def _hard_unless_transient(rule: str, code: str | None, transient: bool) -> BounceVerdict:
    if transient:
        return BounceVerdict("soft", code, rule + ", but temporary")
    return BounceVerdict("hard", code, rule)


def _by_codes(code: str | None, reply: int | None, transient: bool) -> BounceVerdict:
    if code is not None and not is_generic(code):
        _, subject, detail = (int(x) for x in code.split("."))
        rule = f"code {code}"
        if transient and (subject, detail) == (7, 1):
            # A bare temporary 4.7.1 is most often greylisting (Postfix answers DEFER_IF_PERMIT,
            # which greylisting policy servers return, with "450 4.7.1").
            return BounceVerdict("soft", code, rule + ", temporary: greylisting")
        if subject == 7 or (subject == 1 and detail in _POLICY_SUBJECT_1):
            return BounceVerdict("policy", code, rule)
        if transient:
            return BounceVerdict("soft", code, rule)
        if (subject, detail) in _HARD_CODES:
            return BounceVerdict("hard", code, rule)
        return BounceVerdict("soft", code, rule)
    if transient:
        return BounceVerdict("soft", code, f"temporary {code or reply or 'failure'}")
    if reply is not None:
        rule = f"reply {reply}"
        if reply in (554, 530, 535, 538):
            return BounceVerdict("policy", code, rule)  # transaction/authentication refused
        if reply in (552, 452) or 500 <= reply <= 504 or reply == 421:
            return BounceVerdict("soft", code, rule)
        return BounceVerdict("hard", code, rule)
    # A permanent failure with nothing else to go on: the report's own word.
    return BounceVerdict("hard", code, f"permanent {code or 'failure'}")


def says_something(text: str) -> bool:
    """`text` names a cause any of the rules know (a recipient's paragraph worth reading)."""
    folded = fold(text)
    return any(p.search(folded) for p in (HARD_OVERRIDES, POLICY, SOFT_STRONG, HARD))


def says_expired(text: str) -> bool:
    """The report says retries ran out (the message was returned undelivered)."""
    return bool(EXPIRED.search(fold(text)))


def says_delayed(text: str) -> bool:
    """The report is a warning about a delay (delivery is still being tried)."""
    return bool(DELAYED.search(fold(text)))
