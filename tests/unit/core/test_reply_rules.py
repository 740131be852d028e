"""Reply classification rules over the new text, per language, and the header signals."""

from __future__ import annotations

from datetime import date

import pytest

from outreach_tui.core.reply_rules import automatic_signal, classify_text

SENT = date(2026, 11, 24)

CASES = {
    "en": [
        ("Sounds interesting, can we book a call next week?", "interested"),
        ("I'd be interested. Send me some pricing.", "interested"),
        ("Please give me a call tomorrow.", "interested"),
        ("Not interested, thanks.", "not_interested"),
        ("No thank you, we already have a vendor.", "not_interested"),
        ("We're not really interested at this point.", "not_interested"),
        ("Please remove me from your list.", "unsubscribe"),
        ("Unsubscribe", "unsubscribe"),
        ("Stop emailing me.", "unsubscribe"),
        ("Take me off your list, not interested.", "unsubscribe"),
        ("John is no longer with the company.", "wrong_person"),
        (
            "I'm not the right person for this, please contact our CTO, jane@example.com",
            "wrong_person",
        ),
        ("We have received your request. Ticket number 4711.", "auto_reply"),
        ("I'm out of the office until Monday.", "out_of_office"),
        ("Who gave you my address?", "other"),
    ],
    "de": [
        ("Klingt interessant, lassen Sie uns telefonieren.", "interested"),
        ("Schicken Sie mir gerne mehr Informationen.", "interested"),
        ("Kein Interesse, danke.", "not_interested"),
        ("Nein danke, wir sind nicht interessiert.", "not_interested"),
        ("Bitte abmelden.", "unsubscribe"),
        ("Tragen Sie mich bitte aus Ihrem Verteiler aus.", "unsubscribe"),
        ("Bitte keine weiteren E-Mails.", "unsubscribe"),
        ("Herr Braun ist nicht mehr bei uns. Wenden Sie sich bitte an Frau Klein.", "wrong_person"),
        ("Ihre Nachricht ist bei uns eingegangen.", "auto_reply"),
        ("Ich bin derzeit nicht im Büro.", "out_of_office"),
        ("Woher haben Sie meine Adresse?", "other"),
    ],
    "fr": [
        ("Oui, ça m'intéresse, envoyez-moi plus d'informations.", "interested"),
        ("Volontiers, fixons un rendez-vous.", "interested"),
        ("Non merci, nous avons déjà un prestataire.", "not_interested"),
        ("Nous ne sommes pas intéressés.", "not_interested"),
        ("Désinscrivez-moi s'il vous plaît.", "unsubscribe"),
        ("Merci de ne plus me contacter.", "unsubscribe"),
        ("Elle ne fait plus partie de l'entreprise, veuillez contacter Paul.", "wrong_person"),
        ("Nous avons bien reçu votre message.", "auto_reply"),
        ("Je suis actuellement en congés.", "out_of_office"),
        ("Qui vous a donné mon adresse ?", "other"),
    ],
    "es": [
        ("Me interesa, ¿podemos agendar una llamada?", "interested"),
        ("Suena bien, envíeme más información.", "interested"),
        ("No estamos interesados, gracias.", "not_interested"),
        ("No, gracias. Ya tenemos proveedor.", "not_interested"),
        ("Por favor, denme de baja.", "unsubscribe"),
        ("Quiero darme de baja de su lista.", "unsubscribe"),
        ("No me escriban más.", "unsubscribe"),
        ("Carlos ya no trabaja en la empresa. Por favor, contacte con Ana.", "wrong_person"),
        ("Hemos recibido su mensaje y le responderemos pronto.", "auto_reply"),
        ("Estoy fuera de la oficina.", "out_of_office"),
        ("¿Quién le dio mi dirección?", "other"),
    ],
}


@pytest.mark.parametrize(
    ("language", "text", "kind"),
    [(lang, text, kind) for lang, cases in CASES.items() for text, kind in cases],
    ids=lambda v: v if isinstance(v, str) and len(v) < 4 else None,
)
def test_new_text_is_classified_per_language(language, text, kind):
    verdict = classify_text(text, sent=SENT)

    assert verdict.kind == kind, verdict.reason
    if kind != "other":
        assert f"/{language}:" in verdict.reason or kind == "out_of_office"


