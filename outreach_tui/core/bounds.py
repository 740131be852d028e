"""The ranges a number read from a file may take, and the clamp for one that escaped them.

Every number in `config.toml` (outreach_tui/config/) and in a campaign file
(engine/sending/campaigns.py) is checked against a `Range` when the file is loaded, so the
computations that use it later (a due date, a timer, a cap, a backoff) cannot overflow or
wait forever: such a failure would come after the server accepted a message, too late to
refuse anything. A value that reached the database before its range existed is clamped where
it is used (`days_later`), never trusted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

#: The longest wait between two steps of a campaign (a year).
MAX_STEP_DELAY_DAYS = 365


@dataclass(frozen=True, slots=True)
class Range:
    """`Annotated[float, Range(0, 365)]`: a finite number from `lo` to `hi` (both included,
    or `lo` excluded when `above`). The message names both ends, e.g. "must be between 0
    and 365"; the loader puts the key in front of it."""

    lo: float
    hi: float
    above: bool = False

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        in_range = core_schema.no_info_after_validator_function(self.check, handler(source))
        # Before the number is parsed: "inf" gets the same sentence as any other value out
        # of range, whether or not the model refuses infinities itself.
        return core_schema.no_info_before_validator_function(self._finite, in_range)

    def _finite(self, value: Any) -> Any:
        number = value
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                return value  # not a number at all: the type's own message says so
        if isinstance(number, float) and not math.isfinite(number):
            raise ValueError(self.describe())
        return value

    def contains(self, value: float) -> bool:
        if not math.isfinite(value):  # NaN compares false with everything: refuse it here
            return False
        low_ok = value > self.lo if self.above else value >= self.lo
        return low_ok and value <= self.hi

    def check(self, value: Any) -> Any:
        if isinstance(value, int | float) and not self.contains(value):
            raise ValueError(self.describe())
        return value

    def describe(self) -> str:
        lo, hi = _number(self.lo), _number(self.hi)
        if self.above:
            return f"must be more than {lo} and at most {hi}"
        return f"must be between {lo} and {hi}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def days_later(at: datetime, days: float, *, limit: float = MAX_STEP_DELAY_DAYS) -> datetime:
    """`at` plus `days`, the days clamped to [0, limit] (NaN counts as the limit): never an
    OverflowError, whatever a stored delay says."""
    if math.isnan(days):
        days = limit
    return at + timedelta(days=min(max(days, 0.0), limit))
