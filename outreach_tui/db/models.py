"""The whole domain's tables. Later features add columns here, not new shapes.

Conventions: ids are integer surrogates; e-mail addresses and domains are stored lower-cased
(display names elsewhere); every timestamp is an aware UTC datetime (`UTCDateTime`); statuses
are the string values of the enums in `core.states`. Secrets never appear here: mailboxes hold
secret *references* (env:, file:, keyring:).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from outreach_tui.db.types import UTCDateTime


def _ts(**kw: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kw)


class Operator(SQLModel, table=True):
    """A person (OS login) or a configured worker identity."""

    id: str = Field(primary_key=True, max_length=128)
    display_name: str = ""
    created_at: datetime = _ts()


class SendingDomain(SQLModel, table=True):
    __tablename__ = "sending_domain"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=253)
    paused: bool = False
    paused_reason: str | None = None
    paused_at: datetime | None = _ts(default=None)
    spf_ok: bool | None = None
    dkim_ok: bool | None = None
    dmarc_ok: bool | None = None
    blocklisted: bool | None = None
    dns_checked_at: datetime | None = _ts(default=None)
    dns_detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    dkim_selectors: list[str] | None = Field(default=None, sa_column=Column(JSON))


class Mailbox(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, max_length=320)
    from_name: str = ""
    domain_id: int | None = Field(default=None, foreign_key="sending_domain.id", index=True)
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"  # starttls | tls (pinned, never opportunistic)
    smtp_user: str = ""
    smtp_password_ref: str = ""  # a reference, never the secret
    verify_tls: bool = True
    imap_host: str | None = None
    imap_port: int = 993
    imap_security: str = "tls"  # tls (IMAPS) | starttls (pinned, never plaintext); migration 0005
    imap_user: str | None = None
    imap_password_ref: str | None = None
    source: str = "config"  # config | csv | env
    # Limits and warmup
    daily_limit: int | None = None  # fixed limit; None → the warmup stage decides
    warmup_started: date | None = None
    # Health (compare-and-set on `version`)
    phase: str = Field(default="HEALTHY", index=True)
    phase_changed_at: datetime | None = _ts(default=None)
    cooldown_until: datetime | None = _ts(default=None)
    offence_count: int = 0
    relapse_count: int = 0
    resilience_score: int = 100
    clean_sends_in_phase: int = 0
    needs_review: bool = False
    paused_reason: str | None = None
    version: int = 0
    # Deliverability guard (migration 0006): the campaigns a pause took the mailbox out of
    # (it goes back into them when HEALTHY), and its counters on the day its phase began, so
    # "sends in this phase" is read from the daily counters alone.
    paused_campaigns: list[int] | None = Field(default=None, sa_column=Column(JSON))
    phase_sent_base: int = 0
    phase_bounced_base: int = 0
    phase_complaint_base: int = 0
    # Migration 0009: the bases of the counters added then (policy refusals, later reports).
    phase_policy_base: int = 0
    phase_bounce_report_base: int = 0
    phase_policy_report_base: int = 0
    # Pacing
    last_sent_at: datetime | None = _ts(default=None)
    next_send_at: datetime | None = _ts(default=None)
    created_at: datetime = _ts()


class Campaign(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=200)
    status: str = Field(default="active", index=True)
    approval: str = "auto"  # auto | manual
    timezone: str = "recipient"  # "recipient" or an IANA zone
    default_timezone: str = "UTC"  # for leads without one when timezone == "recipient"
    postal_address: str | None = None
    window_days: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    window_start: str = "09:00"
    window_end: str = "17:00"
    mailbox_emails: list[str] | None = Field(default=None, sa_column=Column(JSON))
    stop_on_company_reply: bool = False
    paused_reason: str | None = None
    source_file: str | None = None
    created_at: datetime = _ts()
    finished_at: datetime | None = _ts(default=None)


class SequenceStep(SQLModel, table=True):
    __tablename__ = "sequence_step"
    __table_args__ = (UniqueConstraint("campaign_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    position: int  # 1-based
    subject: str | None = None  # None: threaded "Re:" of the previous step
    body: str
    delay_days: float = 0


class Lead(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, max_length=320)
    domain: str = Field(index=True, max_length=253)
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    website: str | None = None
    timezone: str | None = None
    custom: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    status: str = Field(default="new", index=True)
    verification_status: str | None = None
    verification_score: int | None = None
    health: str | None = None  # GREEN | YELLOW | RED
    verified_at: datetime | None = _ts(default=None)
    source: str | None = None
    created_at: datetime = _ts()
    updated_at: datetime | None = _ts(default=None)


class CampaignLead(SQLModel, table=True):
    """A lead's progress through one campaign's sequence."""

    __tablename__ = "campaign_lead"
    __table_args__ = (
        UniqueConstraint("campaign_id", "lead_id"),
        # campaign_id last: the planner's campaign filter is decided on the index entry
        # (migration 0002; bench/engine.py).
        Index("ix_campaign_lead_due", "state", "next_due_at", "campaign_id"),
        # Campaign progress (the console's Campaigns pane) from the index alone.
        Index("ix_campaign_lead_progress", "campaign_id", "state", "next_step"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    lead_id: int = Field(foreign_key="lead.id", index=True)
    mailbox_id: int | None = Field(default=None, foreign_key="mailbox.id")  # sticky sender
    next_step: int = 1
    next_due_at: datetime | None = _ts(default=None)
    state: str = "active"  # active | finished | stopped
    stop_reason: str | None = None
    thread_message_ids: list[str] | None = Field(default=None, sa_column=Column(JSON))
    first_subject: str | None = None
    updated_at: datetime | None = _ts(default=None)


class OutreachAttempt(SQLModel, table=True):
    """The attempt ledger: one row per (lead, step) or one-off send, through all its retries."""

    __tablename__ = "outreach_attempt"
    __table_args__ = (
        UniqueConstraint("campaign_lead_id", "step_position"),
        Index("ix_attempt_due", "state", "next_attempt_at"),
        Index("ix_attempt_mailbox_state", "mailbox_id", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id", index=True)
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id", index=True)
    campaign_lead_id: int | None = Field(default=None, foreign_key="campaign_lead.id")
    step_position: int | None = None
    mailbox_id: int | None = Field(default=None, foreign_key="mailbox.id")
    operator_id: str
    sender_email: str
    recipient_email: str = Field(index=True)
    recipient_domain: str
    subject: str
    body: str
    idempotency_key: str = Field(index=True, max_length=64)
    state: str = Field(default="approved")
    message_id: str = Field(unique=True)
    in_reply_to: str | None = None
    references: str | None = None
    legal_basis: str | None = None
    region: str | None = None
    policy_result: str | None = None
    smtp_code: int | None = None
    smtp_response: str | None = None
    error_class: str | None = None
    error_detail: str | None = None
    retry_count: int = 0
    next_attempt_at: datetime | None = _ts(default=None)
    first_tried_at: datetime | None = _ts(default=None)
    sending_started_at: datetime | None = _ts(default=None)
    sent_at: datetime | None = _ts(default=None, index=True)
    approved_by: str | None = None
    approved_at: datetime | None = _ts(default=None)
    edited_by: str | None = None
    edited_at: datetime | None = _ts(default=None)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class AuditLog(SQLModel, table=True):
    """One row per decision. Field names are a contract (docs/ARCHITECTURE.md)."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    user_id: str
    lead_email: str | None = None
    sender_email: str | None = None
    subject: str | None = None
    policy_result: str  # allowed | blocked | approved | rejected | edited | suppressed | ...
    reason: str = ""
    legal_basis: str | None = None
    timestamp: datetime = _ts(index=True)
    attempt_id: int | None = Field(default=None, index=True)


