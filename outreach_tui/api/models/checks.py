"""POST /policy/validate and POST /validate."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field

from outreach_tui.api.models.base import Out, Strict


class PolicyRequest(Strict):
    """Would a send from `from` to `to` with this subject be allowed now? (Nothing is sent
    or recorded; the same check every send passes, for this engine's operator.)"""

    to: str = Field(
        min_length=3, max_length=320,
        validation_alias=AliasChoices("to", "lead_email", "recipient"),
        description="The recipient (also accepted as lead_email or recipient).",
    )  # fmt: skip
    from_: str = Field(
        min_length=3, max_length=320, alias="from",
        validation_alias=AliasChoices("from", "sender_email", "sender"),
        description="The sending mailbox (also accepted as sender_email or sender).",
    )  # fmt: skip
    subject: str = Field(max_length=998, description="The subject line.")


class PolicyResult(Out):
    """The decision: the fields of `outreach-tui policy check`."""

    allowed: bool
    reason: str
    """Why not (empty when allowed)."""
    legal_basis: str | None
    """consent or legitimate_interest, by the recipient's region."""
    daily_user_count: int
    """Sends of this operator today."""
    daily_user_limit: int
    daily_domain_count: int
    """Sends to the recipient's domain today."""
    daily_domain_limit: int
    region: str | None


class ValidateRequest(Strict):
    """Addresses to verify: syntax, disposable domain, MX, then the mailbox over SMTP."""

    emails: list[str] = Field(min_length=1, description="The addresses (at most [api] "
                              "validate_max_emails).")  # fmt: skip
    rate_limit: float | None = Field(
        None, ge=0, le=3600,
        description="Seconds between two sessions to one mail host ([verify] "
        "rate_limit_seconds by default).",
    )  # fmt: skip
    smtp: bool = Field(True, description="Ask the mailbox over SMTP (false: stop at the MX).")


class ValidationResult(Out):
    """One address's verdict."""

    email: str
    status: str
    """VALID, CATCH_ALL, MAILBOX_NOT_FOUND, INVALID_SYNTAX, NO_MX, DISPOSABLE, GREYLISTED,
    TIMEOUT, CONNECTION_REFUSED or UNKNOWN."""
    valid: bool
    """The status is VALID."""
    details: str
    mx_host: str | None
    smtp_code: int | None
    score: int
    """0-100."""
    health: Literal["GREEN", "YELLOW", "RED"]


class ValidateResponse(Out):
    """Every result, when the list was short enough to answer at once."""

    total: int
    results: list[ValidationResult]


class ValidateJobStarted(Out):
    """A longer list runs as a job: poll `status_url`."""

    job: str
    total: int
    status_url: str


class ValidateJob(Out):
    """A job's progress and a page of its results (in the order the addresses were given)."""

    job: str
    status: Literal["running", "done", "failed"]
    total: int
    done: int
    results: list[ValidationResult]
    next_offset: int | None
    """Where the next page starts (None: this page reached the end of the list). A page
    stops at the first address still being verified: ask again from `next_offset`."""
