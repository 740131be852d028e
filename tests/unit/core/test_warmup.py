"""Warmup ramps and the daily limit each mailbox phase allows."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outreach_tui.core.errors import InputError
from outreach_tui.core.states import MailboxPhase
from outreach_tui.core.warmup import WarmupRamp, effective_daily_limit, warmup_limit

START = date(2024, 6, 3)
WEEKLY = WarmupRamp()
PERCENT = WarmupRamp(kind="percent")


def day(n: int) -> date:
    """Day n of the warmup (day 1 is START)."""
    return START + timedelta(days=n - 1)


def limit(phase=MailboxPhase.HEALTHY, **overrides):
    args = {
        "phase": phase,
        "fixed_limit": None,
        "warmup_started": None,
        "today": START,
        "ramp": WEEKLY,
        "default_limit": 40,
        "phase_started": None,
    }
    args.update(overrides)
    return effective_daily_limit(**args)


# --- warmup_limit --------------------------------------------------------------------------


def test_not_warming_up_has_no_warmup_limit():
    assert warmup_limit(None, START, WEEKLY) is None


def test_days_before_the_start_allow_nothing():
    assert warmup_limit(START, START - timedelta(days=1), WEEKLY) == 0


@pytest.mark.parametrize(
    ("n", "expected"),
    [(1, 5), (7, 5), (8, 10), (14, 10), (15, 20), (22, 35), (29, 50), (36, 50), (400, 50)],
)
def test_weekly_ramp_steps_each_week_and_holds_the_last(n, expected):
    assert warmup_limit(START, day(n), WEEKLY) == expected


def test_percent_ramp_climbs_twenty_percent_rounded_up_to_the_cap():
    got = [warmup_limit(START, day(n), PERCENT) for n in range(1, 16)]
    # 5 → +1 → 6 → +2 (1.2 up) → 8 → +2 → 10 → +2 → 12 → +3 (2.4 up) → 15 → +3 → 18 ...
    assert got[:8] == [5, 6, 8, 10, 12, 15, 18, 22]
    assert got[-1] == 50
    assert warmup_limit(START, day(1000), PERCENT) == 50


def test_percent_ramp_exact_products_are_not_rounded_up_twice():
    ramp = WarmupRamp(kind="percent", percent_start=15, percent_cap=100)
    assert warmup_limit(START, day(2), ramp) == 18  # 15 * 0.2 is 3, not 4


def test_percent_ramp_adds_at_least_one_per_day():
    ramp = WarmupRamp(kind="percent", percent_start=1, percent_daily_increase=0.0)
    assert [warmup_limit(START, day(n), ramp) for n in range(1, 5)] == [1, 2, 3, 4]


def test_percent_start_above_the_cap_is_capped():
    ramp = WarmupRamp(kind="percent", percent_start=80, percent_cap=50)
    assert warmup_limit(START, START, ramp) == 50


@pytest.mark.parametrize(
    "bad",
    [
        {"weekly_steps": ()},
        {"weekly_steps": (5, -1)},
        {"percent_cap": -1},
        {"percent_daily_increase": -0.1},
        {"percent_daily_increase": float("nan")},
        {"kind": "daily"},
    ],
)
def test_invalid_ramp_is_an_input_error(bad):
    with pytest.raises(InputError):
        WarmupRamp(**bad)


@given(ramp=st.sampled_from([WEEKLY, PERCENT]), a=st.integers(-10, 500), b=st.integers(-10, 500))
def test_ramp_never_decreases_over_time(ramp, a, b):
    lo, hi = sorted((a, b))
    assert warmup_limit(START, day(lo), ramp) <= warmup_limit(START, day(hi), ramp)


# --- effective_daily_limit -----------------------------------------------------------------


@pytest.mark.parametrize("phase", [MailboxPhase.PAUSED, MailboxPhase.QUARANTINE])
def test_paused_and_quarantined_mailboxes_send_nothing(phase):
    assert limit(phase, fixed_limit=100) == 0


@pytest.mark.parametrize("phase", list(MailboxPhase))
def test_cooldown_sends_nothing_in_any_phase(phase):
    assert limit(phase, fixed_limit=100, cooling_down=True) == 0


def test_healthy_uses_the_fixed_limit_else_the_default():
    assert limit(fixed_limit=25) == 25
    assert limit() == 40


def test_healthy_warming_up_is_held_to_the_ramp():
    assert limit(fixed_limit=100, warmup_started=START, today=day(8)) == 10


def test_healthy_limit_below_the_ramp_wins():
    assert limit(fixed_limit=3, warmup_started=START, today=day(30)) == 3


def test_phase_accepts_the_plain_string():
    assert limit("HEALTHY", fixed_limit=7) == 7


def test_unknown_phase_is_an_input_error():
    with pytest.raises(InputError, match="SLEEPING"):
        limit("SLEEPING")


def test_restricted_send_is_flat_ten():
    assert limit(MailboxPhase.RESTRICTED_SEND, fixed_limit=100, phase_started=day(-30)) == 10
    assert limit(MailboxPhase.RESTRICTED_SEND, fixed_limit=100, restricted_limit=4) == 4


def test_restricted_send_never_exceeds_the_healthy_limit():
    assert limit(MailboxPhase.RESTRICTED_SEND, warmup_started=START, today=day(1)) == 5


def test_warm_recovery_starts_at_fifty_and_adds_five_per_whole_day():
    common = {"fixed_limit": 500, "phase_started": START}
    assert limit(MailboxPhase.WARM_RECOVERY, today=day(1), **common) == 50
    assert limit(MailboxPhase.WARM_RECOVERY, today=day(2), **common) == 55
    assert limit(MailboxPhase.WARM_RECOVERY, today=day(5), **common) == 70


def test_warm_recovery_never_exceeds_the_healthy_limit():
    assert limit(MailboxPhase.WARM_RECOVERY, fixed_limit=60, phase_started=day(-100)) == 60
    assert limit(MailboxPhase.WARM_RECOVERY, phase_started=START) == 40  # default 40 < 50


def test_warm_recovery_without_a_start_date_is_its_first_day():
    assert limit(MailboxPhase.WARM_RECOVERY, fixed_limit=500) == 50


def test_warm_recovery_start_date_in_the_future_counts_as_day_one():
    assert limit(MailboxPhase.WARM_RECOVERY, fixed_limit=500, phase_started=day(5)) == 50


@given(
    phase=st.sampled_from(list(MailboxPhase)),
    fixed=st.one_of(st.none(), st.integers(-50, 500)),
    default=st.integers(-50, 500),
    offset=st.integers(-20, 400),
    restricted=st.integers(-5, 50),
    warming=st.booleans(),
)
def test_limit_is_never_negative_nor_above_healthy(
    phase, fixed, default, offset, restricted, warming
):
    common = {
        "fixed_limit": fixed,
        "default_limit": default,
        "today": day(offset),
        "warmup_started": START if warming else None,
        "phase_started": START,
        "restricted_limit": restricted,
    }
    got = limit(phase, **common)
    healthy = limit(MailboxPhase.HEALTHY, **common)
    assert 0 <= got <= healthy
