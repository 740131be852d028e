"""Out-of-office return dates, per language, placed in time by the message's own date."""

from __future__ import annotations

from datetime import date

import pytest

from outreach_tui.core.ooo_dates import find_return_date, fold

SENT = date(2026, 11, 20)  # a Friday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # English
        ("I'm out of the office and back on 3 December.", date(2026, 12, 3)),
        ("I will be back on December 3rd.", date(2026, 12, 3)),
        ("Out until Monday, 7 December 2026.", date(2026, 12, 7)),
        ("Returning on 2026-12-03.", date(2026, 12, 3)),
        ("Back in the office on Monday.", date(2026, 11, 23)),
        ("On holiday, back on 5 January.", date(2027, 1, 5)),
        # German
        ("Ich bin zurück am 03.12.2026.", date(2026, 12, 3)),
        ("Ab dem 3. Dezember bin ich wieder erreichbar.", date(2026, 12, 3)),
        (
            "Bis einschließlich 02.12.2026 nicht im Büro, ab dem 03.12.2026 wieder erreichbar.",
            date(2026, 12, 3),
        ),
        ("Vom 24.11. bis 02.12. im Urlaub.", date(2026, 12, 2)),
        # French
        ("Je serai de retour le 3 décembre.", date(2026, 12, 3)),
        ("Absent jusqu'au 2 décembre 2026 inclus.", date(2026, 12, 2)),
        ("De retour lundi 7 décembre.", date(2026, 12, 7)),
        # Spanish
        ("Estaré de vuelta el 3 de diciembre.", date(2026, 12, 3)),
        ("Fuera de la oficina hasta el 2 de diciembre de 2026.", date(2026, 12, 2)),
        ("Regreso el lunes.", date(2026, 11, 23)),
    ],
)
def test_return_date_is_read(text, expected):
    assert find_return_date(fold(text), SENT) == expected


@pytest.mark.parametrize(
    "text",
    [
        "I'm on vacation with limited access to email.",
        "Ich bin im Urlaub.",
        "Je suis en congés.",
        "Estoy de vacaciones.",
        "Back on 31 February.",  # no such day
        "Back on 3 December 2019.",  # before the message: a signature or an old template
        "Back on 3 December 2031.",  # years ahead: not a return date
    ],
)
def test_no_date_or_an_impossible_one_gives_none(text):
    assert find_return_date(fold(text), SENT) is None


def test_year_less_date_needs_the_message_date():
    assert find_return_date(fold("back on 3 December"), None) is None
    assert find_return_date(fold("back on 3 December 2026"), None) == date(2026, 12, 3)


def test_month_day_order_follows_the_setting_for_slashes():
    assert find_return_date(fold("back on 12/3/2026"), date(2026, 3, 1)) == date(2026, 3, 12)
    assert find_return_date(fold("back on 12/3/2026"), date(2026, 3, 1), day_first=False) == (
        date(2026, 12, 3)
    )
    # A day beyond 12 can only be the day.
    assert find_return_date(fold("back on 12/13/2026"), SENT) == date(2026, 12, 13)


def test_fold_removes_accents_and_case():
    assert fold("Zurück AM Dézémbre ß") == "zuruck am dezembre ss"
