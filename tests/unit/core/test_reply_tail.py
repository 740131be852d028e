# ruff: noqa: RUF001 (sign-offs of many languages)
"""Intent is read from what a person wrote before the sign-off: a signature's disclaimer or a
list footer in the new text cannot turn a reply into an unsubscribe."""

from __future__ import annotations

import pytest

from outreach_tui.core.reply_rules import classify_text
from outreach_tui.core.reply_tail import intent_part


def test_intent_stops_at_a_sign_off_so_a_disclaimer_cannot_unsubscribe():
    text = (
        "Interested, let's book a call.\n\nBest regards,\nLiam Carter\n\nThis e-mail is "
        "confidential. To unsubscribe from our newsletter, write to privacy@carter.example."
    )

    assert intent_part(text) == "Interested, let's book a call."
    assert classify_text(text).kind == "interested"


def test_a_thanks_line_followed_by_a_request_is_not_a_sign_off():
    text = "Hi Sam,\n\nThanks,\nplease remove me from your list.\n\nJo"

    assert classify_text(text).kind == "unsubscribe"


@pytest.mark.parametrize("name", ["Jo", "Anna Meyer", "J. R. Smith", "Marie-Claire", "田中"])
def test_a_thanks_line_followed_by_a_name_is_a_sign_off(name):
    assert intent_part(f"Sounds good.\n\nThanks,\n{name}\nunsubscribe: x") == "Sounds good."


def test_the_first_line_never_ends_the_message():
    assert intent_part("Thanks, but no.") == "Thanks, but no."
    assert intent_part("Regards,\nplease remove me") == "Regards,\nplease remove me"


@pytest.mark.parametrize(
    "footer",
    [
        "CONFIDENTIALITY NOTICE: if you wish to unsubscribe, reply STOP.",
        "You received this message because you are subscribed to the Google Groups list. "
        "To unsubscribe from this group, send an email to x@y.",
        "Diese E-Mail enthält vertrauliche Informationen. Abmelden: x@y",
        "Ce message et toutes les pièces jointes sont confidentiels. Désinscription : x@y",
    ],
)
def test_a_disclaimer_or_list_footer_under_the_reply_is_not_intent(footer):
    assert classify_text(f"Who are you?\n\n{footer}").kind == "other"


@pytest.mark.parametrize(
    "signoff",
    ["Mit freundlichen Grüßen", "Cordialement,", "Un saludo,", "Met vriendelijke groet,",
     "Z poważaniem", "С уважением,"],
)  # fmt: skip
def test_sign_offs_in_many_languages_end_the_intent(signoff):
    assert intent_part(f"Kein Interesse.\n\n{signoff}\nHans\nabmelden") == "Kein Interesse."
