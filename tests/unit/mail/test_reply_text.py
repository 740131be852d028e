# ruff: noqa: RUF001 (reply layouts of many languages: Cyrillic, Greek, full-width colons)
"""The new text of a reply: quoted history in every common layout is cut, what the person wrote
stays (above the quote, below it, between quotes), signatures and app footers go."""

from __future__ import annotations

import pytest

from outreach_tui.core.reply_rules import classify_text
from outreach_tui.mail.reply_html import html_to_text
from outreach_tui.mail.reply_text import html_reply_text, new_text

QUOTED = "> Hi Anna,\n> Would you be open to a call?\n> To unsubscribe from these emails, reply.\n"
UNPREFIXED = "Hi Anna,\nWould you be open to a call?\nTo unsubscribe from these emails, reply.\n"


@pytest.mark.parametrize(
    "attribution",
    [
        "On Tue, Nov 17, 2026 at 10:00 AM Sam Seller <sam@outreach.test> wrote:",
        "On Tue, Nov 17, 2026 at 10:00 AM Sam Seller <\nsam@outreach.test> wrote:",
        'On Tue, Nov 17, 2026 at 10:00 AM "Seller, Sam" <\nsam@outreach.test>\nwrote:',
        "Am Di., 17. Nov. 2026 um 10:00 Uhr schrieb Sam Seller <sam@outreach.test>:",
        "Le mar. 17 nov. 2026 à 10:00, Sam Seller <sam@outreach.test> a\nécrit :",
        "El mar, 17 nov 2026 a las 10:00, Sam Seller (<sam@outreach.test>)\nescribió:",
        "Il giorno mar 17 nov 2026 alle ore 10:00 Sam <sam@outreach.test> ha scritto:",
        "Op di 17 nov 2026 om 10:00 schreef Sam Seller <sam@outreach.test>:",
        "Em ter., 17 de nov. de 2026 às 10:00, Sam <sam@outreach.test> escreveu:",
        "Den tis 17 nov. 2026 kl 10:00 skrev Sam Seller <sam@outreach.test>:",
        "ti 17. marrask. 2026 klo 10.00 Sam Seller (sam@outreach.test)\nkirjoitti:",
        "W dniu 17.11.2026 o 10:00, Sam Seller pisze:",
        "wt., 17 lis 2026 o 10:00 Sam Seller <sam@outreach.test>\nnapisał(a):",
        "Dne 17. 11. 26 v 10:00 Sam Seller napsal(a):",
        "17 нояб. 2026 г., в 10:00, Sam Seller <sam@outreach.test> написал(а):",
        "вт, 17 нояб. 2026 г. в 10:00, Sam Seller <sam@outreach.test>:",
        "2026年11月17日(火) 10:00 Sam Seller <sam@outreach.test>:",
        "Sam Seller <sam@outreach.test> 于2026年11月17日周二 10:00写道：",
        "2026년 11월 17일 (화) 오전 10:00, Sam Seller <sam@outreach.test>님이 작성:",
        "2016-03-03 17:21 GMT+01:00 Sam Seller <sam@outreach.test>:",
        "At 6/16/2016 08:32 PM, you wrote:",
        "* Sam Seller <sam@outreach.test> [2026-11-17 10:00 +0100]:",
        "Quoting Sam Seller <sam@outreach.test>:",
        "Sam Seller <sam@outreach.test> wrote on 11/17/2026 10:00:00 AM:",
        "Sam Seller wrote:",
    ],
)
def test_an_attribution_and_the_quote_under_it_are_cut(attribution):
    body = f"Yes, let's talk.\n\nAnna\n\n{attribution}\n\n{QUOTED}"

    assert new_text(body) == "Yes, let's talk.\n\nAnna"


@pytest.mark.parametrize(
    "attribution",
    [
        "On Tuesday, November 17, 2026 at 10:00:00 AM GMT+1, Sam <sam@outreach.test> wrote:",
        "Am Dienstag, 17. November 2026, 10:00:00 MEZ hat Sam <sam@outreach.test> Folgendes"
        " geschrieben:",
        "Le 17/11/2026 à 10:00, Sam Seller a écrit :",
        "Στις Τρί 17 Νοε 2026 στις 10:00 π.μ., ο χρήστης Sam <sam@outreach.test> έγραψε:",
        "Sam <sam@outreach.test> ezt írta (időpont: 2026. nov. 17., K, 10:00):",
        "2026/11/17 Sam Seller <sam@outreach.test>",
        "2026-11-17 10:00 GMT+01:00 Sam Seller",
        "Sam Seller via Outreach Forum wrote:",
        "вторник, 17 ноября 2026 г. пользователь Sam Seller написал:",
        "---- On Tue, 17 Nov 2026 10:00:00 +0100 Sam Seller<sam@outreach.test> wrote ----",
        "On July 17, 2026, Sam Seller wrote:",
    ],
)
def test_a_dated_attribution_over_an_unprefixed_copy_ends_the_new_text(attribution):
    body = f"Not for us, thanks.\n\n{attribution}\n\n{UNPREFIXED}"

    assert new_text(body) == "Not for us, thanks."


