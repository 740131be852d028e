"""Classify an SMTP reply by the stage it came at, its basic code and its enhanced code.

RFC 3463: class 2/4/5 = success/transient/permanent; subject X.1.x is addressing (the
recipient does not exist), X.7.x is policy or security (the server refused *us*, which says
nothing about the recipient's existence). Only a 4xx or 5xx is read as a refusal: a reply that
cannot be read, or a code the stage did not call for, is a retry before the final "." and
unknown after it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from outreach_tui.core.states import ErrorClass


class Stage(StrEnum):
    CONNECT = "connect"
    GREETING = "greeting"
    AUTH = "auth"
    MAIL = "mail"
    RCPT = "rcpt"
    DATA_START = "data_start"  # the DATA command itself, before the 354
    DATA_BODY = "data_body"  # the content, after the 354 and before the final "." left
    DATA_END = "data_end"  # the reply to the final "."


_ENHANCED = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})\b")


@dataclass(frozen=True, slots=True)
class EnhancedCode:
    klass: int
    subject: int
    detail: int

    def __str__(self) -> str:
        return f"{self.klass}.{self.subject}.{self.detail}"


def parse_enhanced(text: str) -> EnhancedCode | None:
    """The RFC 3463 code at the start of a reply text, if the server gave one."""
    match = _ENHANCED.match(text)
    if not match:
        return None
    return EnhancedCode(int(match.group(1)), int(match.group(2)), int(match.group(3)))


#: Stages before the session is ready: a reply that cannot be read there is the server's
#: trouble (retried, counted against the mailbox's server).
_SETUP = (Stage.CONNECT, Stage.GREETING, Stage.AUTH)


def is_refusal(code: int | None) -> bool:
    """A 4xx or 5xx: a reply the stage rules read. Anything else where a 250 (or 354) was
    due, e.g. aiosmtplib's -1 for a line it could not parse (9,000 bytes, no digits), a
    1xx/3xx/6xx, or another 2xx, says nothing about the recipient or the message."""
    return code is not None and 400 <= code < 600


def classify_unreadable(stage: Stage) -> ErrorClass:
    """The class of a reply that is not a refusal (see `is_refusal`), by stage.

    After the final "." the server had the whole message and may have queued it (RFC 1047):
    unknown, never a refusal (a resend could duplicate it). Before it, nothing was handed
    over: a retry, never a hard bounce or a refused sender."""
    if stage is Stage.DATA_END:
        return ErrorClass.UNKNOWN_OUTCOME
    if stage in _SETUP:
        return ErrorClass.CONNECTION
    return ErrorClass.TRANSIENT


def classify_reply(stage: Stage, code: int | None, text: str) -> ErrorClass:
    """Map a reply other than the one expected to who pays: retry later, the recipient, the
    message or the mailbox; a reply that is no refusal goes by `classify_unreadable`."""
    if code is None or not is_refusal(code):
        return classify_unreadable(stage)
    if 400 <= code < 500:
        return ErrorClass.TRANSIENT
    enhanced = parse_enhanced(text)
    if stage in (Stage.CONNECT, Stage.GREETING):
        return ErrorClass.CONNECTION
    if stage is Stage.AUTH:
        return ErrorClass.AUTH
    if stage is Stage.MAIL:
        return ErrorClass.SENDER_REFUSED
    if enhanced is not None and enhanced.subject == 7:
        # Policy/security: the server refused this sender or content, not the address.
        return ErrorClass.REJECTED_MESSAGE
    if stage is Stage.RCPT:
        return ErrorClass.HARD_BOUNCE
    if enhanced is not None and enhanced.subject == 1:
        # Some servers only reject unknown recipients after DATA.
        return ErrorClass.HARD_BOUNCE
    return ErrorClass.REJECTED_MESSAGE
