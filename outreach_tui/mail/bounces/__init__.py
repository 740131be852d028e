"""Bounces, complaints and delivery reports, whatever their format.

Formats: RFC 3464 DSNs (`dsn`), RFC 5965 ARF and Microsoft's JMRP complaints (`arf`), Amazon
SES / SendGrid / Mailgun notifications that arrive by mail (`providers`), and the plain-text
bounces of qmail, Exim, Sendmail, Domino, Exchange and others (`text`). What a failure *means*
(hard, soft, policy) is decided by `outreach_tui.core.bounce_rules` from the codes and words
these readers extract; `reader.read_report` picks the reader.
"""

from outreach_tui.mail.bounces.detect import looks_like_bounce, report_type
from outreach_tui.mail.bounces.original import message_ids, original_headers, strip_brackets
from outreach_tui.mail.bounces.reader import read_report
from outreach_tui.mail.bounces.report import BounceKind, BounceReport, DeliveryStatus

__all__ = [
    "BounceKind",
    "BounceReport",
    "DeliveryStatus",
    "looks_like_bounce",
    "message_ids",
    "original_headers",
    "read_report",
    "report_type",
    "strip_brackets",
]
