# ruff: noqa: RUF001 (sign-offs of many languages: Cyrillic letters, dashes)
"""The part of a reply's new text that says what its writer wants: before the sign-off.

The new text of a reply keeps what its writer's client put below the words (the sign-off, a
signature block, a company disclaimer, a mailing list's footer); none of it is intent, and some
of it reads like intent to the rules: "If you are not the intended recipient, please delete
this e-mail", "to unsubscribe from our newsletter, write to ...". Intent is read up to the
first line that ends the message:

- a sign-off that only ends letters ("Best regards", "Mit freundlichen Grüßen", "Cordialement");
- a "thanks" line ("Thanks,", "Danke", "Merci") only when a name follows it: "Thanks,\\nplease
  remove me" is a request, "Thanks,\\nJo" a sign-off;
- a disclaimer or a list footer ("CONFIDENTIALITY NOTICE", "This e-mail is confidential",
  "You received this message because you are subscribed to ...").

The first line never ends the message: "Thanks, but no." is a whole reply.
Input is plain text (not folded); lines are folded one by one for matching.
"""

from __future__ import annotations

import re

from outreach_tui.core.ooo_dates import fold

#: A sign-off line is short; a longer line that starts like one is a sentence.
MAX_SIGNOFF_CHARS = 40
#: A name under a "thanks" line: a few words.
MAX_NAME_WORDS = 4

_PUNCT = r"[ \t]*[,.!;:\-–—]*[ \t]*"

_SIGNOFF = re.compile(
    r"^(?:"
    # en
    r"(?:best|kind|warm|warmest|kindest|many|with)? ?regards|best(?: wishes)?|all the best"
    r"|(?:yours )?sincerely|(?:yours )?truly|cheers|respectfully|cordially|take care"
    # de
    r"|(?:mit )?(?:freundlichen|besten|herzlichen|lieben|sonnigen) gru(?:ss|ß)(?:en)?"
    r"|(?:viele|beste|liebe|herzliche|schone) gru(?:ss|ß)e|gru(?:ss|ß)(?:e)?|mfg|lg|vg|bg"
    # fr
    r"|(?:bien )?cordialement|bien a (?:vous|toi)|(?:sinceres |meilleures )?salutations"
    r"|a bientot|bonne (?:journee|soiree)"
    # es, pt, it
    r"|(?:un )?saludos?(?: cordiales)?|atentamente|un abrazo|abrazos|cordialmente"
    r"|atenciosamente|abracos?|cumprimentos|(?:cordiali|distinti) saluti|saluti|un saluto"
    # nl, sv, da, no, fi
    r"|met vriendelijke groet(?:en)?|(?:vriendelijke |hartelijke )?groet(?:en|jes)?|mvg"
    r"|(?:med )?vanliga halsningar|halsningar|mvh|(?:med )?venlig hilsen|hilsen|vh"
    r"|ystavallisin terveisin|terveisin"
    # pl, cs, ru
    r"|z powazaniem|pozdrawiam|s pozdravem|s uctou|с уважением|с наилучшими пожеланиями"
    rf"){_PUNCT}$"
)
_THANKS = re.compile(
    r"^(?:many |a lot of |big )?(?:thanks?(?: (?:you|again|a lot|so much|in advance))?|thx|ty"
    r"|danke(?: (?:schon|sehr|vielmals))?|vielen dank|merci(?: beaucoup)?|gracias|muchas gracias"
    r"|grazie(?: mille)?|obrigad[oa]|dank(?:je| je| u)(?: wel)?|bedankt|tack|tak|takk|kiitos"
    rf"|dzieki|dziekuje|dekuji|спасибо|blagodaryu){_PUNCT}$"
)
_DISCLAIMER = re.compile(
    r"^[*_ \t]*(?:"
    r"confidentiality (?:notice|note|statement)|disclaimer|legal notice|important notice"
    r"|privileged (?:and|&) confidential|confidential(?:ity)?\s*[:\-]"
    r"|this (?:e-?mail|message|communication)(?: and (?:any|all) (?:its )?attachments?)? (?:is|are|"
    r"may (?:be|contain)|contains?) (?:strictly )?(?:confidential|privileged|intended)"
    r"|the (?:information|content)s? (?:contained )?in this (?:e-?mail|message)"
    r"|if you (?:are not|have received this)|you (?:are )?receiv(?:ed|ing) this (?:message|e-?mail)"
    r"|to unsubscribe from this|(?:click here )?to unsubscribe from (?:this|these|our)"
    r"|diese (?:e-?mail|nachricht) (?:enthalt|ist) (?:vertraulich|moglicherweise)"
    r"|der inhalt dieser (?:e-?mail|nachricht)|wenn sie nicht der (?:richtige|beabsichtigte)"
    r"|ce (?:message|courriel|e-?mail) (?:et (?:ses|toutes les) pieces jointes )?(?:est|sont|peut)"
    r" (?:confidentiel|strictement|contenir)"
    r"|este (?:mensaje|correo)(?: electronico)?(?: y sus anexos)? (?:es|son|puede|contiene)"
    r" (?:confidencial|privilegiad|contener|informacion)"
    r")"
)
_NAME_WORD = re.compile(r"^(?:[^\W\d_][\w.'\-]*|[^\W\d_]\.?)$")
_NAME_PARTICLES = frozenset({"van", "von", "de", "der", "den", "da", "di", "du", "la", "le", "y"})


def intent_part(text: str) -> str:
    """`text` up to the line that ends the message (sign-off, disclaimer, footer)."""
    lines = text.split("\n")
    seen_words = False
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        if seen_words and _ends_the_message(stripped, lines[index + 1 :]):
            return "\n".join(lines[:index]).strip()
        seen_words = True
    return text


def _ends_the_message(line: str, rest: list[str]) -> bool:
    folded = fold(line)
    if _DISCLAIMER.match(folded):
        return True
    if len(line) > MAX_SIGNOFF_CHARS:
        return False
    if _SIGNOFF.match(folded):
        return True
    if _THANKS.match(folded):
        following = next((r.strip() for r in rest if r.strip()), "")
        return not following or _looks_like_a_name(following)
    return False


def _looks_like_a_name(line: str) -> bool:
    """ "Jo", "Anna Meyer", "J. R. Smith", "Dr. Hans Müller", "Marie-Claire", "田中"."""
    words = line.split()
    if not words or len(words) > MAX_NAME_WORDS or len(line) > MAX_SIGNOFF_CHARS:
        return False
    if len(words) == 1 and not any(c.isascii() for c in line):
        return line.isalpha()  # a name in a script without capitals
    return all(
        _NAME_WORD.match(word) is not None and (word[0].isupper() or word in _NAME_PARTICLES)
        for word in words
    )
