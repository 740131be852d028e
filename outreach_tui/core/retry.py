"""When to try a transient failure again (RFC 5321 §4.5.4.1, Postfix-style doubling)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class RetryRules:
    first_delay_seconds: int = 300
    max_delay_seconds: int = 4000
    give_up_hours: int = 120


def next_retry_at(
    rules: RetryRules, retry_count: int, first_tried_at: datetime, now: datetime
) -> datetime | None:
    """The next attempt time after `retry_count` failures, or None when it is time to give up."""
    if now - first_tried_at >= timedelta(hours=rules.give_up_hours):
        return None
    delay = min(rules.first_delay_seconds * (2 ** max(retry_count - 1, 0)), rules.max_delay_seconds)
    return now + timedelta(seconds=delay)
