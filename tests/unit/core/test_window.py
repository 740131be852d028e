"""Send windows: parsing, open/closed, the next opening and DST gaps and repeats."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outreach_tui.core.errors import InputError
from outreach_tui.core.window import ALWAYS, SendWindow

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS_9_TO_5 = SendWindow.parse(["mon", "tue", "wed", "thu", "fri"], "09:00", "17:00")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- parse ---------------------------------------------------------------------------------


def test_parse_accepts_short_and_full_day_names_in_any_case():
    window = SendWindow.parse(["Mon", "TUESDAY", " sun "], "09:00", "17:30")
    assert window.days == frozenset({0, 1, 6})
    assert (window.start, window.end) == (time(9), time(17, 30))


def test_parse_accepts_a_comma_separated_string_of_days():
    assert SendWindow.parse("mon,wed fri", "9:00", "10:00").days == frozenset({0, 2, 4})


def test_parse_24_00_end_means_until_midnight():
    window = SendWindow.parse(["sat"], "20:00", "24:00")
    assert window.end == time.max
    assert window.is_open(datetime(2024, 6, 1, 23, 59, 59, 999999, tzinfo=BERLIN), BERLIN)


@pytest.mark.parametrize("bad", ["funday", "mo", "", "7"])
def test_parse_unknown_day_is_an_input_error_naming_it(bad):
    days = ["mon", bad] if bad else []
    with pytest.raises(InputError) as info:
        SendWindow.parse(days, "09:00", "17:00")
    assert (repr(bad) in str(info.value)) if bad else "no days" in str(info.value)


@pytest.mark.parametrize("bad", ["9am", "25:00", "09:60", "0900", "", "24:00"])
def test_parse_bad_start_time_is_an_input_error_naming_it(bad):
    with pytest.raises(InputError, match=repr(bad)):
        SendWindow.parse(["mon"], bad, "23:00")


@pytest.mark.parametrize(("start", "end"), [("09:00", "09:00"), ("17:00", "09:00")])
def test_end_must_be_after_start(start, end):
    with pytest.raises(InputError, match="must be after start"):
        SendWindow.parse(["mon"], start, end)


def test_empty_day_set_is_rejected():
    with pytest.raises(InputError):
        SendWindow(days=frozenset(), start=time(9), end=time(10))


# --- is_open / next_open / close_of --------------------------------------------------------


def test_open_inside_the_local_window_and_closed_at_its_end():
    # 2024-06-03 is a Monday; Berlin is UTC+2 in summer.
    assert WEEKDAYS_9_TO_5.is_open(utc(2024, 6, 3, 7, 0), BERLIN)
    assert not WEEKDAYS_9_TO_5.is_open(utc(2024, 6, 3, 6, 59, 59), BERLIN)
    assert not WEEKDAYS_9_TO_5.is_open(utc(2024, 6, 3, 15, 0), BERLIN)


def test_closed_on_days_not_listed():
    assert not WEEKDAYS_9_TO_5.is_open(utc(2024, 6, 8, 10, 0), BERLIN)  # Saturday


def test_weekday_is_the_local_one_not_utc():
    # Monday 00:30 in Berlin is still Sunday in UTC.
    window = SendWindow.parse(["mon"], "00:00", "01:00")
    assert window.is_open(utc(2024, 6, 2, 22, 30), BERLIN)


def test_next_open_is_now_when_open():
    at = utc(2024, 6, 3, 10, 0)
    assert WEEKDAYS_9_TO_5.next_open(at, BERLIN) == at


def test_next_open_after_friday_close_is_monday_morning():
    friday_evening = utc(2024, 6, 7, 16, 0)
    assert WEEKDAYS_9_TO_5.next_open(friday_evening, BERLIN) == utc(2024, 6, 10, 7, 0)


def test_next_open_before_the_window_is_today():
    assert WEEKDAYS_9_TO_5.next_open(utc(2024, 6, 3, 3, 0), BERLIN) == utc(2024, 6, 3, 7, 0)


def test_next_open_returns_utc():
    assert WEEKDAYS_9_TO_5.next_open(utc(2024, 6, 3, 3, 0), BERLIN).utcoffset() == timedelta(0)


def test_start_in_a_spring_forward_gap_opens_at_the_end_of_the_gap():
    # New York, 2024-03-10 (Sunday): 02:00 EST jumps to 03:00 EDT at 07:00 UTC.
    window = SendWindow.parse(["sun"], "02:30", "05:00")
    opened = window.next_open(utc(2024, 3, 10, 5, 0), NEW_YORK)
    assert opened == utc(2024, 3, 10, 7, 0)
    assert opened.astimezone(NEW_YORK).time() == time(3, 0)


def test_window_entirely_inside_a_gap_skips_to_the_next_week():
    window = SendWindow.parse(["sun"], "02:00", "02:45")
    opened = window.next_open(utc(2024, 3, 10, 5, 0), NEW_YORK)
    assert opened == datetime(2024, 3, 17, 2, 0, tzinfo=NEW_YORK).astimezone(UTC)


def test_repeated_hour_after_fall_back_reopens_the_window():
    # New York, 2024-11-03 (Sunday): 02:00 EDT falls back to 01:00 EST at 06:00 UTC,
    # so 01:15-01:45 local happens twice.
    window = SendWindow.parse(["sun"], "01:15", "01:45")
    first_pass_after_close = utc(2024, 11, 3, 5, 50)  # 01:50 EDT
    assert not window.is_open(first_pass_after_close, NEW_YORK)
    assert window.next_open(first_pass_after_close, NEW_YORK) == utc(2024, 11, 3, 6, 15)


def test_fall_back_into_the_window_reopens_at_the_transition():
    window = SendWindow.parse(["sun"], "00:30", "01:30")
    after_close = utc(2024, 11, 3, 5, 40)  # 01:40 EDT, closed
    assert window.next_open(after_close, NEW_YORK) == utc(2024, 11, 3, 6, 0)  # 01:00 EST


def test_close_of_is_the_local_end_of_todays_window():
    assert WEEKDAYS_9_TO_5.close_of(utc(2024, 6, 3, 10, 0), BERLIN) == utc(2024, 6, 3, 15, 0)


def test_close_of_an_end_inside_a_gap_is_the_transition():
    window = SendWindow.parse(["sun"], "01:00", "02:30")
    assert window.close_of(utc(2024, 3, 10, 6, 30), NEW_YORK) == utc(2024, 3, 10, 7, 0)


def test_close_of_always_is_the_next_local_midnight():
    assert ALWAYS.close_of(utc(2024, 6, 3, 10, 0), BERLIN) == utc(2024, 6, 3, 22, 0)


def test_always_is_open_at_every_instant_of_the_day():
    assert ALWAYS.is_open(datetime(2024, 6, 3, 0, 0, tzinfo=BERLIN), BERLIN)
    assert ALWAYS.is_open(datetime(2024, 6, 3, 23, 59, 59, 999999, tzinfo=BERLIN), BERLIN)


def test_naive_instant_is_refused():
    with pytest.raises(ValueError, match="aware"):
        WEEKDAYS_9_TO_5.is_open(datetime(2024, 6, 3, 10, 0), BERLIN)


# --- properties ----------------------------------------------------------------------------

ZONES = [
    ZoneInfo(name)
    for name in (
        "UTC",
        "Europe/Berlin",
        "America/New_York",
        "Australia/Lord_Howe",  # 30-minute DST shift
        "Asia/Kolkata",
        "Pacific/Chatham",
        "America/Sao_Paulo",  # historic DST at midnight
        "Pacific/Apia",  # skipped a whole day in 2011
    )
]

minutes = st.integers(min_value=0, max_value=24 * 60 - 1)


@st.composite
def windows(draw: st.DrawFn) -> SendWindow:
    days = draw(st.frozensets(st.integers(0, 6), min_size=1))
    a, b = draw(minutes), draw(st.one_of(minutes, st.just(24 * 60)))
    if a == b:
        b = a + 1
    lo, hi = min(a, b), max(a, b)
    end = time.max if hi >= 24 * 60 else time(hi // 60, hi % 60)
    return SendWindow(days=days, start=time(lo // 60, lo % 60), end=end)


instants = st.datetimes(
    min_value=datetime(2005, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
)


def _dst_instants(tz: ZoneInfo) -> list[datetime]:
    """Instants near this zone's transitions, where the interesting bugs live."""
    out: list[datetime] = []
    for year in (2011, 2024):
        at = datetime(year, 1, 1, tzinfo=UTC)
        prev = at.astimezone(tz).utcoffset()
        while at.year == year:
            at += timedelta(hours=6)
            now = at.astimezone(tz).utcoffset()
            if now != prev:
                out.extend(at + timedelta(hours=h) for h in range(-30, 6, 1))
            prev = now
    return out or [datetime(2024, 3, 10, tzinfo=UTC)]