@pytest.mark.parametrize(
    "block",
    [
        "From: Sam Seller <sam@outreach.test>\nSent: Tuesday, November 17, 2026 10:00 AM\n"
        "To: Tom Baker\nSubject: Quick question",
        "-----Original Message-----\nFrom: Sam Seller [mailto:sam@outreach.test]\nSent: Tuesday\n"
        "To: Tom\nSubject: Quick question",
        "________________________________\nFrom: Sam Seller <sam@outreach.test>\nSent: Tuesday\n"
        "To: Tom\nSubject: Quick question",
        "Von: Sam Seller\nGesendet: Dienstag, 17. November 2026 10:00\nAn: Tom\nBetreff: Frage",
        "De : Sam Seller\nEnvoyé : mardi 17 novembre 2026 10:00\nÀ : Tom\nObjet : Question",
        "De: Sam Seller\nEnviado el: martes\nPara: Tom\nAsunto: Pregunta",
        "Da: Sam Seller\nInviato: martedì\nA: Tom\nOggetto: Domanda",
        "Van: Sam Seller\nVerzonden: dinsdag\nAan: Tom\nOnderwerp: Vraag",
        "Från: Sam Seller\nSkickat: den 17 november\nTill: Tom\nÄmne: Fråga",
        "Od: Sam Seller\nWysłano: wtorek\nDo: Tom\nTemat: Pytanie",
        "От: Sam Seller\nОтправлено: 17 ноября 2026 г.\nКому: Tom\nТема: Вопрос",
        "差出人: Sam Seller\n送信日時: 2026年11月17日\n宛先: Tom\n件名: 質問",
        "发件人： Sam Seller\n发送时间： 2026年11月17日\n收件人： Tom\n主题： 问题",
        "Gesendet: Dienstag, 17. November 2026 um 10:00 Uhr\nVon: Sam\nAn: Tom\nBetreff: Frage",
        "*From:* Sam Seller [mailto:sam@outreach.test]\n*Sent:* Tuesday\n*To:* Tom\n*Subject:* Q",
        "From:\tSam Seller <sam@outreach.test>\nTo:\tTom Baker/ACME@ACME\nDate:\t11/17/2026\n"
        "Subject:\tQuick question",
        '----- Mail original -----\nDe: "Sam Seller" <sam@outreach.test>\nÀ: Tom\nEnvoyé: Mardi',
        "---------- Forwarded message ---------\nFrom: Sam Seller <sam@outreach.test>\nDate: Tue",
        "-----Sam Seller <sam@outreach.test> wrote: -----\nTo: Tom\nFrom: Sam\nDate: 11/17/2026",
        "Begin forwarded message:\n\nFrom: Sam Seller\nSubject: Quick question\nDate: Tuesday",
        "From: Sam Seller Sent: Tuesday, November 17, 2026 10:00 AM To: Tom Subject: Question",
        "##- Please type your reply above this line -##",
    ],
)
def test_a_header_block_or_separator_ends_the_new_text(block):
    body = f"Please remove me from your list.\n\nTom\n\n{block}\n\n{UNPREFIXED}"

    assert new_text(body) == "Please remove me from your list.\n\nTom"


def test_a_bottom_posted_reply_keeps_the_text_after_the_quote():
    body = f"On Tue, 17 Nov 2026 10:00, Sam Seller wrote:\n{QUOTED}\nSounds good, call me.\n"

    assert new_text(body) == "Sounds good, call me."


def test_an_inline_reply_keeps_every_answer_between_the_quotes():
    body = "> Are you hiring?\n\nYes, two people.\n\n> Open to a call?\n\nNext week.\n"

    assert new_text(body) == "Yes, two people.\n\nNext week."


def test_pipe_quoted_footer_is_history_so_the_reply_is_no_unsubscribe():
    body = "Not now, maybe next quarter.\n\nSam Seller wrote:\n" + QUOTED.replace(">", "|")

    text = new_text(body)

    assert text == "Not now, maybe next quarter."
    assert classify_text(text).kind == "other"


