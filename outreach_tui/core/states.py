"""The named states the database stores. Values are the strings other programs rely on."""

from __future__ import annotations

from enum import StrEnum


class AttemptState(StrEnum):
    """The attempt ledger. `sending` is written and committed before any byte goes to SMTP."""

    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"
    REJECTED = "rejected"

    @property
    def final(self) -> bool:
        return self in (AttemptState.SENT, AttemptState.FAILED, AttemptState.REJECTED)


class LeadStatus(StrEnum):
    NEW = "new"
    CONTACTED = "contacted"
    REPLIED = "replied"
    BOUNCED = "bounced"
    UNSUBSCRIBED = "unsubscribed"
    SUPPRESSED = "suppressed"
    INVALID = "invalid"

    @property
    def final(self) -> bool:
        """A lead in a final status is never written to again."""
        return self in (
            LeadStatus.BOUNCED,
            LeadStatus.UNSUBSCRIBED,
            LeadStatus.SUPPRESSED,
            LeadStatus.INVALID,
        )


class MailboxPhase(StrEnum):
    HEALTHY = "HEALTHY"
    PAUSED = "PAUSED"
    QUARANTINE = "QUARANTINE"
    RESTRICTED_SEND = "RESTRICTED_SEND"
    WARM_RECOVERY = "WARM_RECOVERY"


class CampaignStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    ARCHIVED = "archived"
    FINISHED = "finished"


class EnrollmentState(StrEnum):
    """A lead's progress through one campaign (`campaign_lead.state`)."""

    ACTIVE = "active"  # waiting for its next step to fall due
    QUEUED = "queued"  # an attempt for the current step is in the ledger
    HELD = "held"  # the last send's outcome is unknown: the operator decides
    FINISHED = "finished"  # every step was sent
    STOPPED = "stopped"  # replied, bounced, suppressed, rejected ... (stop_reason says)

    @property
    def final(self) -> bool:
        return self in (EnrollmentState.FINISHED, EnrollmentState.STOPPED)


class ApprovalMode(StrEnum):
    AUTO = "auto"
    MANUAL = "manual"


class SuppressionKind(StrEnum):
    ADDRESS = "address"
    DOMAIN = "domain"


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


class ErrorClass(StrEnum):
    """Why an attempt did not end in `sent`; decides who pays (the lead or the mailbox)."""

    TRANSIENT = "transient"  # 4xx, or dropped before the final "." left: retry, nothing used
    HARD_BOUNCE = "hard_bounce"  # 5xx on the recipient: suppress, lead bounced
    REJECTED_MESSAGE = "rejected_message"  # 5xx on content/policy: failed, no suppression
    SENDER_REFUSED = "sender_refused"  # 5xx on MAIL FROM: the mailbox's fault
    AUTH = "auth"  # authentication failed: the mailbox's fault
    TLS = "tls"  # certificate or STARTTLS trouble: the mailbox's fault
    CONNECTION = "connection"  # refused, timed out, greeting 421: the mailbox's server
    UNKNOWN_OUTCOME = "unknown_outcome"  # lost after the message was handed over
    INVALID_MESSAGE = "invalid_message"  # we refused to build it (header injection, ...)
    EXPIRED = "expired"  # retried past the give-up time
    UNDELIVERED = "undelivered"  # accepted with 250, then reported back undelivered (a DSN)

    @property
    def counts_against_mailbox(self) -> bool:
        return self in (
            ErrorClass.SENDER_REFUSED,
            ErrorClass.AUTH,
            ErrorClass.TLS,
            ErrorClass.CONNECTION,
        )


class CounterScope(StrEnum):
    """What a `daily_counter` row counts, per key and local day (the key is named per scope)."""

    USER = "user"  # sends accepted, per operator (the daily user cap)
    DOMAIN = "domain"  # sends accepted, per recipient domain (the daily domain cap)
    MAILBOX = "mailbox"  # sends accepted (final 250), per sending mailbox address
    # A mailbox's health, each event counted once (core/event_effects.py decides which):
    # refusals at SMTP time are attempts the server refused (they add to the attempts),
    # reports arrive later about messages already accepted (they do not).
    MAILBOX_BOUNCE = "mailbox_bounce"  # hard refusals at SMTP time, per mailbox address
    MAILBOX_POLICY = "mailbox_policy"  # policy refusals at SMTP time, per mailbox address
    MAILBOX_BOUNCE_REPORT = "mailbox_bounce_report"  # hard bounces reported later (DSNs)
    MAILBOX_POLICY_REPORT = "mailbox_policy_report"  # policy refusals reported later
    MAILBOX_SOFT_BOUNCE = "mailbox_soft_bounce"  # soft bounces (either way): not a failure
    MAILBOX_COMPLAINT = "mailbox_complaint"  # spam complaints (feedback loops), per mailbox
    MAILBOX_YELLOW = "mailbox_yellow"  # YELLOW-health leads planned, per mailbox address
