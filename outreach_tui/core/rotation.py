"""Which mailbox sends next, and how long it waits between two sends.

Rotation prefers the healthiest mailbox (lowest recent bounce rate), then spreads the load:
the one that has rested longest goes first. Every tie is broken by a fixed rule, so two
planners given the same facts pick the same mailbox.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class MailboxCandidate:
    """What rotation needs to know about one sending mailbox today."""

    id: int
    email: str
    used_today: int  # sent today + already planned for today
    daily_limit: int  # from warmup.effective_daily_limit
    available_at: datetime | None  # earliest next send (gap pacing); None = now
    last_sent_at: datetime | None
    bounce_rate: float  # recent hard-bounce rate 0..1
    yellow_today: int = 0  # YELLOW-health leads planned/sent today by this mailbox


def is_eligible(
    candidate: MailboxCandidate,
    *,
    yellow: bool = False,
    yellow_cap: int = 2,
    now: datetime | None = None,
) -> bool:
    """True when `candidate` may take one more send (of a YELLOW lead, when `yellow`)."""
    if candidate.used_today >= candidate.daily_limit:
        return False
    if yellow and candidate.yellow_today >= yellow_cap:
        return False
    return not (
        now is not None and candidate.available_at is not None and candidate.available_at > now
    )


def choose_mailbox(
    candidates: Sequence[MailboxCandidate],
    *,
    yellow: bool = False,
    yellow_cap: int = 2,
    now: datetime | None = None,
) -> MailboxCandidate | None:
    """The mailbox for the next send, or None when every one is at its limit.

    Among the eligible: lowest bounce rate; then the one that sent least recently (never sent
    counts as least recent); then fewest used today; then lowest id. When `now` is given, a
    mailbox whose `available_at` is later than `now` is not eligible.
    """
    eligible = [
        c for c in candidates if is_eligible(c, yellow=yellow, yellow_cap=yellow_cap, now=now)
    ]
    if not eligible:
        return None
    return min(eligible, key=rank)


def rank(candidate: MailboxCandidate) -> tuple[float, bool, datetime | None, int, int]:
    """The order rotation prefers (smallest first); the planner keeps heaps of it."""
    rate = candidate.bounce_rate
    # An unknown (NaN) rate must not win: NaN compares false both ways and would break min().
    rate = math.inf if math.isnan(rate) else rate
    last = candidate.last_sent_at
    # (False, None) sorts before (True, <time>); two None never reach the third element's
    # comparison with a datetime, and None == None compares equal.
    return (rate, last is not None, last, candidate.used_today, candidate.id)


def pacing_gap(seed: str, min_seconds: float, max_seconds: float) -> float:
    """A deterministic gap in [min_seconds, max_seconds] between two sends of one mailbox.

    Derived from sha256(seed), so a re-planned send gets the same gap in any process.
    `max_seconds <= min_seconds` gives exactly `min_seconds`.
    """
    if not max_seconds > min_seconds:
        return min_seconds
    digest = hashlib.sha256(seed.encode("utf-8", "surrogatepass")).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64  # in [0, 1)
    return min(max_seconds, min_seconds + fraction * (max_seconds - min_seconds))
