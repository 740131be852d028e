"""What a report says, as the inbox needs it: one `BounceReport` whatever the format."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from outreach_tui.core.bounce_rules import BounceClass, BounceVerdict

BounceKind = Literal["bounce_hard", "bounce_soft", "complaint", "delivered", "automatic"]
"""What a report says. "delivered" is a report of success (Action: delivered, relayed,
expanded); "automatic" is machine mail about a send that reports no outcome (an SNS
subscription notice, an authentication-failure report)."""

DeliveryStatus = Literal["failed", "delayed", "delivered"]


@dataclass(frozen=True)
class BounceReport:
    kind: BounceKind
    classified_by: Literal["dsn", "arf"]
    reason: str
    recipients: tuple[str, ...] = ()
    status_code: str | None = None
    diagnostic: str | None = None
    original_message_id: str | None = None
    sender_at_fault: bool = False
    bounce_class: BounceClass | None = None
    expired: bool = False
    delivery_status: DeliveryStatus | None = None
    message_ids: tuple[str, ...] = ()
    """Every Message-ID of the reported message the report quotes, most reliable first."""


def failure(
    verdict: BounceVerdict,
    *,
    reason: str,
    recipients: tuple[str, ...],
    diagnostic: str | None,
    message_ids: tuple[str, ...],
    delayed: bool = False,
    expired: bool = False,
) -> BounceReport:
    """A failed (or delayed) delivery with its class.

    The legacy `kind` the engine reads: hard and policy are ``bounce_hard`` (policy with
    `sender_at_fault`, which the engine counts without suppressing), soft and every delay
    warning are ``bounce_soft``.
    """
    klass = verdict.bounce_class
    hard_kind = klass in ("hard", "policy") and not delayed
    return BounceReport(
        kind="bounce_hard" if hard_kind else "bounce_soft",
        classified_by="dsn",
        reason=f"{reason}; {klass} ({verdict.rule})",
        recipients=recipients,
        status_code=verdict.code,
        diagnostic=diagnostic,
        original_message_id=message_ids[0] if message_ids else None,
        sender_at_fault=klass == "policy",
        bounce_class=klass,
        expired=expired and not delayed,
        delivery_status="delayed" if delayed else "failed",
        message_ids=message_ids,
    )
