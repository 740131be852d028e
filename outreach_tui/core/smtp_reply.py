"""Classify an SMTP reply by the stage it came at, its basic code and its enhanced code.

RFC 3463: class 2/4/5 = success/transient/permanent; subject X.1.x is addressing (the
recipient does not exist), X.7.x is policy or security (the server refused *us*, which says
nothing about the recipient's existence).
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


def classify_reply(stage: Stage, code: int, text: str) -> ErrorClass:
    """Map a non-2xx reply to who pays: retry later, the recipient, the message or the mailbox."""
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
