"""The sections of the HTTP side (`outreach-tui serve`, outreach_tui/api/): `[api]` (where it
listens, its tokens and limits), `[esp]` (how provider event webhooks are verified) and
`[webhooks]` (signed outbound webhooks, delivered from the outbox by the scheduler)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal, get_args

from pydantic import Field, field_validator, model_validator

from outreach_tui.config.section import SecretRef, Section

#: What a token may do. `*` is every scope.
Scope = Literal["read", "write", "validate", "leads", "suppression", "telegram", "*"]
SCOPES: tuple[str, ...] = ("read", "write", "validate", "leads", "suppression", "telegram")

#: The events an outbound webhook can subscribe to (outreach_tui/engine/runtime/outbox.py).
WebhookEvent = Literal[
    "reply.received",
    "reply.interested",
    "lead.unsubscribed",
    "lead.bounced",
    "lead.complaint",
    "mailbox.paused",
    "mailbox.resumed",
    "campaign.finished",
]
WEBHOOK_EVENTS: tuple[str, ...] = get_args(WebhookEvent)
_ALL_EVENTS: tuple[WebhookEvent, ...] = get_args(WebhookEvent)
_READ: Scope = "read"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")

#: The lead fields an enrichment tool's JSON may be mapped onto (engine/leads/lead_fields.py).
LEAD_FIELDS = ("email", "first_name", "last_name", "company", "website", "timezone")


class ApiToken(Section):
    name: str
    """Who the token is: the actor named in the audit log for what it does."""
    token: SecretRef
    """Secret reference to the token's value (env:, file:, keyring:), never the value."""
    scopes: list[Scope] = Field(default_factory=lambda: [_READ], min_length=1)
    """read, write (pause/resume, approve/reject), validate (/validate, /policy/validate),
    leads, suppression, telegram, or * for all."""

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError("a token name is 1-64 letters, digits, '.', '_' or '-'")
        return value


class ApiSettings(Section):
    bind: str = "127.0.0.1"
    """Address `outreach-tui serve` listens on (0.0.0.0 in a container)."""
    port: int = Field(8080, ge=1, le=65535)
    """TCP port."""
    tls_cert: Path | None = None
    """Certificate chain (PEM) to serve HTTPS directly; unset: plain HTTP for a reverse proxy
    on the same host, which terminates TLS."""
    tls_key: Path | None = None
    """Private key (PEM) of tls_cert."""
    behind_proxy: bool = False
    """Trust X-Forwarded-For/-Proto from `forwarded_allow_ips` (a reverse proxy)."""
    forwarded_allow_ips: list[str] = Field(default_factory=lambda: ["127.0.0.1"])
    """The proxies whose X-Forwarded-* headers are believed."""
    workers: int = Field(1, ge=1, le=64)
    """uvicorn worker processes (each keeps its own rate-limit buckets and validate jobs)."""
    tokens: list[ApiToken] = Field(default_factory=list)
    """Bearer tokens ([[api.tokens]] name, token, scopes). No token: every endpoint but
    /health, one-click unsubscribe and the provider webhooks answers 401."""
    max_body_bytes: int = Field(1_048_576, ge=1024, le=256 * 1_048_576)
    """Larger request bodies are refused with 413 before they are read."""
    rate_limit_per_minute: int = Field(600, ge=1, le=1_000_000)
    """Requests per token per minute (a token bucket; 429 with Retry-After beyond it)."""
    rate_limit_burst: int = Field(100, ge=1, le=1_000_000)
    """Requests a token may make at once before the per-minute rate applies."""
    validate_inline_max: int = Field(50, ge=0, le=10_000)
    """POST /validate answers inline up to this many addresses; longer lists become a job
    (GET /validate/{job})."""
    validate_max_emails: int = Field(100_000, ge=1, le=10_000_000)
    """The most addresses one POST /validate takes."""
    validate_jobs_kept: int = Field(20, ge=1, le=1000)
    """Finished validate jobs kept in memory for GET /validate/{job} (oldest dropped)."""
    leads_max_rows: int = Field(10_000, ge=1, le=1_000_000)
    """The most leads one POST /leads takes."""
    lead_field_map: dict[str, str] = Field(default_factory=dict)
    """An enrichment tool's JSON onto lead fields: "person.email" = "email" (dotted paths
    into each posted object; unmapped keys are kept as custom fields)."""
    deliver_webhooks: bool = True
    """Deliver the outbound webhooks from this process too (beside a worker, one process
    delivers at a time: they share a lease)."""
    docs: bool = True
    """Serve /docs (Swagger UI); /openapi.json is always served."""

    @field_validator("lead_field_map")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        for path, field in value.items():
            if field not in LEAD_FIELDS:
                raise ValueError(
                    f"{path!r} maps to {field!r}: lead fields are {', '.join(LEAD_FIELDS)}"
                )
        return value

    @model_validator(mode="after")
    def _tls_pair(self) -> ApiSettings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together (or neither, behind a proxy)")
        names = [t.name for t in self.tokens]
        if len(names) != len(set(names)):
            raise ValueError("two [[api.tokens]] have the same name")
        return self


