"""What an inbound message is: a human reply (and which kind), a bounce, or a complaint.

The contract between the reply classifier and the IMAP poller. `analyse` takes the raw bytes
exactly as fetched and never raises on bad input (broken MIME, unknown charsets, huge parts):
whatever it cannot read becomes ``kind="other"`` with a ``problem`` that says why, so the
message is still stored and shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

ReplyKind = Literal[
    "interested",
    "not_interested",
    "unsubscribe",
    "out_of_office",
    "auto_reply",
    "wrong_person",
    "other",
    "bounce_hard",
    "bounce_soft",
    "complaint",
]

SUPPRESSING_KINDS: frozenset[str] = frozenset({"not_interested", "unsubscribe", "bounce_hard"})
"""Kinds whose effect adds the sender (or bounced recipient) to the suppression list."""


@dataclass(frozen=True)
class InboundAnalysis:
    kind: ReplyKind
    message_id: str | None
    """The message's own Message-ID, without angle brackets."""
    in_reply_to: str | None
    references: tuple[str, ...]
    """Message-IDs from In-Reply-To and References, oldest first, without angle brackets."""
    from_email: str | None
    subject: str | None
    received_at: str | None
    """The Date header as written (the poller falls back on INTERNALDATE)."""
    text: str
    """The new text only: quoted history and signature removed (empty for bounces)."""
    snippet: str
    """First ~200 characters of ``text`` on one line, for lists."""
    reason: str
    """Why this kind: the header or rule that decided, e.g. ``"Auto-Submitted: auto-replied"``."""
    classified_by: Literal["headers", "rules", "dsn", "arf", "llm"] = "rules"
    return_date: date | None = None
    """Out-of-office: the stated date the person is back, when one is stated."""
    bounced_recipients: tuple[str, ...] = ()
    """Bounces and complaints: the addresses that failed (or were complained about)."""
    status_code: str | None = None
    """Bounces: the RFC 3463 enhanced status code, e.g. ``"5.1.1"``."""
    diagnostic: str | None = None
    """Bounces: the remote server's diagnostic text."""
    original_message_id: str | None = None
    """Bounces and complaints: the Message-ID of our message, when the report quotes it."""
    problem: str | None = None
    """Set when the message could not be fully read (broken MIME, unknown charset)."""
    extra: dict[str, str] = field(default_factory=dict)
