"""One-click unsubscribe tokens: what is signed verifies with the key alone, and nothing
else does (another key, an altered payload or MAC, garbage)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outreach_tui.core.unsubscribe_token import (
    UnsubscribeClaim,
    check_unsubscribe_url,
    fill_url,
    one_click_status,
    sign,
    verify,
)

KEY = b"k" * 32


def test_a_signed_token_names_the_address_and_the_message():
    token = sign(KEY, "Anna@Firma.de", "<abc@brand.com>")
    assert verify(KEY, token) == UnsubscribeClaim("anna@firma.de", "abc@brand.com")
    assert all(c.isalnum() or c in "-_." for c in token)


def test_another_key_or_an_altered_token_verifies_nothing():
    token = sign(KEY, "anna@firma.de", "<abc@brand.com>")
    payload, mac = token.split(".")
    other = sign(KEY, "ben@studio.fr", "<abc@brand.com>").split(".")[0]
    assert verify(b"x" * 32, token) is None
    assert verify(KEY, f"{other}.{mac}") is None
    assert verify(KEY, f"{payload}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}") is None
    for garbage in ("", ".", "a.b.c", "!!!.???", payload, "x" * 5000):
        assert verify(KEY, garbage) is None


_LOCAL = st.text(
    st.characters(min_codepoint=33, max_codepoint=0x2FF, exclude_categories=("Cc", "Zs")),
    min_size=1,
    max_size=60,
)


@given(_LOCAL, st.text(max_size=60))
def test_tokens_round_trip_and_reject_any_other_text(local, other):
    address = f"{local}@example.com".lower()
    token = sign(KEY, address, "<m@x>")
    assert verify(KEY, token) == UnsubscribeClaim(address, "m@x")
    if other != token:
        assert verify(KEY, other) is None


def test_placeholders_are_filled_and_encoded():
    url = fill_url("https://u.example/{token}?e={email}&m={message_id}", email="a+b@c.de",
                   message_id="<x/y@z>", token="T.T")  # fmt: skip
    assert url == "https://u.example/T.T?e=a%2Bb%40c.de&m=x%2Fy%40z"


@pytest.mark.parametrize(
    ("url", "error"),
    [("http://u.example/{token}", "https"), ("https://u.example/{nope}", "placeholder"),
     ("https:///x", "host"), ("https://u.example/a b", "spaces"),
     ("https://u.example/\r\nX: y", "control")],
)  # fmt: skip
def test_a_url_that_is_not_one_click_https_is_refused(url, error):
    with pytest.raises(ValueError, match=error):
        check_unsubscribe_url(url)


def test_the_status_says_when_one_click_is_off():
    assert one_click_status(None)[0] is False
    assert "unsubscribe_url is not set" in one_click_status("")[1]
    assert one_click_status("https://u.example/{token}") == (True, "one-click unsubscribe is on")