def test_not_interested_outranks_interested_because_it_contains_the_word():
    assert classify_text("not interested").kind == "not_interested"
    assert classify_text("nicht interessiert").kind == "not_interested"
    assert classify_text("pas intéressé").kind == "not_interested"
    assert classify_text("no estoy interesado").kind == "not_interested"


def test_referral_outranks_the_interest_it_mentions():
    text = "I've left the company. Please contact Maria, she'd be interested."
    assert classify_text(text).kind == "wrong_person"


def test_please_contact_me_is_interest_not_a_referral():
    assert classify_text("Please contact me next week.").kind == "interested"


def test_automatic_header_makes_an_auto_reply_or_an_out_of_office():
    signal = "Auto-Submitted: auto-replied"

    assert classify_text("Thanks, we got it.", automatic=signal).kind == "auto_reply"
    verdict = classify_text("I am on vacation until 3 December.", automatic=signal, sent=SENT)
    assert (verdict.kind, verdict.return_date) == ("out_of_office", date(2026, 12, 3))
    assert verdict.reason.startswith(signal)


def test_auto_reply_subject_is_a_signal_even_without_headers():
    verdict = classify_text("Thank you for your email.", subject="Automatic reply: Hello")
    assert verdict.kind == "auto_reply"
    ooo = classify_text("", subject="Out of Office: Hello")
    assert ooo.kind == "out_of_office"
    assert classify_text("", subject="AW: Abwesenheitsnotiz: Hallo").kind == "out_of_office"
    assert classify_text("", subject="Réponse automatique : Bonjour").kind == "auto_reply"
    assert classify_text("", subject="Respuesta automática: Hola").kind == "auto_reply"


def test_a_reply_subject_about_an_office_is_no_signal():
    assert classify_text("Yes, interested.", subject="Re: your new office").kind == "interested"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([("Auto-Submitted", "auto-replied")], "Auto-Submitted: auto-replied"),
        (
            [("auto-submitted", "auto-generated (failure)")],
            "auto-submitted: auto-generated (failure)",
        ),
        ([("X-Autoreply", "yes")], "X-Autoreply: yes"),
        ([("X-Autorespond", "Absence")], "X-Autorespond: Absence"),
        ([("Precedence", "auto_reply")], "Precedence: auto_reply"),
        (
            [("X-Auto-Response-Suppress", "All"), ("X-MS-Exchange-Inbox-Rules-Loop", "a@b")],
            "X-Auto-Response-Suppress: All; X-MS-Exchange-Inbox-Rules-Loop: a@b",
        ),
    ],
)
def test_automatic_header_signals(headers, expected):
    assert automatic_signal([("From", "a@b.example"), *headers]) == expected


@pytest.mark.parametrize(
    "headers",
    [
        [("Auto-Submitted", "no")],
        [("Precedence", "list")],
        [("Precedence", "bulk")],
        [("Precedence", "junk")],
        [("X-Auto-Response-Suppress", "All")],
        [("X-Auto-Response-Suppress", "DR, RN, NRN, OOF, AutoReply")],
        [("X-MS-Exchange-Inbox-Rules-Loop", "a@b")],
        [("X-Autoreply", "no")],
        [("Subject", "auto-submitted")],
        [],
    ],
)
def test_human_messages_carry_no_automatic_signal(headers):
    assert automatic_signal(headers) is None


def test_empty_text_is_other_with_a_reason():
    verdict = classify_text("   ")
    assert (verdict.kind, verdict.reason) == ("other", "no text")


def test_rules_read_a_bounded_amount_of_text():
    text = "Hello. " * 100_000 + "unsubscribe"
    assert classify_text(text).kind == "other"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("I'm good with Tuesday, let's talk.", "interested"),
        ("Please email the deck to me, sounds good.", "interested"),
        ("Ajoutez-moi à votre liste, ça m'intéresse.", "interested"),
        ("Ça ne m'intéresse pas.", "not_interested"),
        ("Ich habe keine E-Mails von Ihnen bekommen, klingt aber interessant.", "interested"),
        ("Wir haben bereits einen Termin am Montag, gerne mehr Infos.", "interested"),
        ("Das interessiert uns leider nicht.", "not_interested"),
        ("No tenemos presupuesto este año.", "not_interested"),
        ("We don't have the budget for this.", "not_interested"),
        ("Bitte keine E-Mails mehr.", "unsubscribe"),
    ],
)
def test_near_misses_are_read_the_way_a_person_would(text, kind):
    verdict = classify_text(text)
    assert verdict.kind == kind, verdict.reason
