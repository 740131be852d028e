"""The rule that lets sends far from a cap count it under a shared lock (core/cap_locks.py),
and the worker's choice of lock modes built on it (engine/sending/cap_locks.py)."""

from __future__ import annotations

import random
from datetime import date

import pytest

from outreach_tui.core.cap_locks import may_share, room_for_shared_lock
from outreach_tui.core.policy import PolicyDecision, PolicyLimits
from outreach_tui.engine.sending.cap_locks import CapLockChooser

DAY = date(2026, 12, 7)


def _simulate(cap: int, concurrency: int, rng: random.Random) -> int:
    """`concurrency` transactions at once, interleaved at random, each: take the cap's lock
    (shared, or exclusive when it has seen the cap near), count the committed sends, claim
    one if the count allows, commit. Returns the most sends ever committed; a shared lock is
    granted while nobody holds it exclusively, an exclusive one while nobody holds it."""
    committed = 0
    near = False
    slots: list[dict] = [{"step": "idle"} for _ in range(concurrency)]
    most = 0
    for _ in range(cap * concurrency * 6):
        slot = rng.choice(slots)
        holders = [s for s in slots if s["step"] in ("counted", "locked")]
        if slot["step"] == "idle":
            slot.update(step="waiting", shared=not near)
        elif slot["step"] == "waiting":
            exclusive_held = any(not s["shared"] for s in holders)
            if (slot["shared"] and not exclusive_held) or (not slot["shared"] and not holders):
                slot["step"] = "locked"
        elif slot["step"] == "locked":
            count = committed
            if slot["shared"]:
                claim = room_for_shared_lock(count, cap, concurrency)
                near = near or not claim
            else:
                claim = count < cap
            slot.update(step="counted", claim=claim)
        elif slot["step"] == "counted":
            committed += 1 if slot["claim"] else 0
            most = max(most, committed)
            slot["step"] = "idle"
    return most


@pytest.mark.parametrize("concurrency", [2, 3, 5, 8])
def test_sends_sharing_the_lock_far_from_a_cap_never_pass_it_together(concurrency):
    rng = random.Random(concurrency)
    for cap in range(concurrency + 1, concurrency + 30):
        assert _simulate(cap, concurrency, rng) == cap


def test_a_count_that_leaves_no_room_for_every_open_transaction_is_not_enough():
    assert room_for_shared_lock(69, 100, 30)
    assert not room_for_shared_lock(70, 100, 30)
    assert not room_for_shared_lock(100, 100, 30)


def test_a_cap_within_the_databases_concurrency_is_always_counted_exclusively():
    assert not may_share(300, 300, near=False)
    assert may_share(301, 300, near=False)
    assert not may_share(100_000, 300, near=True)
    assert may_share(None, 300, near=True)  # nothing to hold


def _decision(user: int, domain: int) -> PolicyDecision:
    return PolicyDecision(
        allowed=True, reason="allowed", code=None, legal_basis="", region="",
        daily_user_count=user, daily_user_limit=0, daily_domain_count=domain,
        daily_domain_limit=0,
    )  # fmt: skip


def test_a_worker_counts_a_cap_it_has_seen_near_full_exclusively_until_the_day_ends():
    chooser = CapLockChooser(PolicyLimits(daily_user_cap=1000, daily_domain_cap=500), 100)
    modes = chooser.modes(DAY, "big.com")
    assert (modes.operator, modes.domain) == (True, True)
    assert chooser.confirm(DAY, "big.com", modes, _decision(user=899, domain=10))
    assert not chooser.confirm(DAY, "big.com", modes, _decision(user=900, domain=10))
    after = chooser.modes(DAY, "big.com")
    assert (after.operator, after.domain) == (False, True)
    assert not chooser.operator_shared(DAY)
    assert not chooser.confirm(DAY, "big.com", after, _decision(user=950, domain=400))
    assert not chooser.modes(DAY, "big.com").domain
    assert chooser.modes(DAY, "other.com").domain
    tomorrow = chooser.modes(date(2026, 12, 8), "big.com")
    assert (tomorrow.operator, tomorrow.domain) == (True, True)


def test_small_caps_and_the_mailbox_are_locked_exclusively_and_unchecked_caps_shared():
    small = CapLockChooser(PolicyLimits(daily_user_cap=100, daily_domain_cap=20), 300)
    assert small.modes(DAY, "a.com").as_tuple() == (False, False, False)
    unchecked = CapLockChooser(PolicyLimits(check_user_cap=False, check_domain_cap=False), 300)
    assert unchecked.modes(DAY, "a.com").as_tuple() == (True, True, False)
    assert unchecked.confirm(DAY, "a.com", unchecked.modes(DAY, "a.com"), _decision(10**6, 10**6))
