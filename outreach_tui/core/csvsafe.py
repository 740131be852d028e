"""Spreadsheet formula injection (CWE-1236): neutralise cells a spreadsheet would evaluate.

A spreadsheet may read a formula after leading blanks (" =1+1") or invisible characters, and
some read the full-width and small forms of the trigger characters (U+FF1D FULLWIDTH EQUALS
SIGN, U+FE66 SMALL EQUALS SIGN, and those of + - @) as the ASCII ones: what counts is the
first visible character, compared after NFKC folding.
"""

from __future__ import annotations

import unicodedata

_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\0")
_TRIGGERS = frozenset("=+-@")


def is_formula(text: str) -> bool:
    """Whether a spreadsheet might evaluate `text`: it starts with = + - @ TAB CR or NUL, or
    its first visible character (past blanks and invisible format characters) folds to one
    of = + - @."""
    if text.startswith(_FORMULA_PREFIXES):
        return True
    for char in text:
        if char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Zs"):
            continue
        return unicodedata.normalize("NFKC", char)[:1] in _TRIGGERS
    return False


def neutralise_cell(value: object) -> str:
    """Render a value for CSV; a cell a spreadsheet might evaluate (`is_formula`) gets a
    leading '."""
    text = "" if value is None else str(value)
    return "'" + text if is_formula(text) else text


def restore_cell(cell: str) -> str:
    """The value `neutralise_cell` rendered as `cell` (its own output read back)."""
    return cell[1:] if cell.startswith("'") and is_formula(cell[1:]) else cell
