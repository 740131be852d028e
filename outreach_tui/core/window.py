"""Send windows: which local weekdays and hours a campaign may send in.

A window is a set of weekdays and a daytime interval [start, end) in the campaign's timezone;
windows never cross midnight. Daylight-saving changes are handled on instants, not wall times:
a start time skipped by a spring-forward gap opens at the first instant after the gap, and a
wall time that happens twice in a fall-back night is open both times.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from outreach_tui.core.errors import InputError

_DAY_NAMES: dict[str, int] = {}
for _number, _name in enumerate(
    ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
):
    _DAY_NAMES[_name] = _number
    _DAY_NAMES[_name[:3]] = _number

_TIME_RE = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")

# How far ahead next_open looks. A week always contains every weekday; the extra week covers a
# day whose whole window fell into a DST gap.
_HORIZON_DAYS = 16
# Offsets are sampled this often to find DST transitions; real transitions are months apart.
_OFFSET_SAMPLE = timedelta(hours=6)


@dataclass(frozen=True, slots=True)
class SendWindow:
    """Weekdays (0 = Monday ... 6 = Sunday) and local times [start, end).

    `end == time.max` means "until midnight", inclusive of the day's last microsecond.
    """

    days: frozenset[int]
    start: time
    end: time

    def __post_init__(self) -> None:
        if not self.days:
            raise InputError("send window has no days")
        if not self.days <= frozenset(range(7)):
            raise InputError(f"send window days must be 0..6, got {sorted(self.days)}")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise InputError("send window times are local wall times and carry no timezone")
        if self.end <= self.start:
            raise InputError(
                f"send window end {self.end.isoformat()} must be after start "
                f"{self.start.isoformat()} (windows cannot cross midnight)"
            )

    @classmethod
    def parse(cls, days: Sequence[str], start: str, end: str) -> SendWindow:
        """Build a window from campaign-file values: `["mon", "Tuesday"]`, `"09:00"`, `"17:30"`.

        `end` may be `"24:00"` for "until midnight". Bad input raises InputError naming the value.
        """
        # A bare string ("mon,tue") would otherwise be read letter by letter.
        items = re.split(r"[,\s]+", days) if isinstance(days, str) else list(days)
        numbers: set[int] = set()
        for item in items:
            if not isinstance(item, str):
                raise InputError(f"send window day {item!r} is not a day name")
            key = item.strip().casefold()
            if not key:
                continue
            if key not in _DAY_NAMES:
                raise InputError(f"unknown day {item!r} in send window (use mon, tue, ... sun)")
            numbers.add(_DAY_NAMES[key])
        if not numbers:
            raise InputError("send window has no days")
        start_time = _parse_time(start, "start", allow_midnight_end=False)
        end_time = _parse_time(end, "end", allow_midnight_end=True)
        if end_time <= start_time:
            raise InputError(
                f"send window end {end!r} must be after start {start!r} "
                "(windows cannot cross midnight)"
            )
        return cls(days=frozenset(numbers), start=start_time, end=end_time)

    def is_open(self, at: datetime, tz: ZoneInfo) -> bool:
        """True when `at` (an aware instant) falls inside the window in `tz`."""
        local = _aware(at).astimezone(tz)
        if local.weekday() not in self.days:
            return False
        wall = local.time()
        if self.end == time.max:
            return wall >= self.start
        return self.start <= wall < self.end

    def next_open(self, at: datetime, tz: ZoneInfo) -> datetime:
        """`at` when the window is open, else the UTC instant at which it next opens."""
        at = _aware(at)
        if self.is_open(at, tz):
            return at
        # The window can only switch from closed to open where the local clock reaches
        # `start` (either pass of a repeated hour) or where it jumps (a DST transition).
        first_day = at.astimezone(tz).date() - timedelta(days=1)
        candidates: list[datetime] = []
        for offset in range(_HORIZON_DAYS + 1):
            day = first_day + timedelta(days=offset)
            if day.weekday() in self.days:
                candidates.extend(_wall_instants(day, self.start, tz))
        candidates.extend(_transitions(at, at + timedelta(days=_HORIZON_DAYS), tz))
        opening = [c for c in candidates if c > at and self.is_open(c, tz)]
        if not opening:  # pragma: no cover - impossible for a non-empty day set
            raise RuntimeError("send window never opens")
        return min(opening)

    def close_of(self, at: datetime, tz: ZoneInfo) -> datetime:
        """The UTC instant at which the window containing `at` ends (meaningful when open)."""
        at = _aware(at)
        local = at.astimezone(tz)
        today = local.date()
        tomorrow = today + timedelta(days=1)
        midnight = min(_wall_instants(tomorrow, time.min, tz))
        candidates = [midnight]
        if self.end != time.max:
            candidates.extend(_wall_instants(today, self.end, tz))
        candidates.extend(_transitions(at, midnight, tz))
        # The first later instant that is closed, or belongs to another local day's window.
        closing = [c for c in candidates if c > at and (c >= midnight or not self.is_open(c, tz))]
        return min(closing)


ALWAYS = SendWindow(days=frozenset(range(7)), start=time.min, end=time.max)


def _parse_time(value: str, which: str, *, allow_midnight_end: bool) -> time:
    match = _TIME_RE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise InputError(f"send window {which} {value!r} is not a time like 09:00")
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    if allow_midnight_end and (hour, minute, second) == (24, 0, 0):
        return time.max
    if hour > 23 or minute > 59 or second > 59:
        raise InputError(f"send window {which} {value!r} is not a valid time of day")
    return time(hour, minute, second)


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("send window instants must be timezone-aware")
    return at.astimezone(UTC)


def _wall_instants(day: date, wall: time, tz: ZoneInfo) -> list[datetime]:
    """The UTC instants at which the local clock in `tz` shows `wall` on `day`.

    Two for a wall time repeated by a fall-back; for one skipped by a spring-forward gap, the
    first instant after the gap (the transition itself).
    """
    naive = datetime.combine(day, wall)
    found: list[datetime] = []
    for fold in (0, 1):
        instant = naive.replace(tzinfo=tz, fold=fold).astimezone(UTC)
        if instant.astimezone(tz).replace(tzinfo=None) == naive:
            found.append(instant)
    if found:
        return found
    # A gap: fold=1 resolves with the later offset and lands before the jump, fold=0 with the
    # earlier offset and lands after it; the transition lies between.
    lo = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    hi = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if lo > hi:
        lo, hi = hi, lo
    return [_first_with_offset_of(lo, hi, tz)]


def _transitions(start: datetime, stop: datetime, tz: ZoneInfo) -> list[datetime]:
    """UTC instants in (start, stop] at which the UTC offset of `tz` changes."""
    found: list[datetime] = []
    lo, lo_offset = start, start.astimezone(tz).utcoffset()
    while lo < stop:
        hi = min(lo + _OFFSET_SAMPLE, stop)
        hi_offset = hi.astimezone(tz).utcoffset()
        if hi_offset != lo_offset:
            found.append(_first_with_offset_of(lo, hi, tz))
        lo, lo_offset = hi, hi_offset
    return found


def _first_with_offset_of(lo: datetime, hi: datetime, tz: ZoneInfo) -> datetime:
    """The earliest instant in (lo, hi] whose offset in `tz` equals that at `hi` (bisection)."""
    target = hi.astimezone(tz).utcoffset()
    step = timedelta(microseconds=1)
    while hi - lo > step:
        mid = lo + (hi - lo) // 2
        if mid.astimezone(tz).utcoffset() == target:
            hi = mid
        else:
            lo = mid
    return hi
