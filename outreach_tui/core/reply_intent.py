r"""Intent rules: what a person's reply asks for (unsubscribe, not interested, wrong person,
interested), per language, as regular expressions over folded text.

The text is folded first (lower case, accents removed, ß→ss, see `ooo_dates.fold`), so patterns
are written without accents. Every pattern is wrapped in word boundaries: ``(?<!\w)`` before
(which `reply_rules.first_match` relies on to scan one alternation of a whole table), and
``(?!\w)`` after unless the pattern already says what may follow it (a trailing space or a
look-ahead).

The order of `HUMAN_RULES` is the order of precedence: "remove me" outranks everything for
suppression, and "not interested" contains "interested".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

TextKind = Literal[
    "interested",
    "not_interested",
    "unsubscribe",
    "out_of_office",
    "auto_reply",
    "wrong_person",
    "other",
]


@dataclass(frozen=True)
class Rule:
    """One pattern of one kind in one language."""

    kind: TextKind
    language: str
    pattern: re.Pattern[str]


def rules(kind: TextKind, table: dict[str, Iterable[str]]) -> tuple[Rule, ...]:
    """One `Rule` per pattern of `table` (language -> patterns), in the table's order."""
    return tuple(
        Rule(kind, language, re.compile(rf"(?<!\w)(?:{pattern}){_tail(pattern)}"))
        for language, patterns in table.items()
        for pattern in patterns
    )


def _tail(pattern: str) -> str:
    # A pattern that ends in a space or a look-ahead already says what may follow it.
    return "" if re.search(r"(?: |\(\?![^()]*\))$", pattern) else r"(?!\w)"


EMAIL_WORDS = (
    r"(?:e-?mails?|mails?|messages?|nachricht(?:en)?|courriels?|mensajes?"
    r"|correos?(?: electronicos?)?)"
)

UNSUBSCRIBE = rules(
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

NOT_INTERESTED = rules(
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
            r"(?:no |(?:don't|do not) have (?:the |a |any )?)budget",
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

WRONG_PERSON = rules(
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

INTERESTED = rules(
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
