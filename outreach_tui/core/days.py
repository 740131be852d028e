"""Day boundaries in the operator's timezone: caps and limits reset at local midnight."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def local_day(now: datetime, tz: ZoneInfo) -> date:
    """The calendar day `now` (an aware datetime) falls on in `tz`."""
    return now.astimezone(tz).date()


def day_start_utc(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant at which `day` begins in `tz` (DST-aware)."""
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def next_day_start_utc(now: datetime, tz: ZoneInfo) -> datetime:
    """When "tomorrow" begins in `tz`, as a UTC instant."""
    return day_start_utc(local_day(now, tz) + timedelta(days=1), tz)
