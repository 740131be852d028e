"""Rules that say what kind of reply a message is, from its headers and its new text.

Pure functions over strings: the parsing of bytes lives in `outreach_tui.mail.inbound`. The rules
see only the new text of a reply (quoted history and signature already removed), so our own
footer's "unsubscribe" in a quoted copy cannot decide anything.

Order, first match wins:
1. header signals of an automatic message (Auto-Submitted, X-Autoreply, Precedence, ...) and
   out-of-office / auto-reply subjects: out_of_office when the text says so, else auto_reply;
2. text that is plainly an out-of-office or an acknowledgement (ticket systems);
3. human replies: unsubscribe, not_interested, wrong_person, interested — in that order, because
   "not interested" contains "interested" and "remove me" outranks everything for suppression;
4. other.

Every rule exists in English, German, French and Spanish; the text is folded first (lower case,
accents removed, ß→ss), so patterns are written without accents.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Literal

from outreach_tui.core.ooo_dates import find_return_date, fold

TextKind = Literal[
    "interested",
    "not_interested",
    "unsubscribe",
    "out_of_office",
    "auto_reply",
    "wrong_person",
    "other",
]

#: Rules look at this many characters of new text at most (a reply's decisive words come early).
MAX_RULE_CHARS = 6000


@dataclass(frozen=True)
class Rule:
    kind: TextKind
    language: str
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class RuleVerdict:
    kind: TextKind
    reason: str
    """The header or rule that decided, for the audit trail."""
    return_date: date | None = None


def _rules(kind: TextKind, table: dict[str, Iterable[str]]) -> tuple[Rule, ...]:
    return tuple(
        Rule(kind, language, re.compile(rf"(?<!\w)(?:{pattern}){_tail(pattern)}"))
        for language, patterns in table.items()
        for pattern in patterns
    )


def _tail(pattern: str) -> str:
    # A pattern that ends in a space or a look-ahead already says what may follow it.
    return "" if re.search(r"(?: |\(\?![^()]*\))$", pattern) else r"(?!\w)"


_EMAIL = (
    r"(?:e-?mails?|mails?|messages?|nachricht(?:en)?|courriels?|mensajes?"
    r"|correos?(?: electronicos?)?)"
)

OUT_OF_OFFICE = _rules(
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
    },
)

ACKNOWLEDGEMENT = _rules(
    "auto_reply",
    {
        "en": [
            rf"(?:we|i) (?:have |'ve )?(?:received|got) your (?:{_EMAIL}|request|inquiry|enquiry"
            rf"|ticket)",
            rf"your (?:{_EMAIL}|request|inquiry|enquiry) (?:has been|was|is) (?:received|logged)",
            r"this is an automat(?:ed|ic) (?:reply|response|message|notification)",
            r"(?:ticket|case|request) (?:number|no\.?|id|#|reference)",
            r"do not reply to this (?:e-?mail|message)",
            r"(?:we|our team) will (?:get back to you|respond|reply) (?:as soon as possible"
            r"|shortly|within)",
            r"auto-?reply",
        ],
        "de": [
            rf"(?:ihre|deine) (?:{_EMAIL}|anfrage) (?:ist|wurde) (?:bei uns )?(?:eingegangen"
            rf"|erhalten)",
            rf"(?:wir haben|haben wir) (?:ihre|deine) (?:{_EMAIL}|anfrage) erhalten",
            r"(?:dies ist eine |diese )?automatisch(?:e|er|en) (?:antwort|nachricht"
            r"|benachrichtigung|e-?mail)",
            r"ticket(?:nummer|-nr\.?| nr\.?| id)",
            r"vielen dank fur ihre (?:nachricht|anfrage)[,.!]? (?:wir|sie wurde)",
        ],
        "fr": [
            rf"nous avons (?:bien )?recu votre (?:{_EMAIL}|demande)",
            r"votre (?:message|demande|courriel) a (?:bien )?ete (?:recue?|enregistree?)",
            r"(?:reponse|message) automatique",
            r"numero de (?:ticket|dossier|demande)",
        ],
        "es": [
            rf"hemos recibido (?:su|tu) (?:{_EMAIL}|solicitud|consulta|peticion)",
            r"(?:su|tu) (?:mensaje|solicitud|consulta) (?:ha sido|fue) recibid[oa]",
            r"(?:respuesta|mensaje) automatic[oa]",
            r"numero de (?:ticket|caso|solicitud)",
        ],
    },
)

UNSUBSCRIBE = _rules(
    "unsubscribe",
    {
        "en": [
            r"unsubscribe",
            r"remove (?:me|us|my (?:e-?mail|address|details|name)|this address)",
            r"take (?:me|us|my (?:e-?mail|address)) off",
            r"(?:stop|quit|cease) (?:e-?mailing|emailing|contacting|sending|writing)",
            r"(?:do not|don't|dont|never) (?:contact|e-?mail|email|write to|message) (?:me|us)",
            r"opt(?:ing)?[- ]?(?:me )?out",
            r"delete (?:my|our) (?:data|e-?mail|address|details|contact)",
        ],
        "de": [
            r"(?:ab|aus)melden",
            r"abmeldung",
            r"austragen",
            r"(?:aus|von) (?:ihrem|ihrer|dem|der|eurem|eurer|ihren) (?:e-?mail-?)?(?:verteiler"
            r"|liste|mailingliste|newsletter|kontaktliste)",
            r"(?:keine|keinerlei) (?:weiteren|e-?mails mehr|mails mehr|werbung)"
            r"|(?:bitte|mir) keine (?:e-?mails|mails|nachrichten|zusendungen|werbung)",
            r"(?:loschen|entfernen) sie (?:mich|meine)",
            r"(?:kontaktieren|anschreiben|schreiben) sie mich (?:bitte )?nicht",
            r"nicht mehr (?:kontaktieren|anschreiben|anzuschreiben|zu kontaktieren)",
            r"widerspreche",
        ],
        "fr": [
            r"desinscri(?:re|vez|ption|s|vez-moi)",
            r"desabonn\w*",
            r"(?:retirez|supprimez|enlevez|effacez)[- ]moi",
            r"(?:retirer|supprimer|effacer) (?:mon adresse|mes (?:coordonnees|donnees)|moi)",
            r"ne (?:plus )?me (?:contactez|recontactez|ecrivez|contacter|ecrire) plus",
            r"ne plus me (?:contacter|ecrire|solliciter|relancer)",
            r"ne m'ecrivez plus",
            r"(?:retirer|supprimer|enlever|effacer)(?:-moi)? de (?:votre|vos) (?:liste|fichier"
            r"|base|envois)",
        ],
        "es": [
            r"(?:dar(?:me|nos|se)|den(?:me|nos)|de(?:me|nos)|dame|solicito la|quiero la|pido la)"
            r" (?:de )?baja",
            r"(?:eliminar(?:me)?|borrar(?:me)?|quitar(?:me)?|sacar(?:me)?|eliminen(?:me)?"
            r"|borren(?:me)?|quiten(?:me)?|saquen(?:me)?) (?:de|mi) (?:su|tu|la|vuestra|sus|correo"
            r"|direccion|email|datos|lista)",
            r"no me (?:contacten|contactes|escriban|escribas|envien|envies|vuelvan a escribir"
            r"|vuelvan a contactar)(?: mas)?",
            r"dejen de (?:escribirme|enviarme|contactarme|escribir)",
            r"darse de baja",
        ],
    },
)

NOT_INTERESTED = _rules(
    "not_interested",
    {
        "en": [
            r"not (?:\w+ ){0,2}interested",
            r"no interest",
            r"no,? thanks?(?: you)?",
            r"not (?:a (?:good )?fit|relevant|for us|needed|looking)",
            r"(?:we(?:'re| are)|i'm|i am) all set",
            r"(?:does not|doesn't|do not|don't) interest (?:me|us)",
            r"not interesting (?:for|to) (?:me|us)",
            r"(?:no|don't have (?:the |a )?|do not have (?:the |a )?)budget",
            r"(?:we|i) (?:already )?(?:have|work with|use) (?:a|an|our own) (?:solution|provider"
            r"|vendor|agency|partner|tool|team)",
            r"(?:we'll|we will|i'll|i will) pass",
            r"not at this (?:time|moment|stage)",
            r"(?:please )?(?:don't|do not) follow up",
        ],
        "de": [
            r"kein(?:erlei)? (?:interesse|bedarf)",
            r"nicht (?:\w+ ){0,2}interessiert",
            r"nein,? danke",
            r"(?:haben|nutzen|arbeiten) (?:bereits|schon) (?:mit )?(?:einen?|eine[mn]?"
            r"|unsere[mn]?|eigene[mn]?) (?:anbieter|dienstleister|losung|partner|agentur|tool"
            r"|system|software)",
            r"interessier\w* (?:mich|uns) (?:leider )?nicht",
            r"(?:ist|sind) (?:fur uns )?(?:leider )?nicht (?:\w+ ){0,2}interessant",
            r"kein budget",
            r"(?:brauchen|benotigen) wir (?:nicht|keine?)",
            r"(?:passt|ist) (?:leider )?nicht (?:fur uns|relevant|zu uns)",
            r"nicht relevant",
        ],
        "fr": [
            r"(?:ne (?:suis|sommes) )?pas (?:\w+ ){0,2}interesse(?:e|s|es)?",
            r"(?:aucun|pas d')interet",
            r"non,? merci",
            r"pas (?:besoin|pertinent|pour nous)",
            r"nous avons deja (?:un|une|notre|nos) (?:prestataire|fournisseur|solution"
            r"|partenaire|outil|agence|equipe)",
            r"nous travaillons deja avec",
            r"ne (?:m'|nous )interesse(?:nt)? pas",
            r"pas de budget",
            r"(?:ce n'est|c'est) pas (?:pour nous|le moment|pertinent)",
            r"nous n'avons pas besoin",
        ],
        "es": [
            r"no (?:\w+ ){0,2}interesad[oa]s?",
            r"no (?:me|nos) interesa",
            r"no,? gracias",
            r"sin interes",
            r"ya (?:tenemos|contamos con|trabajamos con) (?:un|una|otro|otra|nuestro|nuestra)"
            r" (?:proveedor|solucion|agencia|herramienta|equipo|socio|empresa)",
            r"no (?:tenemos|hay) presupuesto",
            r"no (?:lo )?necesitamos",
            r"no es (?:de nuestro interes|relevante|para nosotros)",
        ],
    },
)

WRONG_PERSON = _rules(
    "wrong_person",
    {
        "en": [
            r"no longer (?:with|at|work(?:s|ing)? (?:at|for|with|here)|employed|part of)",
            r"(?:has|have|had) left (?:the company|the organi[sz]ation|the firm|the business|us"
            r"|[a-z]+ (?:inc|ltd|gmbh))",
            r"left the company",
            r"(?:not|wrong) (?:the )?(?:right|correct|best|appropriate) (?:person|contact)",
            r"wrong (?:person|contact|address)",
            r"not responsible for",
            r"(?:please |you should |you may want to |you might want to |try )(?:contact|reach out"
            r" to|get in touch with|speak (?:to|with)|talk to) (?!me\b|us\b)",
            r"(?:the )?right (?:person|contact) (?:is|would be|for this)",
            r"(?:i've|i have) forwarded (?:this|your)",
        ],
        "de": [
            r"nicht mehr (?:bei|im unternehmen|in unserem unternehmen|fur|tatig|beschaftigt|im"
            r" hause?)",
            r"(?:hat|haben) (?:das unternehmen|die firma|uns) verlassen",
            r"nicht (?:mehr )?zustandig",
            r"falsche[nr]? (?:ansprechpartner(?:in)?|person|kontakt)",
            r"wenden sie sich (?:bitte )?(?:direkt )?an",
            r"(?:richtige[nr]? )?ansprechpartner(?:in)? (?:ist|ware|dafur)",
            r"(?:kontaktieren|schreiben) sie (?:bitte )?(?!mich\b|uns\b)(?:herrn?|frau|meine[nr]?"
            r" kolleg\w*|\S+@\S+)",
        ],
        "fr": [
            r"ne (?:fait|travaille|fais|travaill?e) plus (?:partie|chez|pour|dans|avec)",
            r"(?:a|ont) quitte (?:l'entreprise|la societe|l'organisation|nos|notre)",
            r"n'est plus (?:chez|dans|avec|en poste|parmi)",
            r"pas la bonne personne",
            r"(?:mauvais(?:e)?|bon(?:ne)?) (?:interlocut(?:eur|rice)|personne|contact) (?:est"
            r"|serait)",
            r"mauvais(?:e)? (?:interlocut(?:eur|rice)|personne|contact)",
            r"(?:veuillez|merci de) (?:contacter|vous adresser a|ecrire a) (?!moi\b)",
            r"adressez-vous a",
            r"je ne suis pas (?:le bon|la bonne|en charge|responsable)",
        ],
        "es": [
            r"ya no (?:trabaja|forma parte|esta|trabajo) (?:en|con|para|aqui)",
            r"(?:dejo|ha dejado|abandono) la (?:empresa|compania|organizacion)",
            r"no soy (?:la persona|el contacto) (?:adecuad[oa]|indicad[oa]|correct[oa])",
            r"persona (?:equivocada|incorrecta)",
            r"(?:por favor,? )?(?:contacte|contacta|escriba|escribe|pongase en contacto|ponte en"
            r" contacto) (?:con |a )(?!mi\b)",
            r"no soy (?:el|la) responsable",
        ],
    },
)

INTERESTED = _rules(
    "interested",
    {
        "en": [
            r"interested",
            r"sounds (?:good|great|interesting|promising)",
            r"(?:let's|lets|happy to|glad to|love to|like to) (?:talk|chat|meet|connect|speak|set"
            r" up|schedule|hop on|learn more)",
            r"(?:book|schedule|set up|arrange) (?:a |some )?(?:call|meeting|demo|time|chat)",
            r"tell me more",
            r"send (?:me |us |over )?(?:some |more )?(?:info|information|details|pricing|a"
            r" proposal|a deck)",
            r"more (?:info|information|details)",
            r"(?:what|how) (?:are|is|much) (?:the |your )?(?:pricing|price|cost|rates)",
            r"(?:give me|give us) a call",
            r"(?:please )?(?:contact|call|ring|phone) (?:me|us)",
            r"(?:free|available) (?:on|next|this|tomorrow|for a call)",
        ],
        "de": [
            r"interess(?:iert|ant)",
            r"klingt (?:gut|spannend|interessant)",
            r"(?:gerne|gern) (?:mehr|ein|einen|mal|bereit|telefonieren|austauschen|naher)",
            r"mehr (?:infos|informationen|details)",
            r"(?:termin|telefonat|gesprach|call) (?:vereinbaren|ausmachen|machen)",
            r"rufen sie (?:mich|uns) (?:gerne |doch )?an",
            r"lassen sie uns (?:sprechen|telefonieren|reden|austauschen)",
            r"(?:schicken|senden) sie (?:mir|uns) (?:gerne |bitte )?(?:ein angebot|mehr|infos"
            r"|informationen|unterlagen)",
            r"wann (?:haben|hatten) sie zeit",
        ],
        "fr": [
            r"interesse(?:e|s|es)?",
            r"interessant",
            r"(?:ca|cela) m'interesse",
            r"volontiers",
            r"(?:plus d'|davantage d')(?:informations|infos|details)",
            r"en savoir plus",
            r"(?:prendre|fixer|planifier|organiser) (?:un )?(?:rendez-vous|rdv|appel|echange"
            r"|creneau)",
            r"(?:un )?appel (?:la semaine|demain|cette semaine)",
            r"(?:je suis|nous sommes) disponibles?",
            r"(?:vos )?tarifs",
            r"devis",
        ],
        "es": [
            r"interesad[oa]s?",
            r"(?:me|nos) interesa",
            r"suena (?:bien|interesante|genial)",
            r"mas (?:informacion|info|detalles)",
            r"(?:agendar|programar|organizar|tener) (?:una )?(?:llamada|reunion|cita|demo)",
            r"(?:estoy|estamos) disponibles?",
            r"(?:cual es el|que) precio",
            r"(?:envie(?:n)?me|mande(?:n)?me|enviar(?:me)?|me (?:envian|mandan)) (?:una |un )?"
            r"(?:cotizacion|propuesta|presupuesto|precios)",
            r"con (?:mucho )?gusto",
            r"hablemos",
        ],
    },
)

HUMAN_RULES: tuple[Rule, ...] = UNSUBSCRIBE + NOT_INTERESTED + WRONG_PERSON + INTERESTED

_AUTO_SUBJECT = re.compile(
    r"^(?:automatic reply|auto(?:matic)?[- ]?(?:reply|response)|autoreply|out of (?:the )?office"
    r"|abwesenheit\w*|automatische antwort|reponse automatique|absence|absent"
    r"|respuesta automatica|fuera de (?:la )?oficina|ausente|ooo)\b"
)
_OOO_SUBJECT = re.compile(
    r"out of (?:the )?office|abwesenheit|\babsen(?:ce|t)\b|fuera de (?:la )?oficina|ausente"
    r"|vacation|urlaub|conges|vacaciones|\booo\b"
)


def automatic_signal(headers: Iterable[tuple[str, str]]) -> str | None:
    """The header that marks a message as sent by a machine, as ``"Name: value"``; None if none.

    RFC 3834 Auto-Submitted (anything but "no"), the de-facto X-Autoreply / X-Autorespond /
    X-Autogenerated, Precedence auto_reply/bulk/junk, and Exchange's X-Auto-Response-Suppress.
    """
    for name, raw_value in headers:
        key = name.strip().lower()
        value = " ".join(raw_value.split()).strip()
        low = value.lower()
        if key == "auto-submitted" and low and not low.startswith("no"):
            return f"{name.strip()}: {value}"
        if key in {"x-autoreply", "x-autorespond", "x-autogenerated", "x-auto-reply"} and (
            low and low not in {"no", "false", "0"}
        ):
            return f"{name.strip()}: {value}"
        if key == "precedence" and low in {"auto_reply", "auto-reply", "bulk", "junk"}:
            return f"{name.strip()}: {value}"
        if key == "x-auto-response-suppress" and low and low != "none":
            return f"{name.strip()}: {value}"
    return None


def normalise(text: str) -> str:
    """Folded text on one line (apostrophes unified), cut to `MAX_RULE_CHARS`."""
    text = text[: MAX_RULE_CHARS * 2].replace("\u2019", "'").replace("`", "'")
    return " ".join(fold(text).split())[:MAX_RULE_CHARS]


def first_match(rules: Iterable[Rule], folded: str) -> tuple[Rule, str] | None:
    """The first rule (in order) that matches, with the words it matched."""
    alternations = _ALTERNATIONS.get(id(rules))
    if alternations is None or alternations.rules is not rules:
        return _first_match_one_by_one(rules, folded)
    # One scan of an alternation instead of one scan per rule. The alternation finds the
    # leftmost position where any rule matches and, there, the first rule in order; an earlier
    # rule may still match further right, so the rules before it are scanned again from just
    # after that position, until no earlier rule matches. Same rule, same words as one by one.
    ordered = alternations.rules
    best: tuple[Rule, str] | None = None
    limit, start = len(ordered), 0
    while limit:
        found = alternations.of_first(limit).search(folded, start)
        if found is None:
            break
        at = found.start()
        index = next(i for i in range(limit) if ordered[i].pattern.match(folded, at))
        best = ordered[index], found.group(0)
        limit, start = index, at + 1
    return best


def _first_match_one_by_one(rules: Iterable[Rule], folded: str) -> tuple[Rule, str] | None:
    for rule in rules:
        found = rule.pattern.search(folded)
        if found:
            return rule, found.group(0)
    return None


_WORD_START = r"(?<!\w)"


class _Alternations:
    """Alternation regexes of the first n rules of one rule tuple, compiled when first needed."""

    def __init__(self, rules: tuple[Rule, ...]) -> None:
        assert all(rule.pattern.pattern.startswith(_WORD_START) for rule in rules)
        self.rules = rules
        self._compiled: dict[int, re.Pattern[str]] = {}

    def of_first(self, count: int) -> re.Pattern[str]:
        compiled = self._compiled.get(count)
        if compiled is None:
            # The shared look-behind comes first, once: inside a word it fails before any
            # branch is tried, and branches that start with a letter are rejected cheaply.
            bodies = "|".join(r.pattern.pattern[len(_WORD_START) :] for r in self.rules[:count])
            compiled = self._compiled[count] = re.compile(f"{_WORD_START}(?:{bodies})")
        return compiled


#: Keyed by the identity of the module's rule tuples (other iterables are matched one by one).
_ALTERNATIONS: dict[int, _Alternations] = {
    id(rules): _Alternations(rules) for rules in (OUT_OF_OFFICE, ACKNOWLEDGEMENT, HUMAN_RULES)
}


def _subject_core(subject: str) -> str:
    folded = normalise(subject)
    # Reply/forward prefixes in the four languages before an auto-reply's own prefix.
    return re.sub(r"^(?:(?:re|aw|wg|fw|fwd|tr|rv|res)\s*:\s*)+", "", folded)


def classify_text(
    text: str,
    *,
    subject: str = "",
    automatic: str | None = None,
    sent: date | None = None,
) -> RuleVerdict:
    """Classify a reply from its new text, subject and the automatic-header signal (if any).

    `sent` is the message's own date, used to place a year-less return date in time.
    """
    folded = normalise(text)
    subject_core = _subject_core(subject)
    ooo = first_match(OUT_OF_OFFICE, folded)
    subject_auto = _AUTO_SUBJECT.search(subject_core)
    if automatic is not None or subject_auto is not None:
        signal = automatic or f"Subject: {subject.strip()[:80]}"
        if ooo is not None or _OOO_SUBJECT.search(subject_core):
            why = f"{signal}; out-of-office ({ooo[0].language}: {ooo[1]!r})" if ooo else signal
            return RuleVerdict("out_of_office", why, find_return_date(folded, sent))
        return RuleVerdict("auto_reply", signal)
    if ooo is not None:
        rule, words = ooo
        return RuleVerdict("out_of_office", _reason(rule, words), find_return_date(folded, sent))
    ack = first_match(ACKNOWLEDGEMENT, folded)
    if ack is not None:
        return RuleVerdict("auto_reply", _reason(*ack))
    human = first_match(HUMAN_RULES, folded)
    if human is not None:
        return RuleVerdict(human[0].kind, _reason(*human))
    return RuleVerdict("other", "no rule matched" if folded else "no text")


def _reason(rule: Rule, words: str) -> str:
    return f"rule {rule.kind}/{rule.language}: {words[:60]!r}"
