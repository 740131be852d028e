"""Outgoing messages in the shape a person's mail client writes: From, To with the name,
Subject, Date in the operator's offset, Message-ID, the thread and opt-out headers, then the
MIME headers; 7bit for plain ASCII bodies, quoted-printable only when needed. The fast
builder writes exactly what the `email` package's reference construction does."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outreach_tui.core.errors import HeaderInjection
from outreach_tui.mail.message import (
    OutgoingMessage,
    _build_message_mime,
    build_message,
    unsubscribe_url,
)

BERLIN = datetime(2026, 3, 2, 11, 0, tzinfo=ZoneInfo("Europe/Berlin"))


def message(**changes) -> OutgoingMessage:
    values = {
        "sender_email": "alex@brand.com", "sender_name": "Alex Meyer",
        "recipient_email": "anna@firma.de", "recipient_name": "Anna Schmidt",
        "subject": "Quick question", "body": "Hi Anna,\n\na short note.\n\nAlex\n",
        "message_id": "<m1@brand.com>", "date": BERLIN, "unsubscribe_mailto": "alex@brand.com",
        "unsubscribe_url": "https://u.brand.com/unsubscribe/T.k", "postal_address": "Brand Ltd",
    }  # fmt: skip
    values.update(changes)
    return OutgoingMessage(**values)


def header_names(raw: bytes) -> list[str]:
    head = raw.split(b"\n\n", 1)[0].decode()
    return [line.split(":", 1)[0] for line in head.split("\n") if not line[:1].isspace()]


def test_headers_come_in_a_mail_clients_order_with_mime_last():
    raw = build_message(message(in_reply_to="<p@x>", references="<p@x>"))
    assert header_names(raw) == [
        "From", "To", "Subject", "Date", "Message-ID", "In-Reply-To", "References",
        "List-Unsubscribe", "List-Unsubscribe-Post", "MIME-Version", "Content-Type",
        "Content-Transfer-Encoding",
    ]  # fmt: skip
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["To"] == "Anna Schmidt <anna@firma.de>"
    assert parsed["Date"] == "Mon, 02 Mar 2026 11:00:00 +0100"
    assert parsed["List-Unsubscribe"] == (
        "<https://u.brand.com/unsubscribe/T.k>, <mailto:alex@brand.com?subject=unsubscribe>"
    )


def test_an_ascii_body_goes_7bit_and_reads_as_written():
    raw = build_message(message())
    assert b"Content-Transfer-Encoding: 7bit\n" in raw
    body = raw.split(b"\n\n", 1)[1]
    assert body.startswith(b"Hi Anna,\n\na short note.\n")
    assert b"=\n" not in body  # no soft line breaks


@pytest.mark.parametrize("body", ["Grüße aus München\n", "x" * 1200 + "\n", "tab\tand\rcr\n"])
def test_quoted_printable_only_when_the_body_needs_it(body):
    raw = build_message(message(body=body))
    assert b"Content-Transfer-Encoding: quoted-printable\n" in raw
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed.get_content().startswith(body.replace("\r", "\n").rstrip("\n")[:50])


def test_names_are_quoted_or_encoded_and_a_missing_name_gives_a_bare_address():
    parsed = email.message_from_bytes(
        build_message(message(recipient_name="Müller, Jörg", sender_name="")),
        policy=email.policy.default,
    )
    assert parsed["To"].addresses[0].display_name == "Müller, Jörg"
    assert parsed["From"] == "alex@brand.com"
    assert build_message(message(recipient_name="")).count(b"\nTo: anna@firma.de\n") == 1


@pytest.mark.parametrize("name", ["Anna\r\nBcc: x@evil.test", "Anna\x00", "A\nB"])
def test_a_line_break_in_the_recipients_name_is_refused(name):
    with pytest.raises(HeaderInjection):
        build_message(message(recipient_name=name))


def test_the_date_keeps_the_offset_it_is_given():
    utc = build_message(message(date=datetime(2026, 7, 1, 9, 0, tzinfo=UTC)))
    assert b"\nDate: Wed, 01 Jul 2026 09:00:00 +0000\n" in utc
    summer = build_message(
        message(date=datetime(2026, 7, 1, 9, 0, tzinfo=ZoneInfo("Europe/Berlin")))
    )
    assert b"+0200\n" in summer


def test_a_token_url_is_signed_with_the_key_and_checked_without_one():
    signed = unsubscribe_url("https://u/{token}", recipient="a@b.c", message_id="<m@x>", key=b"k")
    assert signed is not None and signed.startswith("https://u/") and "." in signed
    unsigned = unsubscribe_url("https://u/{token}", recipient="a@b.c", message_id="<m@x>")
    assert unsigned == "https://u/unsigned.token"
    legacy = unsubscribe_url("https://u/{email}", recipient="a@b.c", message_id="<m@x>")
    assert legacy == "https://u/a%40b.c"


_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=90)


@settings(max_examples=150, deadline=None)
@given(subject=_TEXT, name=_TEXT, sender=_TEXT, body=st.text(max_size=400),
       url=st.booleans(), thread=st.booleans())  # fmt: skip
def test_the_fast_builder_writes_what_the_email_package_does(subject, name, sender, body, url,
                                                             thread):  # fmt: skip
    msg = message(
        subject=subject, recipient_name=name, sender_name=sender, body=body,
        unsubscribe_url="https://u.brand.com/x" if url else None,
        in_reply_to="<p@x>" if thread else None,
    )  # fmt: skip
    try:
        fast = build_message(msg)
    except HeaderInjection:
        with pytest.raises(HeaderInjection):
            _build_message_mime(msg)
        return
    assert fast == _build_message_mime(msg)
