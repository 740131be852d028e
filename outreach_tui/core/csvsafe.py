"""Spreadsheet formula injection (CWE-1236): neutralise cells a spreadsheet would evaluate."""

from __future__ import annotations

_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\0")


def neutralise_cell(value: object) -> str:
    """Render a value for CSV; a cell starting with = + - @ TAB CR or NUL gets a leading '."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_PREFIXES):
        return "'" + text
    return text