@st.composite
def zone_and_instant(draw: st.DrawFn) -> tuple[ZoneInfo, datetime]:
    tz = draw(st.sampled_from(ZONES))
    at = draw(st.one_of(instants, st.sampled_from(_dst_instants(tz))))
    return tz, at


@given(window=windows(), zone_at=zone_and_instant())
def test_next_open_is_an_open_instant_not_before_at(window, zone_at):
    tz, at = zone_at
    opened = window.next_open(at, tz)
    assert opened >= at
    assert window.is_open(opened, tz)


@given(window=windows(), zone_at=zone_and_instant())
def test_next_open_is_idempotent(window, zone_at):
    tz, at = zone_at
    opened = window.next_open(at, tz)
    assert window.next_open(opened, tz) == opened


@given(
    window=windows(),
    zone_at=zone_and_instant(),
    fractions=st.lists(st.floats(0, 1, exclude_min=True, exclude_max=True), max_size=20),
)
def test_nothing_between_at_and_next_open_is_open(window, zone_at, fractions):
    tz, at = zone_at
    opened = window.next_open(at, tz)
    if opened == at:
        return
    span = opened - at
    samples = [at + span * f for f in fractions]
    samples += [at + span * (i / 200) for i in range(1, 200)]
    samples.append(opened - timedelta(microseconds=1))
    for point in samples:
        if at < point < opened:
            assert not window.is_open(point, tz), point


@given(window=windows(), zone_at=zone_and_instant())
def test_window_stays_open_until_close_of(window, zone_at):
    tz, at = zone_at
    opened = window.next_open(at, tz)
    closes = window.close_of(opened, tz)
    assert closes > opened
    span = closes - opened
    for i in range(0, 100):
        assert window.is_open(opened + span * (i / 100), tz)
    assert window.is_open(closes - timedelta(microseconds=1), tz)
