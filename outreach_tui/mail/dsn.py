"""Bounces and complaints: kept for the importers of the first layout.

The readers live in `outreach_tui.mail.bounces` (DSN, ARF and JMRP, provider JSON, plain-text
formats); what a failure means is `outreach_tui.core.bounce_rules`.
"""

from outreach_tui.mail.bounces import (
    BounceKind,
    BounceReport,
    looks_like_bounce,
    read_report,
    report_type,
    strip_brackets,
)
from outreach_tui.mail.bounces.dsn import MAX_DIAGNOSTIC
from outreach_tui.mail.bounces.original import message_ids as original_message_ids
from outreach_tui.mail.bounces.text import MAX_BOUNCE_TEXT

__all__ = [
    "MAX_BOUNCE_TEXT",
    "MAX_DIAGNOSTIC",
    "BounceKind",
    "BounceReport",
    "looks_like_bounce",
    "original_message_ids",
    "read_report",
    "report_type",
    "strip_brackets",
]