class EspSettings(Section):
    sns_topic_arns: list[str] = Field(default_factory=list)
    """Amazon SNS topics whose notifications are accepted (empty: any topic, signature
    still required)."""
    sns_cert_host_pattern: str = r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$"
    """Host names SNS signing certificates (and subscription confirmations) may come from:
    a regular expression, matched in full. Certificates are fetched over HTTPS only."""
    sns_confirm_subscriptions: bool = True
    """Confirm an SNS SubscriptionConfirmation (its SubscribeURL on an allowed host)."""
    sendgrid_public_key: SecretRef | None = None
    """Secret reference to the SendGrid Event Webhook verification key (base64 DER or PEM).
    Unset: SendGrid events are refused."""
    mailgun_signing_key: SecretRef | None = None
    """Secret reference to the Mailgun webhook signing key. Unset: Mailgun events are refused."""
    max_age_seconds: int = Field(300, ge=10, le=86_400)
    """Signed events older (or newer) than this are refused as stale or replayed."""

    @field_validator("sns_cert_host_pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        return value


class WebhookEndpoint(Section):
    name: str
    """Names the receiver in events and logs (the URL may carry a secret)."""
    url: str
    """Where events are POSTed (https://, or http:// on loopback only)."""
    events: list[WebhookEvent] = Field(default_factory=lambda: list(_ALL_EVENTS))
    """Which events it receives (default: every one)."""
    secret: SecretRef
    """Secret reference to the HMAC-SHA256 signing key."""

    @field_validator("url")
    @classmethod
    def _https(cls, value: str) -> str:
        loopback = re.match(r"http://(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(/|$)", value)
        if not value.startswith("https://") and not loopback:
            raise ValueError("must be an https:// URL (http:// only to loopback)")
        return value

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError("a webhook name is 1-64 letters, digits, '.', '_' or '-'")
        return value


class WebhookSettings(Section):
    endpoints: list[WebhookEndpoint] = Field(default_factory=list)
    """Receivers ([[webhooks.endpoints]] name, url, events, secret)."""
    interval_seconds: float = Field(10, ge=0.1, le=3600)
    """How often the outbox is filled from new events and due deliveries are made."""
    first_delay_seconds: float = Field(30, ge=0.1, le=86_400)
    """First retry after a failed delivery; it doubles for each further one."""
    max_delay_seconds: float = Field(1800, ge=1, le=86_400)
    """Retries are at most this far apart."""
    give_up_hours: float = Field(72, ge=0.01, le=24 * 30)
    """A delivery still failing this long after the event is abandoned (an event says so)."""
    timeout_seconds: float = Field(10, gt=0, le=600)
    """HTTP timeout of one delivery."""
    batch: int = Field(100, ge=1, le=10_000)
    """Deliveries made per pass at most."""
    keep_days: int = Field(14, ge=1, le=3650)
    """Delivered and abandoned deliveries are deleted after this many days."""

    @model_validator(mode="after")
    def _unique_names(self) -> WebhookSettings:
        names = [e.name for e in self.endpoints]
        if len(names) != len(set(names)):
            raise ValueError("two [[webhooks.endpoints]] have the same name")
        return self
