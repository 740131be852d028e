"""The sections of what comes back and who is written to: `[replies]` (the reply inbox)
and `[verify]` (lead verification)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator

from outreach_tui.config.section import Port, Range, SecretRef, Section, Timeout
from outreach_tui.core.probe_targets import parse_networks


class RepliesSettings(Section):
    """The reply inbox: the IMAP poller and what a reply's classification does."""

    mode: Literal["enforce", "suggest"] = "enforce"
    """enforce: suppress on unsubscribe, refusal, hard bounce and complaint at once;
    suggest: those suppressions wait in the Inbox for the operator to confirm or relabel."""
    folder: str = "INBOX"
    """The folder polled for replies and bounces."""
    sent_folder: str = "Sent"
    """Where to look for sends whose outcome is unknown (a folder marked \\Sent wins)."""
    imap_timeout_seconds: Timeout = 30
    """Seconds to wait for each IMAP reply."""
    ooo_default_days: Annotated[float, Range(0, 365)] = 3
    """Out-of-office without a stated return date: the next step waits this many days."""
    reconcile_min_age_minutes: Annotated[float, Range(0, 10_080)] = 15
    """A send whose outcome is unknown is looked up in Sent only after this long."""
    commit_batch: Annotated[int, Range(1, 10_000)] = 100
    """Messages whose effects (and the IMAP cursor past them) commit in one transaction;
    also how many are fetched at a time (the next batch is fetched while one is applied)."""
    llm_base_url: str | None = None
    """OpenAI-compatible API base (…/v1); set: replies the rules leave as "other" are asked."""
    llm_model: str = "gpt-4o-mini"
    """Model name sent to the chat completions endpoint."""
    llm_api_key: SecretRef | None = "env:OPENAI_API_KEY"
    """Secret reference of the endpoint's key (none: no Authorization header)."""
    llm_timeout_seconds: Timeout = 20
    """Seconds to wait for the model's answer; past it the reply stays "other"."""
    soft_bounce_days: Annotated[int, Range(1, 365)] = 3
    """An address that soft-bounces (mailbox full, expired in the queue...) on this many
    separate local days is suppressed; one soft bounce never is."""
    report_match_days: Annotated[int, Range(1, 365)] = 14
    """A bounce or complaint that quotes none of our Message-IDs acts only if it names a
    recipient this mailbox sent to within this many days; otherwise it is stored as an
    "unmatched report" and changes nothing."""


class VerifySettings(Section):
    helo_name: str = "localhost"
    """Name sent in EHLO by the SMTP probe."""
    mail_from: str = ""
    """MAIL FROM address used by the SMTP probe (empty: null sender)."""
    concurrency: Annotated[int, Range(1, 1000)] = 20
    """Probes running at once, across all hosts."""
    rate_limit_seconds: Annotated[float, Range(0, 3600)] = 2.0
    """Least time between two sessions to one MX host."""
    greylist_retry_seconds: Annotated[float, Range(0, 86_400)] = 300
    """Wait before retrying a greylisted address."""
    timeout_seconds: Timeout = 10
    """Per-reply timeout of the probe."""
    probe_port: Port = 25
    """Port the probe connects to."""
    required: bool = True
    """Leads wait for verification before the planner queues them; false also turns the
    background verify-leads job off (`outreach-tui leads verify` still works)."""
    rcpt_per_session: Annotated[int, Range(1, 100)] = 10
    """Addresses at one mail host asked in one session (1 for hosts that want one)."""
    domain_cache_hours: Annotated[float, Range(0, 8760)] = 168
    """How long a domain's MX, catch-all and disposable facts are trusted."""
    skip_catch_all_domains: list[str] = Field(
        default_factory=lambda: [
            "gmail.com",
            "googlemail.com",
            "google.com",
            "yahoo.com",
            "outlook.com",
            "hotmail.com",
            "live.com",
            "mail.ru",
            "yandex.ru",
        ]
    )
    """No random-address test for these domains or MX host domains (they answer RCPT
    truthfully, or punish probes, or answer 452 to a second RCPT)."""
    no_probe_domains: list[str] = Field(default_factory=list)
    """Domains or MX host domains never probed over SMTP (accept-everything providers):
    their addresses are UNKNOWN with the domain's MX checked."""
    disposable_domains: list[str] = Field(default_factory=list)
    """Extra throwaway-address domains, on top of the disposable-email-domains list."""
    disposable_domains_file: Path | None = None
    """A file of extra disposable domains, one a line (# comments)."""
    batch_size: Annotated[int, Range(1, 100_000)] = 500
    """Leads the verify-leads job verifies per run at most."""
    allow_networks: list[str] = Field(default_factory=list)
    """Networks (CIDR) the SMTP probe may connect to although they are not public: a mail
    host on loopback, a private, link-local, CGNAT or reserved address is refused otherwise
    (e.g. ["10.0.0.0/8"] for a private deployment, ["127.0.0.0/8"] for a test world)."""

    @field_validator("allow_networks")
    @classmethod
    def _cidr_networks(cls, value: list[str]) -> list[str]:
        return [str(network) for network in parse_networks(value)]
