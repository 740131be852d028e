"""Small formatting helpers shared by the panes (times in the operator's zone, rates), and the
two ways data reaches the screen: `markup` (our markup, data filled in as plain text) and
`plain` (a Rich `Text`). Both clean terminal controls out (core/screen_text.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text
from textual.content import Content

from outreach_tui.core.screen_text import printable

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


def markup(template: str, **data: object) -> Content:
    """Our markup `template` with each `$name` (or `${name}`) filled from `data` as plain text.

    The data is never read as markup: a subject "[/]", "[link=https://x]" or
    "[@click=app.quit]" shows as written. Escaping it into the markup instead cannot be done
    right in Textual's markup (a backslash ending the data escapes the tag after it), so the
    values go in after parsing, as Textual's template variables. Each value is cleaned of
    terminal controls (line feeds stay); None shows as "". A `$` of the template not named in
    `data` stays as it is."""
    values = {
        name: printable(None if value is None else str(value), multiline=True)
        for name, value in data.items()
    }
    return Content.from_markup(template, **values)


def plain(text: str | None, style: str = "", *, multiline: bool = False) -> Text:
    """Data as a Rich `Text` (never markup), cleaned of terminal controls."""
    return Text(printable(text, multiline=multiline), style=style)


def clean_text(text: Text) -> Text:
    """`text` with its terminal controls replaced, styles kept (one mark per character, so
    every span still covers what it covered); `text` itself when it is clean already."""
    cleaned = printable(text.plain)
    if cleaned == text.plain:
        return text
    copy = text.copy()
    copy.plain = cleaned
    return copy


def clip(text: str, width: int) -> str:
    """At most `width` characters, an ellipsis marking the cut."""
    return text if len(text) <= width else text[: width - 1] + "…"
