"""Small formatting helpers shared by the panes (times in the operator's zone, rates)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

SPARK = "▁▂▃▄▅▆▇█"


def clock_time(at: datetime | None, tz: Any) -> str:
    return "--:--" if at is None else at.astimezone(tz).strftime("%H:%M")


def day_time(at: datetime | None, tz: Any) -> str:
    return "-" if at is None else at.astimezone(tz).strftime("%d %b %H:%M")


def percent(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def sparkline(values: tuple[int, ...] | list[int]) -> str:
    top = max(values, default=0)
    if top <= 0:
        return SPARK[0] * len(values)
    return "".join(SPARK[min(len(SPARK) - 1, round(v / top * (len(SPARK) - 1)))] for v in values)


def severity_style(severity: str) -> str:
    return {"critical": "b red", "warning": "yellow"}.get(severity, "dim")


def safe(text: str | None) -> str:
    """Data shown inside markup: escaped, so a subject like "[b]" is not styling.

    Every "[" is escaped: Textual's markup takes "[Guest posts Q1]" for a tag too, which
    `rich.markup.escape` (and `textual.markup.escape`) leave alone."""
    return (text or "").replace("[", "\\[")


def clip(text: str, width: int) -> str:
    """At most `width` characters, an ellipsis marking the cut."""
    return text if len(text) <= width else text[: width - 1] + "…"