class Suppression(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str  # address | domain
    value: str = Field(max_length=320)
    reason: str = ""
    source: str = ""  # manual, import:<file>, reply:<message-id>, bounce:<attempt>, ...
    created_by: str | None = None
    created_at: datetime = _ts()


class DailyCounter(SQLModel, table=True):
    """Sends accepted (final 250) per scope per local day; scopes: user, domain, mailbox."""

    __tablename__ = "daily_counter"

    scope: str = Field(primary_key=True, max_length=32)  # 0007: mailbox_soft_bounce, ...
    key: str = Field(primary_key=True, max_length=320)
    day: date = Field(primary_key=True)
    count: int = 0


class IdempotencyKey(SQLModel, table=True):
    __tablename__ = "idempotency_key"

    key: str = Field(primary_key=True, max_length=64)
    attempt_id: int | None = None
    sent_at: datetime = _ts()


class Reply(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("mailbox_id", "folder", "uidvalidity", "uid"),
        # A re-scan (new UIDVALIDITY) finds a message it already applied by its Message-ID
        # (or, without one, by the digest of its bytes): migration 0005.
        Index("ix_reply_mailbox_message", "mailbox_id", "message_id"),
        Index("ix_reply_mailbox_digest", "mailbox_id", "digest"),
    )

    id: int | None = Field(default=None, primary_key=True)
    mailbox_id: int = Field(foreign_key="mailbox.id", index=True)
    folder: str = "INBOX"
    uidvalidity: int = 0
    uid: int = 0
    attempt_id: int | None = Field(default=None, foreign_key="outreach_attempt.id", index=True)
    lead_id: int | None = Field(default=None, foreign_key="lead.id", index=True)
    message_id: str | None = None
    from_email: str | None = None
    subject: str | None = None
    received_at: datetime | None = _ts(default=None)
    classification: str | None = None
    classified_by: str | None = None  # rules | llm | operator
    return_date: date | None = None
    snippet: str | None = None
    raw: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    handled: bool = False
    created_at: datetime = _ts()
    # Reply inbox (migration 0005): why the class, what could not be read, the address the
    # effects are about (the sender, or a bounce's failed recipient), the SHA-256 of `raw`,
    # and the review state of a suppression that SUGGEST mode held back
    # (pending | confirmed | dismissed; None: nothing to review).
    reason: str | None = None
    problem: str | None = None
    affected_email: str | None = None
    digest: str | None = Field(default=None, max_length=64)
    review: str | None = Field(default=None, index=True)
    # What a report was found to be and what it did (migration 0009; core/event_effects.py):
    # its class (hard | soft | policy), its delivery status (failed | delayed | delivered),
    # whether it was returned after retries ran out, how it was tied to a send of ours
    # (message_id | recipient | operator; "unmatched": to nothing, so it did nothing), the
    # counter it moved (a relabel takes it back) and the effects in words for the Inbox.
    bounce_class: str | None = Field(default=None, max_length=8)
    delivery_status: str | None = Field(default=None, max_length=16)
    expired: bool = False
    report_match: str | None = Field(default=None, max_length=16)
    counted: str | None = Field(default=None, max_length=32)
    effect: str | None = Field(default=None, max_length=300)


class SoftBounce(SQLModel, table=True):
    """A soft bounce of an address on a local day (migration 0009): on `[replies]
    soft_bounce_days` separate days the address is suppressed (core/event_effects.py).
    `source` names what it came from (reply:ID, attempt:ID), so a relabel can take it back."""

    __tablename__ = "soft_bounce"
    __table_args__ = (Index("ix_soft_bounce_address_day", "address", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    address: str = Field(max_length=320)
    day: date
    source: str = Field(max_length=64, index=True)
    created_at: datetime = _ts()


class ImapCursor(SQLModel, table=True):
    __tablename__ = "imap_cursor"

    mailbox_id: int = Field(foreign_key="mailbox.id", primary_key=True)
    folder: str = Field(primary_key=True)
    uidvalidity: int = 0
    last_uid: int = 0
    updated_at: datetime | None = _ts(default=None)


class DomainInsight(SQLModel, table=True):
    """Cached facts about a recipient domain, so one domain costs one lookup and one probe."""

    __tablename__ = "domain_insight"

    domain: str = Field(primary_key=True, max_length=253)
    mx_hosts: list[str] | None = Field(default=None, sa_column=Column(JSON))
    mx_status: str | None = None
    catch_all: bool | None = None
    disposable: bool = False
    one_rcpt_per_session: bool = False
    probe_refused: bool = False  # the MX answered a probe with 5.7.x: probe it no more
    checked_at: datetime = _ts()
    expires_at: datetime = _ts()


class Event(SQLModel, table=True):
    """Something the operator should see: health events, alerts, suggestions."""

    # The monitor counts recent events of a kind (policy refusals per mailbox): migration 0009.
    __table_args__ = (Index("ix_event_kind_created_at", "kind", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(index=True)  # mailbox_health, phase_change, alert, suggestion, ...
    severity: str = "info"
    subject_type: str | None = None  # mailbox | domain | campaign | lead | attempt
    subject_id: str | None = None
    message: str = ""
    data: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = _ts(index=True)
    acknowledged: bool = False
    acknowledged_by: str | None = None


class Lease(SQLModel, table=True):
    """Who may dispatch a mailbox (or run a singleton job) until when."""

    name: str = Field(primary_key=True, max_length=200)
    holder: str
    expires_at: datetime = _ts()
    acquired_at: datetime = _ts()


class WorkerProcess(SQLModel, table=True):
    __tablename__ = "worker_process"

    id: str = Field(primary_key=True, max_length=200)
    host: str
    pid: int
    kind: str = "worker"  # worker | console
    started_at: datetime = _ts()
    heartbeat_at: datetime = _ts()


class WebhookDelivery(SQLModel, table=True):
    """The outbox of outbound webhooks (migration 0008): one row per event and receiver,
    written in the transaction that read the event, deleted some days after it was
    delivered or abandoned (engine/runtime/outbox.py)."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("endpoint", "source"),
        Index("ix_webhook_delivery_due", "state", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    endpoint: str = Field(max_length=64)  # [[webhooks.endpoints]] name
    source: str = Field(max_length=96)  # what it came from, e.g. "event:17:lead.bounced"
    event: str = Field(max_length=32)  # reply.received, lead.bounced, ...
    delivery_id: str = Field(max_length=64)  # the X-Outreach-Delivery header (a UUID)
    payload: str  # the JSON body, exactly as signed
    state: str = Field(default="pending", max_length=16)  # pending | delivered | abandoned
    attempts: int = 0
    next_attempt_at: datetime = _ts()
    last_error: str | None = None
    created_at: datetime = _ts()
    delivered_at: datetime | None = _ts(default=None)


class WebhookCursor(SQLModel, table=True):
    """How far the outbox has read each source table (event, reply): its highest id."""

    __tablename__ = "webhook_cursor"

    source: str = Field(primary_key=True, max_length=32)
    last_id: int = 0
    updated_at: datetime = _ts()
