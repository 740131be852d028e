"""A Date header no reply was written on (year 9999, with a negative offset past the last UTC
datetime) never stops a message from being read: the arrival date stands in for it."""

from __future__ import annotations

from datetime import date

from outreach_tui.mail.inbound import analyse

ARRIVED = date(2026, 3, 2)


def message(date_header: str, body: str, *, subject: str = "Re: hi", auto: bool = False) -> bytes:
    auto_header = "Auto-Submitted: auto-replied\r\n" if auto else ""
    return (
        f"From: Anna <anna@example.com>\r\nTo: sam@outreach.test\r\nSubject: {subject}\r\n"
        f"Message-ID: <d-1@example.com>\r\nDate: {date_header}\r\n{auto_header}\r\n{body}\r\n"
    ).encode()


def test_an_out_of_office_dated_in_year_9999_places_its_return_by_the_arrival_date():
    raw = message(
        "Fri, 31 Dec 9999 23:00:00 -0500",
        "I am out of the office until 12 March.",
        subject="Out of office",
        auto=True,
    )

    result = analyse(raw, fallback_date=ARRIVED)

    assert result.kind == "out_of_office"
    assert result.return_date == date(2026, 3, 12)


def test_an_unsubscribe_dated_in_year_9999_is_still_an_unsubscribe():
    result = analyse(
        message("Fri, 31 Dec 9999 23:00:00 -0500", "Please unsubscribe me."),
        fallback_date=ARRIVED,
    )

    assert result.kind == "unsubscribe"
