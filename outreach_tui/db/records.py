"""Typed rows of the tables the engine reads whole: what a repository returns instead of
`Row[Any]`, so the type checker sees every column.

Each record lists its table's columns in table order, so a SELECT of `columns(Record)` builds
it positionally (`Record(*row)`, about a microsecond), and extra fields (a joined column)
come last."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Table


@dataclass(frozen=True, slots=True)
class MailboxRecord:
    """A `mailbox` row, with its sending domain's paused flag."""

    id: int
    email: str
    from_name: str
    domain_id: int | None
    smtp_host: str
    smtp_port: int
    smtp_security: str
    smtp_user: str
    smtp_password_ref: str
    verify_tls: bool
    imap_host: str | None
    imap_port: int
    imap_security: str
    imap_user: str | None
    imap_password_ref: str | None
    source: str
    daily_limit: int | None
    warmup_started: date | None
    phase: str
    phase_changed_at: datetime | None
    cooldown_until: datetime | None
    offence_count: int
    relapse_count: int
    resilience_score: int
    clean_sends_in_phase: int
    needs_review: bool
    paused_reason: str | None
    version: int
    paused_campaigns: list[int] | None
    phase_sent_base: int
    phase_bounced_base: int
    phase_complaint_base: int
    last_sent_at: datetime | None
    next_send_at: datetime | None
    created_at: datetime
    domain_paused: bool


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """An `outreach_attempt` row."""

    id: int
    lead_id: int
    campaign_id: int | None
    campaign_lead_id: int | None
    step_position: int | None
    mailbox_id: int | None
    operator_id: str
    sender_email: str
    recipient_email: str
    recipient_domain: str
    subject: str
    body: str
    idempotency_key: str
    state: str
    message_id: str
    in_reply_to: str | None
    references: str | None
    legal_basis: str | None
    region: str | None
    policy_result: str | None
    smtp_code: int | None
    smtp_response: str | None
    error_class: str | None
    error_detail: str | None
    retry_count: int
    next_attempt_at: datetime | None
    first_tried_at: datetime | None
    sending_started_at: datetime | None
    sent_at: datetime | None
    approved_by: str | None
    approved_at: datetime | None
    edited_by: str | None
    edited_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class AttemptToSend(AttemptRecord):
    """An attempt on its way to the server: its row, the footer address of its campaign, and
    its lead's address and status (what the policy check needs, read in the same statement)
    and name (the To header)."""

    postal_address: str | None
    lead_email: str
    lead_status: str | None
    lead_first_name: str | None = None
    lead_last_name: str | None = None
    """The lead's name, for `To: Name <address>` (mail/message.py)."""


@dataclass(frozen=True, slots=True)
class LeadRecord:
    """A `lead` row."""

    id: int
    email: str
    domain: str
    first_name: str | None
    last_name: str | None
    company: str | None
    website: str | None
    timezone: str | None
    custom: dict[str, Any] | None
    status: str
    verification_status: str | None
    verification_score: int | None
    health: str | None
    verified_at: datetime | None
    source: str | None
    created_at: datetime
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class StepRecord:
    """A `sequence_step` row: one step of a campaign's sequence."""

    id: int
    campaign_id: int
    position: int
    """1-based."""
    subject: str | None
    """None: a threaded "Re:" of the first step's subject."""
    body: str
    delay_days: float


@dataclass(frozen=True, slots=True)
class SendingDomainRecord:
    """A `sending_domain` row: its paused flag and what the last DNS check stored."""

    id: int
    name: str
    paused: bool
    paused_reason: str | None
    paused_at: datetime | None
    spf_ok: bool | None
    dkim_ok: bool | None
    dmarc_ok: bool | None
    blocklisted: bool | None
    dns_checked_at: datetime | None
    dns_detail: dict[str, Any] | None
    dkim_selectors: list[str] | None


@dataclass(frozen=True, slots=True)
class SuppressionRecord:
    """A `suppression` row: an address or a whole domain that is never written to."""

    id: int
    kind: str
    value: str
    reason: str
    source: str
    created_by: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DomainInsightRecord:
    """A `domain_insight` row: what the verifier learnt about a recipient domain."""

    domain: str
    mx_hosts: list[str] | None
    mx_status: str | None
    catch_all: bool | None
    disposable: bool
    one_rcpt_per_session: bool
    probe_refused: bool
    checked_at: datetime
    expires_at: datetime


def columns(
    record: type[Any], table: Table, **extra: ColumnElement[Any]
) -> list[ColumnElement[Any]]:
    """The SELECT list that builds `record` positionally: `table`'s columns for its fields,
    then `extra` (by field name) for the fields the table does not have."""
    picked: list[ColumnElement[Any]] = []
    for field in fields(record):
        column = extra.get(field.name)
        picked.append(table.c[field.name] if column is None else column.label(field.name))
    return picked
