"""What the cells of a lead row mean: header names to lead fields, addresses normalised
cheaply, IANA zone names checked once. Used by every lead source (engine/leads/ingest.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import SPECIAL_USE_DOMAIN_NAMES

from outreach_tui.core.addresses import normalize_address

STANDARD_FIELDS = ("email", "first_name", "last_name", "company", "website", "timezone")
_ALIASES = {
    "email": "email", "e-mail": "email", "email address": "email", "e-mail address": "email",
    "first_name": "first_name", "first name": "first_name", "firstname": "first_name",
    "last_name": "last_name", "last name": "last_name", "lastname": "last_name",
    "company": "company", "website": "website",
    "timezone": "timezone", "time zone": "timezone",
}  # fmt: skip
EMAIL_HEADERS = ("email", "e-mail", "email address")


@dataclass(frozen=True)
class RejectedRow:
    """Yielded by a source in place of a row it could not even split into columns."""

    reason: str


def column_name(header: str) -> str:
    """The field a header means: a standard lead field, or its `custom` key."""
    key = " ".join(header.strip().lower().split())
    return _ALIASES.get(key) or key.replace(" ", "_")


# A strict subset of what email-validator accepts, for the common all-ASCII address: dot-atom
# local part of the usual characters; LDH labels; an alphabetic TLD. Anything else (and any
# "--", special-use TLD or over-long part) goes to email-validator, which costs ~20x more.
_FAST_ADDRESS = re.compile(
    r"[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}",
    re.ASCII,
)
_SPECIAL_TLDS = frozenset(d.rsplit(".", 1)[-1] for d in SPECIAL_USE_DOMAIN_NAMES)


def fast_normalize_address(value: str) -> str:
    """Same result as `normalize_address` (lower-cased), cheaply for ordinary addresses."""
    candidate = value.strip().lower()
    if (
        len(candidate) <= 254
        and _FAST_ADDRESS.fullmatch(candidate)
        and candidate.index("@") <= 64
        and "--" not in candidate
        and candidate.rpartition(".")[2] not in _SPECIAL_TLDS
    ):
        return candidate
    return normalize_address(value)


class ZoneCheck:
    """IANA zone names seen so far (bounded: a file of junk zones cannot grow it forever)."""

    def __init__(self) -> None:
        self._known: dict[str, bool] = {}

    def valid(self, name: str) -> bool:
        known = self._known.get(name)
        if known is None:
            try:
                ZoneInfo(name)
                known = True
            except (ZoneInfoNotFoundError, ValueError, OSError):
                known = False
            if len(self._known) < 10_000:
                self._known[name] = known
        return known
