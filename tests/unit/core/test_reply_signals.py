# ruff: noqa: RUF001 (autoresponder subjects and texts of many languages)
"""A machine is known by what only machines send: headers a person's client never sets, the
subjects and texts of autoresponders. A person's reply never becomes an auto-reply because of
one header their own client added."""

from __future__ import annotations

import pytest

from outreach_tui.core.reply_rules import automatic_signal, classify_text

PERSON = [("From", "Tom Baker <tom@northwind.example>"), ("Subject", "RE: Quick question")]


def test_exchange_x_auto_response_suppress_alone_is_a_person():
    headers = [*PERSON, ("X-Auto-Response-Suppress", "DR, RN, NRN, OOF, AutoReply")]

    signal = automatic_signal(headers)

    assert signal is None
    assert classify_text("Yes, let's talk.", automatic=signal).kind == "interested"


def test_exchange_x_auto_response_suppress_all_without_a_rule_loop_header_is_a_person():
    assert automatic_signal([*PERSON, ("X-Auto-Response-Suppress", "All")]) is None


@pytest.mark.parametrize(
    "loop_header",
    [
        ("X-MS-Exchange-Inbox-Rules-Loop", "tom@northwind.example"),
        ("X-MS-Exchange-Generated-Message-Source", "Mailbox Rules Agent"),
    ],
)
def test_exchange_suppress_all_with_its_rule_loop_header_is_a_machine(loop_header):
    headers = [*PERSON, loop_header, ("X-Auto-Response-Suppress", "All")]

    signal = automatic_signal(headers)

    assert signal == f"X-Auto-Response-Suppress: All; {loop_header[0]}: {loop_header[1]}"
    assert classify_text("I will answer soon.", automatic=signal).kind == "auto_reply"


def test_an_exchange_rule_loop_header_alone_is_no_signal():
    assert automatic_signal([*PERSON, ("X-MS-Exchange-Inbox-Rules-Loop", "tom@x")]) is None


@pytest.mark.parametrize("value", ["bulk", "list", "junk"])
def test_precedence_bulk_or_list_alone_is_not_an_auto_reply(value):
    assert automatic_signal([*PERSON, ("Precedence", value)]) is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Auto-Submitted", "auto-replied"),
        ("Auto-Submitted", "auto-notified"),
        ("Precedence", "auto_reply"),
        ("X-Autoreply", "yes"),
        ("X-Autorespond", "Absence"),
    ],
)
def test_headers_only_autoresponders_set_are_a_machine(name, value):
    assert automatic_signal([*PERSON, (name, value)]) == f"{name}: {value}"


@pytest.mark.parametrize("value", ["no", "No", "no; comment"])
def test_rfc3834_auto_submitted_no_is_a_person(value):
    assert automatic_signal([*PERSON, ("Auto-Submitted", value)]) is None


@pytest.mark.parametrize(
    "subject",
    [
        "Automatic reply: Quick question",
        "Out of Office: Quick question",
        "Abwesenheitsnotiz: Kurze Frage",
        "AW: Automatische Antwort: Kurze Frage",
        "Réponse automatique : Petite question",
        "Respuesta automática: Una pregunta",
        "Automatisch antwoord: Vraag",
        "Risposta automatica: Domanda",
        "Resposta automática: Pergunta",
        "SV: Automatiskt svar: Fråga",
        "Automatisk svar: Spørgsmål",
        "Automaattinen vastaus: Kysymys",
        "Odp: Odpowiedź automatyczna: Pytanie",
        "Automatická odpověď: Dotaz",
        "Автоматический ответ: Вопрос",
        "Otomatik yanıt: Soru",
        "自動応答: 質問",
        "自动回复: 问题",
        "자동 응답: 질문",
    ],
)
def test_autoresponder_subjects_in_many_languages_are_automatic(subject):
    verdict = classify_text("Thank you for your message.", subject=subject)

    assert verdict.kind in {"auto_reply", "out_of_office"}
    assert verdict.reason.startswith("Subject: ")


@pytest.mark.parametrize(
    "text",
    [
        "Ik ben afwezig tot en met 4 december.",
        "Sono fuori ufficio fino al 4 dicembre.",
        "Estou fora do escritório até 4 de dezembro.",
        "Jag är på semester till och med 4 december.",
        "Jeg er på ferie indtil den 4. december.",
        "Olen lomalla 4.12. asti.",
        "Jestem na urlopie do 4 grudnia.",
        "Jsem mimo kancelář do 4. prosince.",
        "Я в отпуске до 4 декабря.",
        "4 Aralık tarihine kadar ofis dışındayım.",
    ],
)
def test_out_of_office_texts_in_more_languages_are_told_from_other_auto_replies(text):
    assert classify_text(text, subject="Automatic reply: Hello").kind == "out_of_office"


@pytest.mark.parametrize(
    "subject", ["Re: Absence management, simplified", "Re: Out of office tools for teams"]
)
def test_a_reply_to_our_subject_that_starts_like_an_autoresponder_is_a_person(subject):
    assert classify_text("Yes, interested.", subject=subject).kind == "interested"


@pytest.mark.parametrize(
    "subject", ["Absence", "Out of Office AutoReply: Hello", "Anna Meyer is out of the office."]
)
def test_an_autoresponders_whole_subject_is_automatic(subject):
    assert classify_text("Thank you for your message.", subject=subject).kind == "out_of_office"