@pytest.mark.parametrize(
    "footer",
    [
        "-- \nAnna Meyer\nHead of People",
        "--\nAnna Meyer",
        "Sent from my iPhone",
        "Sent from my Verizon Wireless 4G LTE DROID",
        "Von meinem iPhone gesendet",
        "Envoyé de mon iPhone",
        "Enviado desde mi iPhone",
        "Inviato da iPhone",
        "Verstuurd vanaf mijn iPhone",
        "Wysłane z iPhone'a",
        "Отправлено с iPhone",
        "iPhoneから送信",
        "发自我的iPhone",
        "Get Outlook for iOS<https://aka.ms/o0ukef>",
        "Télécharger Outlook pour Android",
        "Sent from Mail<https://go.microsoft.com/fwlink/?LinkId=550986> for Windows",
        "Sent from Yahoo Mail on Android",
        "Sent with Proton Mail secure email.",
        "Envoyé depuis mon iPhone",
        "Von meinem Mobilgerät gesendet",
        "Diese Nachricht wurde von meinem Android-Gerät mit K-9 Mail gesendet.",
        "Sent from my cell, please excuse the typos.",
        "(Sent from my tablet)",
        "From my iPhone 15",
    ],
)
def test_signatures_and_mail_app_footers_are_not_new_text(footer):
    assert new_text(f"Interested, call me.\n\n{footer}\n") == "Interested, call me."


@pytest.mark.parametrize(
    "text",
    [
        "Hi\n\nSent from my desk, is much easier than my mobile phone.",
        "On your remote host you can run:\n\n    telnet 127.0.0.1 52698\n\nThis should connect.",
        "Hi Sam,\n\nOn your pricing page you wrote:\n\n  from 49 EUR\n\nPer month?",
        "Two things:\n\n- pricing\n- a trial\n\n- Chris",
        "Hi,\n\nDate: tomorrow\nTo: the whole team\nCall me.",
        "Ich habe die Mail gesendet.\nBitte prüfen.",
        "From my side: all good, let's talk.",
        "Hi,\n\nIn 2019 I wrote:\nwe would never buy this.\n\nStill true.",
        "Hi\n\nFirst part.\n\n________________________________\n\nSecond part.\n\nBest,\nAnna",
    ],
)
def test_text_that_only_looks_like_a_layout_is_kept(text):
    assert new_text(text) == text


def test_a_forward_with_nothing_above_it_has_no_new_text():
    body = "---------- Forwarded message ---------\nFrom: Sam <sam@outreach.test>\nDate: Tue\n"

    assert new_text(body + "Subject: Q\nTo: Anna\n\n" + UNPREFIXED) == ""


def test_mail_parser_reply_still_finds_an_attribution_the_layouts_do_not_know():
    # Polish "nadesłał" is in the library's table, not in ours.
    body = "Dobrze, zadzwońmy.\n\nDnia 17.11.2026 Sam Seller nadesłał:\n" + UNPREFIXED

    assert new_text(body) == "Dobrze, zadzwońmy."


def test_html_quotes_leave_a_mark_so_an_html_bottom_post_survives():
    markup = (
        '<p>Hi Sam,</p><div class="moz-cite-prefix">On 17/11/2026 10:00, Sam wrote:</div>'
        "<blockquote type=cite>Would you be open?<br>To unsubscribe, reply.</blockquote>"
        '<p>Yes, Thursday.</p><div class="moz-signature">-- <br>Ben</div>'
    )

    assert new_text(html_reply_text(markup)) == "Hi Sam,\n\nYes, Thursday."


def test_outlook_web_history_after_its_header_div_is_cut():
    markup = (
        "<div>Bitte austragen.</div><hr><div id=divRplyFwdMsg><b>Von:</b> Sam<br>"
        "<b>Gesendet:</b> Dienstag<br><b>An:</b> Jan<br><b>Betreff:</b> Frage</div>"
        "<div>Hallo Jan,<br>Keine weiteren E-Mails? Antworten Sie mit abmelden.</div>"
    )

    assert new_text(html_reply_text(markup)) == "Bitte austragen."


def test_html_read_for_a_report_is_read_as_before():
    markup = (
        "<div>Delivery failed.</div><blockquote>quoted</blockquote><div id=divRplyFwdMsg>x</div>"
    )

    assert html_to_text(markup) == "Delivery failed."
