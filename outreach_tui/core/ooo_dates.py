"""The date an out-of-office reply says its sender is back, in English, German, French, Spanish.

Pure: the text and the message's own date go in, a `date` (or None) comes out. Year-less dates
("back on 3 December") resolve to the first such day on or after the message date, a weekday
("back on Monday") to the next one after it. A date right after a phrase that says when the
person is back ("back on", "zurück am", "de retour le", "de vuelta el") is preferred, then one
after "until", "bis", "jusqu'au", "hasta" (taken as stated); without either, the latest date
after the message date is taken.

Input is expected to be folded (lower case, accents removed) by `fold`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    [
        ("january", "jan", "januar", "janner", "janvier", "janv", "enero", "ene"),
        ("february", "feb", "februar", "fevrier", "fevr", "fev", "febrero"),
        ("march", "mar", "marz", "maerz", "mars", "marzo"),
        ("april", "apr", "avril", "avr", "abril", "abr"),
        ("may", "mai", "mayo"),
        ("june", "jun", "juni", "juin", "junio"),
        ("july", "jul", "juli", "juillet", "juil", "julio"),
        ("august", "aug", "aout", "agosto", "ago"),
        ("september", "sep", "sept", "septembre", "septiembre", "setiembre"),
        ("october", "oct", "oktober", "okt", "octobre", "octubre"),
        ("november", "nov", "novembre", "noviembre"),
        ("december", "dec", "dezember", "dez", "decembre", "diciembre", "dic"),
    ],
    start=1,
):
    for _name in _names:
        MONTHS[_name] = _number

WEEKDAYS: dict[str, int] = {}
for _number, _names in enumerate(
    [
        ("monday", "mon", "montag", "lundi", "lunes"),
        ("tuesday", "tue", "tues", "dienstag", "mardi", "martes"),
        ("wednesday", "wed", "mittwoch", "mercredi", "miercoles"),
        ("thursday", "thu", "thur", "thurs", "donnerstag", "jeudi", "jueves"),
        ("friday", "fri", "freitag", "vendredi", "viernes"),
        ("saturday", "sat", "samstag", "sonnabend", "samedi", "sabado"),
        ("sunday", "sun", "sonntag", "dimanche", "domingo"),
    ]
):
    for _name in _names:
        WEEKDAYS[_name] = _number

_MONTH_ALT = "|".join(sorted(MONTHS, key=len, reverse=True))
_WEEKDAY_ALT = "|".join(sorted(WEEKDAYS, key=len, reverse=True))
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th|er|eme|o|º)?\.?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"

# Each expression names its groups day/month/year (month as a word or number) or weekday.
_DATE_FORMS: tuple[re.Pattern[str], ...] = (
    # 2026-12-03
    re.compile(r"\b(?P<year>(?:19|20)\d\d)-(?P<month>[01]?\d)-(?P<day>[0-3]?\d)\b"),
    # 03.12.2026, 3.12., 03/12/2026, 3/12 (day first: de, fr, es and most English outside the US)
    re.compile(
        r"(?<![\d.:/])(?P<day>[0-3]?\d)[./](?P<month>[01]?\d)(?:[./](?P<year>(?:19|20)?\d\d))?"
        r"(?![\d:/]|\.\d)"
    ),
    # 3 December 2026, 3. Dezember, 3 de diciembre de 2026, 3rd of December
    re.compile(
        rf"\b{_DAY}\s*(?:of\s+|de\s+)?(?P<mname>{_MONTH_ALT})\b\.?(?:,?\s*(?:de(?:l)?\s+)?{_YEAR})?"
    ),
    # December 3rd, 2026
    re.compile(rf"\b(?P<mname>{_MONTH_ALT})\.?\s+{_DAY}(?!\d)(?:,?\s*{_YEAR})?"),
    # Monday (the day after the message date at the earliest)
    re.compile(rf"\b(?P<weekday>{_WEEKDAY_ALT})\b"),
)

# Phrases after which the date that follows is the return date (within a short distance).
_RETURN_CUES = re.compile(
    r"\b(?:back (?:in the office |at (?:my desk|work) |in office )?(?:on|from|by)?"
    r"|return(?:ing)? (?:to the office |to work )?(?:on|from)?|returns? on"
    r"|resume|available again (?:on|from)?|(?:starting|from) (?:on )?"
    r"|zuruck(?:\s+(?:am|ab))?|wieder (?:im buro|erreichbar|da|zuruck|am|ab)|ab dem|ab"
    r"|de retour|retour (?:le|au bureau)?|a partir du|a compter du|reprise"
    r"|de vuelta|regreso|regresare|volvere|vuelvo|a partir del|reincorporo|me reincorporare)\b"
)
# Phrases after which the date is the last day away; used when no return phrase has a date.
_UNTIL_CUES = re.compile(
    r"\b(?:until|till|through|thru|to"
    r"|bis(?: zum| einschliesslich)?"
    r"|jusqu'?au|jusqu'?a|au"
    r"|hasta(?: el)?|al)\b"
)
_CUE_WINDOW = 45


@dataclass(frozen=True)
class _Found:
    start: int
    when: date
    weekday_only: bool
    """A bare weekday ("Monday"): weaker than a date written out beside it."""


def fold(text: str) -> str:
    """Lower case without accents (é→e, ü→u, ß→ss), so one pattern covers every spelling."""
    folded = text.casefold()
    if folded.isascii():
        # Nothing to decompose: NFKD leaves ASCII as it is, and no ASCII character combines.
        return folded
    decomposed = unicodedata.normalize("NFKD", folded)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def find_return_date(folded: str, sent: date | None, *, day_first: bool = True) -> date | None:
    """The stated return date, or None when none is stated or it cannot be placed in time.

    `sent` is the message's date: it resolves year-less dates and weekdays; without it only
    dates that carry their year are accepted. Dates more than a year after `sent` are ignored
    (a copyright line, a signature), as are dates before it.
    """
    found = _dates(folded, sent, day_first=day_first)
    if not found:
        return None
    for cues in (_RETURN_CUES, _UNTIL_CUES):
        for cue in cues.finditer(folded):
            after = [f for f in found if cue.end() <= f.start <= cue.end() + _CUE_WINDOW]
            written = [f for f in after if not f.weekday_only] or after
            if written:
                return min(written, key=lambda f: f.start).when
    written = [f for f in found if not f.weekday_only] or found
    return max(f.when for f in written)


def _dates(folded: str, sent: date | None, *, day_first: bool) -> list[_Found]:
    found: list[_Found] = []
    taken: list[tuple[int, int]] = []
    for form in _DATE_FORMS:
        for match in form.finditer(folded):
            if any(s < match.end() and match.start() < e for s, e in taken):
                continue
            when = _resolve(match, sent, day_first=day_first)
            if when is None:
                continue
            if sent is not None and not (sent <= when <= sent + timedelta(days=366)):
                continue
            taken.append((match.start(), match.end()))
            weekday_only = match.groupdict().get("weekday") is not None
            found.append(_Found(match.start(), when, weekday_only))
    return found


def _resolve(match: re.Match[str], sent: date | None, *, day_first: bool) -> date | None:
    groups = match.groupdict()
    if groups.get("weekday"):
        if sent is None:
            return None
        ahead = (WEEKDAYS[groups["weekday"]] - sent.weekday()) % 7 or 7
        return sent + timedelta(days=ahead)
    day = int(groups["day"])
    if groups.get("mname"):
        month = MONTHS[groups["mname"]]
    else:
        month = int(groups["month"])
        # A US-style month/day only where the text says so, or where day-first is impossible.
        if "/" in match.group(0) and (month > 12 or (not day_first and day <= 12)):
            day, month = month, day
    year_text = groups.get("year")
    if year_text:
        year = int(year_text)
        if year < 100:
            year += 2000
        return _safe_date(year, month, day)
    if sent is None:
        return None
    candidate = _safe_date(sent.year, month, day)
    if candidate is not None and candidate < sent:
        candidate = _safe_date(sent.year + 1, month, day)
    return candidate


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
