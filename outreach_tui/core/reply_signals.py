# ruff: noqa: RUF001 (the texts and subjects of many languages: Cyrillic, dotless i, full-width colon)
"""Signals that a reply was sent by a machine: headers only machines set, the subjects and texts
of autoresponders (out-of-office notices, ticket acknowledgements).

People are not machines: a signal counts only when a person's mail client would not set it.
RFC 3834 ``Auto-Submitted`` (anything but ``no``), the de-facto ``X-Autoreply`` /
``X-Autorespond`` flags and ``Precedence: auto_reply`` are set by autoresponders only. Exchange's
``X-Auto-Response-Suppress`` is not: Outlook puts ``DR, RN, NRN, OOF, AutoReply`` (and some
systems ``All``) on ordinary mail written by a person, to keep *other* robots from answering it;
only ``All`` together with Exchange's own rule-loop header (``X-MS-Exchange-Inbox-Rules-Loop``,
``X-MS-Exchange-Generated-Message-Source``), which Exchange adds to what an inbox rule or the
out-of-office assistant generated, marks a message as automatic. ``Precedence: bulk`` / ``list``
/ ``junk`` say that a message went to many, not that no person wrote it.

Subjects and texts are matched after folding (lower case, accents removed: see
`ooo_dates.fold`); literal subjects are folded here when compiled, so they are written as the
clients write them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from outreach_tui.core.ooo_dates import fold
from outreach_tui.core.reply_intent import EMAIL_WORDS, rules

OUT_OF_OFFICE = rules(
    "out_of_office",
    {
        "en": [
            r"out of (?:the )?office",
            r"out-of-office",
            r"ooo",
            r"on (?:annual |parental |maternity |paternity |sick |medical )?(?:leave|vacation"
            r"|holidays?)",
            r"away from (?:the office|my desk|work|the desk)",
            r"(?:currently|i am|i'm|i will be|i'll be) (?:away|travell?ing|on the road)",
            r"limited (?:access to (?:my )?e-?mail|e-?mail access)",
            r"(?:back|returning) (?:in|to) the office",
            r"(?:be|am|i'm) back (?:on|in|from)",
            r"automatic reply",
        ],
        "de": [
            r"abwesenheit(?:snotiz|smeldung|snachricht)?",
            r"(?:bin|sind) (?:derzeit |zurzeit |aktuell |momentan )?(?:nicht im (?:buro|hause?)"
            r"|abwesend|im urlaub|ausser haus|unterwegs)",
            r"nicht im (?:buro|hause?)",
            r"ausser haus",
            r"im urlaub",
            r"in elternzeit",
            r"(?:nur )?eingeschrankt(?:en)? (?:erreichbar|zugriff)",
            r"wieder (?:im buro|erreichbar|zuruck|im hause?)",
            r"ab dem .{1,25} wieder",
            r"zuruck am",
        ],
        "fr": [
            r"absente?s? (?:du bureau|jusqu|a partir|pour|en ce moment|actuellement)",
            r"je suis (?:actuellement )?absente?",
            r"en (?:conges?|vacances|deplacement)",
            r"hors du bureau",
            r"(?:je serai |suis )?de retour (?:le|au bureau|a partir|lundi|mardi|mercredi|jeudi"
            r"|vendredi)",
            r"acces (?:limite|restreint) (?:a mes|aux) (?:e-?mails|courriels|messages)",
            r"message d'absence",
        ],
        "es": [
            r"fuera de (?:la )?oficina",
            r"(?:estoy|estare|me encuentro) (?:ausente|fuera|de vacaciones|de viaje)",
            r"de vacaciones",
            r"de vuelta el",
            r"(?:regresare|volvere|me reincorporare|estare de vuelta)",
            r"acceso limitado (?:a|al) (?:mi |el )?correo",
            r"ausente (?:hasta|del|desde)",
        ],
        # Autoresponder texts only (no intent rules exist in these languages): enough to tell an
        # out-of-office from other automatic mail when the subject says only "automatic reply".
        "nl": [
            r"afwezig(?:heid)?",
            r"met vakantie",
            r"(?:niet|buiten) (?:op |aanwezig op )?kantoor",
            r"niet aanwezig",
        ],
        "it": [
            r"fuori (?:ufficio|sede)",
            r"in ferie",
            r"(?:sono|saro) (?:assente|in ferie|fuori)",
        ],
        "pt": [
            r"fora do escritorio",
            r"(?:estou|estarei) (?:de ferias|ausente|fora)",
            r"de ferias",
        ],
        "sv": [
            r"pa semester",
            r"(?:ar|jag ar) (?:ledig|franvarande|tjanstledig|foraldraledig)",
            r"inte pa kontoret",
            r"franvarande",
        ],
        "da-no": [
            r"pa ferie",
            r"fraværende",
            r"ikke pa kontoret",
            r"ikke til stede",
            r"pa (?:barsel|orlov|permisjon)",
        ],
        "fi": [
            r"lomalla",
            r"poissa toimistolta",
            r"olen poissa",
        ],
        "pl": [
            r"na urlopie",
            r"poza biurem",
            r"nieobecn\w*",
        ],
        "cs": [
            r"mimo kancelar",
            r"na dovolene",
            r"nepritomn\w*",
        ],
        "ru": [
            r"в отпуске",
            r"вне офиса",
            r"нет на месте",
            r"в командировке",
            r"отсутству\w*",
        ],
        "tr": [
            r"ofis d[iı]s[iı]nda\w*",
            r"izindeyim",
            r"tatildeyim",
        ],
    },
)

ACKNOWLEDGEMENT = rules(
    "auto_reply",
    {
        "en": [
            rf"(?:we|i) (?:have |'ve )?(?:received|got) your (?:{EMAIL_WORDS}|request|inquiry"
            rf"|enquiry|ticket)",
            rf"your (?:{EMAIL_WORDS}|request|inquiry|enquiry) (?:has been|was|is)"
            rf" (?:received|logged)",
            r"this is an automat(?:ed|ic) (?:reply|response|message|notification)",
            r"(?:ticket|case|request) (?:number|no\.?|id|#|reference)",
            r"do not reply to this (?:e-?mail|message)",
            r"(?:we|our team) will (?:get back to you|respond|reply) (?:as soon as possible"
            r"|shortly|within)",
            r"auto-?reply",
        ],
        "de": [
            rf"(?:ihre|deine) (?:{EMAIL_WORDS}|anfrage) (?:ist|wurde) (?:bei uns )?(?:eingegangen"
            rf"|erhalten)",
            rf"(?:wir haben|haben wir) (?:ihre|deine) (?:{EMAIL_WORDS}|anfrage) erhalten",
            r"(?:dies ist eine |diese )?automatisch(?:e|er|en) (?:antwort|nachricht"
            r"|benachrichtigung|e-?mail)",
            r"ticket(?:nummer|-nr\.?| nr\.?| id)",
            r"vielen dank fur ihre (?:nachricht|anfrage)[,.!]? (?:wir|sie wurde)",
        ],
        "fr": [
            rf"nous avons (?:bien )?recu votre (?:{EMAIL_WORDS}|demande)",
            r"votre (?:message|demande|courriel) a (?:bien )?ete (?:recue?|enregistree?)",
            r"(?:reponse|message) automatique",
            r"numero de (?:ticket|dossier|demande)",
        ],
        "es": [
            rf"hemos recibido (?:su|tu) (?:{EMAIL_WORDS}|solicitud|consulta|peticion)",
            r"(?:su|tu) (?:mensaje|solicitud|consulta) (?:ha sido|fue) recibid[oa]",
            r"(?:respuesta|mensaje) automatic[oa]",
            r"numero de (?:ticket|caso|solicitud)",
        ],
    },
)


#: Flags set only by autoresponders (vacation programs, helpdesks), whatever their value says
#: other than no.
_MACHINE_FLAGS = frozenset(
    {
        "x-autoreply",
        "x-autorespond",
        "x-autoresponder",
        "x-autoresponse",
        "x-autogenerated",
        "x-auto-reply",
    }
)
_NO = frozenset({"no", "false", "0", "none"})
#: Headers Exchange adds to what an inbox rule or the out-of-office assistant generated (and
#: keeps, to count loops): one of them with ``X-Auto-Response-Suppress: All`` is a machine.
_EXCHANGE_RULE_LOOPS = frozenset(
    {"x-ms-exchange-inbox-rules-loop", "x-ms-exchange-generated-message-source"}
)


def automatic_signal(headers: Iterable[tuple[str, str]]) -> str | None:
    """The header(s) that mark a message as sent by a machine, as ``"Name: value"``; None if none.

    A single decisive header is returned as it comes first; Exchange's pair is returned as
    ``"X-Auto-Response-Suppress: All; X-MS-Exchange-Inbox-Rules-Loop: ..."``.
    """
    suppress_all: str | None = None
    rule_loop: str | None = None
    for name, raw_value in headers:
        key = name.strip().lower()
        value = " ".join(raw_value.split()).strip()
        low = value.lower()
        shown = f"{name.strip()}: {value}"
        if key == "auto-submitted":
            if low and low.split(";")[0].strip() != "no":
                return shown
        elif key in _MACHINE_FLAGS:
            if low and low not in _NO:
                return shown
        elif key in {"precedence", "x-precedence"}:
            if low in {"auto_reply", "auto-reply"}:
                return shown
        elif key == "x-auto-response-suppress":
            if low == "all" and suppress_all is None:
                suppress_all = shown
        elif key in _EXCHANGE_RULE_LOOPS and low and rule_loop is None:
            rule_loop = shown
    if suppress_all is not None and rule_loop is not None:
        return f"{suppress_all}; {rule_loop}"
    return None


def _literals(words: Iterable[str]) -> str:
    return "|".join(re.escape(fold(word)) for word in sorted(words, key=len, reverse=True))


#: Subjects autoresponders put first (after any reply prefix), as each client writes them.
AUTOMATIC_SUBJECTS = (
    # en
    "automatic reply", "auto reply", "auto-reply", "autoreply", "auto response", "auto-response",
    "automatic response", "autoresponse", "out of office", "out of the office", "ooo",
    "out of office autoreply",
    # de
    "abwesenheitsnotiz", "abwesenheit", "abwesend", "automatische antwort", "autom. antwort",
    "eingangsbestätigung", "empfangsbestätigung",
    # fr
    "réponse automatique", "absence", "absent", "absente", "message d'absence",
    "accusé de réception",
    # es
    "respuesta automática", "fuera de la oficina", "fuera de oficina", "ausente",
    "acuse de recibo",
    # nl, it, pt
    "automatisch antwoord", "afwezig", "afwezigheid", "risposta automatica", "fuori ufficio",
    "fuori sede", "resposta automática", "fora do escritório",
    # sv, da, no, fi
    "automatiskt svar", "autosvar", "frånvarande", "automatisk svar", "fraværende",
    "automaattinen vastaus",
    # pl, cs, ru, tr, hu, el
    "odpowiedź automatyczna", "automatyczna odpowiedź", "poza biurem", "automatická odpověď",
    "mimo kancelář", "автоматический ответ", "автоответ", "otomatik yanıt", "otomatik cevap",
    "automatikus válasz", "αυτόματη απάντηση",
    # ja, zh, ko
    "自動応答", "自動返信", "自动回复", "自動回覆", "自动答复", "자동 응답", "자동 회신",
)  # fmt: skip
# The words are the subject's own prefix ("Automatic reply: ...", "Out of Office - ...") or the
# whole subject ("Absence"): a reply to our "Absence management, simplified" is a person's.
_AUTO_SUBJECT = re.compile(
    rf"^(?:{_literals(AUTOMATIC_SUBJECTS)})\s*(?:[:：\-–|]|$)"
    r"|\b(?:is|ist|est|esta) (?:out of (?:the )?office|ausser haus|abwesend|absente?|ausente)\b"
)
#: Words in an automatic subject that say the person is away (not a ticket acknowledgement).
_AWAY_SUBJECT = re.compile(
    r"out of (?:the )?office|abwesen|\babsen(?:ce|t)|fuera de (?:la )?oficina|ausente"
    r"|vacation|urlaub|conges|vacaciones|\booo\b|afwezig|vakantie|fuori (?:ufficio|sede)"
    r"|\bferie|assente|fora do escritorio|ferias|franvar|semester|fravær|\bloma|poissa|urlop"
    r"|nieobecn|poza biurem|mimo kancelar|dovolen|nepritomn|отпуск|вне офиса|нет на месте"
    r"|\bizin|tatil|不在|休暇|休假"
)
#: Reply and forward prefixes of the common clients, before an autoresponder's own prefix.
_REPLY_PREFIXES = re.compile(
    r"^(?:(?:re|aw|wg|fw|fwd|tr|rv|res|enc|sv|vs|vb|odp|antw|antwort|ynt|rif|r|otv|ответ"
    r"|回复|回覆|答复|返信)\s*[:：]\s*)+"
)


def subject_core(folded_subject: str) -> str:
    """A folded subject without its reply and forward prefixes ("AW: RE: ...")."""
    return _REPLY_PREFIXES.sub("", folded_subject)


def automatic_subject(core: str) -> bool:
    """Whether a subject (its `subject_core`) is one autoresponders write ("Automatic reply:
    ...", "Abwesenheitsnotiz: ...", "Absence", "Anna Meyer is out of the office")."""
    return _AUTO_SUBJECT.search(core) is not None


def subject_says_away(core: str) -> bool:
    """Whether a subject (its `subject_core`) says that its sender is away."""
    return _AWAY_SUBJECT.search(core) is not None
