"""Policy validation: may this sender write to this recipient now?

`evaluate` is pure: the engine gathers the facts (today's counts, suppression hits, paused
flags) inside one database transaction and hands them here. Checks run in a fixed order so
the reason an operator sees is always the most fundamental one.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from outreach_tui.core.region import DEFAULT_REGION_TABLE, RegionRule, infer_region


class BlockCode(StrEnum):
    """Why a send was refused. `temporary` codes clear by themselves (a new day, a resume)."""

    SUPPRESSED_ADDRESS = "suppressed_address"
    SUPPRESSED_DOMAIN = "suppressed_domain"
    DUPLICATE = "duplicate_within_window"
    USER_CAP = "daily_user_cap"
    DOMAIN_CAP = "daily_domain_cap"
    MAILBOX_LIMIT = "mailbox_daily_limit"
    MAILBOX_PAUSED = "mailbox_paused"
    DOMAIN_PAUSED = "sending_domain_paused"
    CAMPAIGN_PAUSED = "campaign_paused"
    LEAD_FINAL = "lead_final_state"

    @property
    def temporary(self) -> bool:
        return self in _TEMPORARY


_TEMPORARY = frozenset(
    {
        BlockCode.USER_CAP,
        BlockCode.DOMAIN_CAP,
        BlockCode.MAILBOX_LIMIT,
        BlockCode.MAILBOX_PAUSED,
        BlockCode.DOMAIN_PAUSED,
        BlockCode.CAMPAIGN_PAUSED,
    }
)


@dataclass(frozen=True, slots=True)
class PolicyLimits:
    """The configurable rules; each check can be switched off."""

    daily_user_cap: int = 100
    daily_domain_cap: int = 20
    idempotency_window_hours: int = 24
    check_user_cap: bool = True
    check_domain_cap: bool = True
    check_suppression: bool = True
    check_idempotency: bool = True
    check_mailbox_limit: bool = True
    check_paused: bool = True
    region_table: Mapping[str, RegionRule] = field(default_factory=lambda: DEFAULT_REGION_TABLE)


@dataclass(frozen=True, slots=True)
class PolicyFacts:
    """What the database says about one intended send, read in one transaction.

    Counts include sends in flight (attempts in `sending`), so concurrent senders cannot
    overshoot a cap between the check and the server's reply.
    """

    operator_id: str
    sender: str
    recipient: str
    subject: str
    user_count_today: int = 0
    domain_count_today: int = 0
    mailbox_count_today: int = 0
    mailbox_daily_limit: int | None = None
    suppressed_address: bool = False
    suppressed_domain: str | None = None
    duplicate_within_window: bool = False
    mailbox_paused: bool = False
    sending_domain_paused: bool = False
    campaign_paused: bool = False
    lead_final_status: str | None = None


@dataclass(frozen=True, slots=True)
class PolicyDecision:
    allowed: bool
    reason: str
    code: BlockCode | None
    legal_basis: str
    region: str
    daily_user_count: int
    daily_user_limit: int
    daily_domain_count: int
    daily_domain_limit: int

    @property
    def temporary(self) -> bool:
        """True when the block will clear by itself (caps reset, pauses lift)."""
        return self.code is not None and self.code.temporary

    def as_dict(self) -> dict[str, object]:
        """The JSON contract of `outreach-tui policy check`."""
        return {
            "allowed": self.allowed,
            "reason": self.reason,
            "legal_basis": self.legal_basis,
            "daily_user_count": self.daily_user_count,
            "daily_user_limit": self.daily_user_limit,
            "daily_domain_count": self.daily_domain_count,
            "daily_domain_limit": self.daily_domain_limit,
            "region": self.region,
        }


def evaluate(facts: PolicyFacts, limits: PolicyLimits) -> PolicyDecision:
    """Decide one send. Order: final lead state, suppression, pauses, idempotency, caps."""
    rule = infer_region(facts.recipient, limits.region_table)
    code, reason = _first_block(facts, limits)

    return PolicyDecision(
        allowed=code is None,
        reason=reason,
        code=code,
        legal_basis=rule.legal_basis.value,
        region=rule.region,
        daily_user_count=facts.user_count_today,
        daily_user_limit=limits.daily_user_cap,
        daily_domain_count=facts.domain_count_today,
        daily_domain_limit=limits.daily_domain_cap,
    )


def _first_block(facts: PolicyFacts, limits: PolicyLimits) -> tuple[BlockCode | None, str]:
    if facts.lead_final_status is not None:
        return BlockCode.LEAD_FINAL, f"lead is {facts.lead_final_status}; no further sends"
    if limits.check_suppression:
        if facts.suppressed_address:
            return BlockCode.SUPPRESSED_ADDRESS, f"{facts.recipient} is on the suppression list"
        if facts.suppressed_domain:
            return (
                BlockCode.SUPPRESSED_DOMAIN,
                f"domain {facts.suppressed_domain} is on the suppression list",
            )
    if limits.check_paused:
        if facts.mailbox_paused:
            return BlockCode.MAILBOX_PAUSED, f"mailbox {facts.sender} is paused"
        if facts.sending_domain_paused:
            return BlockCode.DOMAIN_PAUSED, f"sending domain of {facts.sender} is paused"
        if facts.campaign_paused:
            return BlockCode.CAMPAIGN_PAUSED, "campaign is paused"
    if limits.check_idempotency and facts.duplicate_within_window:
        return (
            BlockCode.DUPLICATE,
            f"same sender, recipient and subject already sent within "
            f"{limits.idempotency_window_hours} h",
        )
    if limits.check_user_cap and facts.user_count_today >= limits.daily_user_cap:
        return (
            BlockCode.USER_CAP,
            f"daily cap of {limits.daily_user_cap} sends for operator {facts.operator_id} reached",
        )
    if limits.check_domain_cap and facts.domain_count_today >= limits.daily_domain_cap:
        return (
            BlockCode.DOMAIN_CAP,
            f"daily cap of {limits.daily_domain_cap} sends to recipient domain "
            f"{_domain(facts.recipient)} reached",
        )
    if (
        limits.check_mailbox_limit
        and facts.mailbox_daily_limit is not None
        and facts.mailbox_count_today >= facts.mailbox_daily_limit
    ):
        return (
            BlockCode.MAILBOX_LIMIT,
            f"mailbox {facts.sender} reached its daily limit of {facts.mailbox_daily_limit}",
        )
    return None, "allowed"


def _domain(email: str) -> str:
    return email.rpartition("@")[2].lower()


def normalize_subject(subject: str) -> str:
    """Subject as compared for idempotency: NFC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFC", subject).casefold().split())


def idempotency_key(sender: str, recipient: str, subject: str) -> str:
    """Stable key for (sender, recipient, subject); addresses compared case-insensitively."""
    material = "\x1f".join(
        (sender.strip().lower(), recipient.strip().lower(), normalize_subject(subject))
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()
