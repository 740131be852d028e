# ruff: noqa: RUF001, RUF002 (the reply headers of many languages: Cyrillic, Greek, full-width colons)
"""Where quoted history starts in the text of a reply, in the layouts of the common clients.

Four kinds of line open quoted history, in every language the big clients are localized to:

- an *attribution*: "On Tue, 17 Nov 2026 at 10:00, Sam <sam@x> wrote:", "Am … schrieb …:",
  "Le … a écrit :", "El … escribió:", "Il … ha scritto:", "Op … schreef …:", "… skrev …:",
  "… kirjoitti:", "… napisał(a):", "… написал(а):", "…写道：", "…のメール:", "…님이 작성:",
  Eudora's "At 6/16/2016 08:32 PM, you wrote:", Horde's "Quoting Sam <sam@x>:", and the
  attributions without a verb: Gmail's "2016-03-03 17:21 GMT+01:00 Sam <sam@x>:", its Russian
  and Japanese "…, Sam <sam@x>:", mutt's "* Sam <sam@x> [2026-11-17 10:00]:". Gmail wraps a long
  one over two or three lines, which are read together.
- a *separator* with words in it: "-----Original Message-----", "----- Mail original -----",
  "-------- Weitergeleitete Nachricht --------", "---------- Forwarded message ---------",
  "-----Sam <sam@x> wrote: -----" (HCL Verse);
- a *forward opener*: "Begin forwarded message:", "Anfang der weitergeleiteten Nachricht:", …;
- a *header block*: Outlook's "From:/Sent:/To:/Subject:" and its translations (Von:/Gesendet:/
  An:/Betreff:, De :/Envoyé :/À :/Objet :, 差出人:/送信日時:/…), in any order and with any mix,
  as GMX ("Gesendet:" first), Lotus Notes (tab after the colon) and HTML turned to text
  ("*From:*") write it.

A boundary is *strong* when it marks history even if the text under it is not prefixed with
``>`` (Outlook, Yahoo and Zimbra quote that way): everything after it is history. A bare "Sam
wrote:" is *weak*: it only introduces a block of ``>`` or ``|`` lines, and is text otherwise.
Lines are matched folded (`fold`: lower case, accents removed), so the patterns carry none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from outreach_tui.core.ooo_dates import fold

#: An attribution is one line, or a line wrapped over this many.
MAX_ATTRIBUTION_LINES = 3
MAX_ATTRIBUTION_CHARS = 400
#: Fields of a header block may be separated by this many wrapped or blank lines.
MAX_HEADER_GAP = 2

_QUOTED = re.compile(r"^[ \t]*[>|]")


def _literals(words: Iterable[str]) -> str:
    return "|".join(re.escape(fold(word)) for word in sorted(set(words), key=len, reverse=True))


_WROTE_WORDS = (
    "wrote", "writes", "schrieb", "geschrieben", "écrit", "escribió", "escrito", "ha scritto",
    "scrisse", "schreef", "geschreven", "escreveu", "skrev", "kirjoitti", "napisał(a)",
    "napisał", "napisała", "napisal(a)", "pisze", "napsal(a)", "napsal", "napsala",
    "написал(а)", "написал", "написала", "пишет", "yazdı", "írta", "έγραψε", "a scris",
    "va escriure", "napisao", "napisala", "napísal(a)", "пише", "написав", "написа", "rašė",
    "rakstīja", "kirjutas", "skrifaði", "skreiv", "menulis", "đã viết", "כתב", "كتب", "نوشت",
)  # fmt: skip
_WROTE_SCRIPT_WORDS = ("写道", "寫道", "のメール", "님이 작성", "님의 메시지")
_WROTE = re.compile(
    rf"(?<!\w)(?:{_literals(_WROTE_WORDS)})(?!\w)|(?:{_literals(_WROTE_SCRIPT_WORDS)})"
)
_QUOTING = re.compile(
    r"^(?:quoting|zitat von|citando|citation de|cita de|citaat van|cytuje|citace|цитата)\s"
)
#: The words an attribution line starts with, where a wrapped one may be joined with the next.
_OPENERS = re.compile(
    r"^(?:on|am|le|el|il|il giorno|op|em|no dia|den|dne|w dniu|at|quoting|zitat von)\s"
)
_EMAIL = r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+"
_ENDS_WITH_ADDRESS = re.compile(rf"{_EMAIL}\s*[>)\]]?\s*[:：]$")
_MUTT = re.compile(r"^\*\s.*\[[^\]]*\d[^\]]*\]\s*[:：]$")
_TIME_OR_DATE = re.compile(r"\d{1,2}\s*[:.h]\s*\d{2}|\d{1,4}[./-]\d{1,2}[./-]\d{2,4}")
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
_DAY = re.compile(r"(?<!\d)[0-3]?\d(?!\d)")
_DIGIT = re.compile(r"\d")
#: Attributions that end without a colon: Gmail's older "2013/10/2 Sam <sam@x>" and
#: "2016-03-03 17:21 GMT+01:00 Sam", and forums' "Posted by sam on 01/21/2016".
_DATE_NAME_ADDRESS = re.compile(rf"^(?:19|20)\d\d[-/]\d{{1,2}}[-/]\d{{1,2}}\s.{{1,80}}<{_EMAIL}>$")
_ISO_DATE_NAME = re.compile(r"^(?:19|20)\d\d-\d\d-\d\d \d{1,2}:\d\d gmt[+-]\d\d:\d\d [^:]{1,80}$")
_POSTED_BY = re.compile(r"^posted by .{1,80} on \d{1,2}/\d{1,2}/\d{4}$")
#: Notification systems: "Sam via Discourse Meta wrote:", "Sam via Google Groups schrieb:".
_VIA_WROTE = re.compile(rf"^.{{1,80}} via .{{1,80}} (?:{_literals(_WROTE_WORDS)})\s*[:：]?$")
#: Yahoo's mobile app writes the first quoted line on the attribution line itself.
_ATTRIBUTION_THEN_TEXT = re.compile(
    rf"^(?:on|am|le|el|il|op|em)\s.{{6,250}}?(?:{_literals(_WROTE_WORDS)})\s*[:：]\s+\S"
)

_SEPARATOR = re.compile(r"^[-_=*]{3,}\s*([^-_=*\s].{0,90}?)\s*[-_=*]{3,}$")
_SEPARATOR_WORDS = re.compile(
    r"origin|ursprung|forward|weitergeleit|transfer|reexpedi|reenviad|inoltrat|doorgestuurd"
    r"|encaminhad|vidarebefordra|videresend|valitetty|przekazan|preposlan|переслан|пересыла"
    r"|исходн|message|messaggio|mensaje|mensagem|nachricht|bericht|meddel|melding|viesti"
    r"|wiadomo|zprava|сообщение|mail|wrote|schrieb|@|転送|原始|转发|轉寄|元のメッセージ"
)
_FORWARD_OPENER = re.compile(
    r"^(?:begin forwarded message|anfang der weitergeleiteten nachricht"
    r"|debut du message (?:reexpedie|transfere)|inicio del mensaje reenviado"
    r"|inizio (?:del )?messaggio inoltrato|begin doorgestuurd bericht"
    r"|inicio da mensagem (?:reencaminhada|encaminhada)|vidarebefordrat (?:brev|meddelande)"
    r"|videresendt (?:besked|meddelelse|melding)|valitetty viesti alkaa"
    r"|poczatek przekazanej wiadomosci|zacatek preposlane zpravy"
    r"|начало переадресованного сообщения|転送されたメッセージ|以下是转发的邮件)\s*[:：]?$"
)

#: Helpdesks and forums put a marker above the copy of their message; a reply ends there.
_REPLY_ABOVE = re.compile(
    r"(?:reply|respond|write|type your (?:reply|response)|answer) above this line"
    r"|oberhalb dieser (?:zeile|linie)|au-dessus de cette ligne|por encima de esta linea"
    r"|sopra questa riga|boven deze regel|acima desta linha|ovanfor denna rad|ovenfor denne linje"
)

_FIELDS: dict[str, tuple[str, ...]] = {
    "from": (
        "from", "von", "de", "da", "van", "fra", "från", "lähettäjä", "od", "от", "差出人",
        "发件人", "寄件者", "寄件人", "kimden", "feladó", "보낸 사람", "보낸사람", "afzender",
        "expéditeur", "absender",
    ),
    "sent": (
        "sent", "gesendet", "envoyé", "enviado", "enviado el", "enviada", "enviada em",
        "enviado em", "inviato", "verzonden", "verstuurd", "skickat", "sendt", "lähetetty",
        "wysłano", "odesláno", "отправлено", "送信日時", "发送时间", "發送時間", "寄件日期",
        "gönderildi", "gönderilme tarihi", "küldve", "보낸 날짜",
    ),
    "date": ("date", "datum", "fecha", "data", "dato", "дата", "日付", "日期", "tarih", "pvm"),
    "to": (
        "to", "an", "à", "a", "para", "aan", "till", "til", "vastaanottaja", "do", "komu",
        "кому", "宛先", "收件人", "收件者", "kime", "címzett", "받는 사람", "받는사람",
        "destinataire", "reply-to", "répondre à", "antwort an", "risposta", "beantwoorden - aan",
    ),
    "cc": ("cc", "kopie", "kopia", "kopi", "kopio", "dw", "копия", "抄送", "副本", "bilgi",
           "másolat", "참조"),
    "subject": (
        "subject", "betreff", "objet", "asunto", "oggetto", "onderwerp", "assunto", "ämne",
        "emne", "aihe", "temat", "předmět", "тема", "件名", "主题", "主旨", "konu", "tárgy",
        "제목", "sujet",
    ),
}  # fmt: skip
_FIELD_KIND = {fold(name): kind for kind, names in _FIELDS.items() for name in names}
_FIELD = re.compile(
    rf"^\**\s*({_literals(_FIELD_KIND)})\s*\**\s*[:：]",
)
#: A field name anywhere in a line, for Outlook's header block run into one line when its line
#: breaks were lost ("From: Sam Sent: Monday To: Anna Subject: Hello").
_FIELD_INSIDE = re.compile(rf"(?<!\S)\**({_literals(_FIELD_KIND)})\**\s*[:：]")
_SENDER_FIELDS = frozenset({"from", "sent", "date"})
_MESSAGE_FIELDS = frozenset({"to", "subject", "cc"})


@dataclass(frozen=True)
class Boundary:
    """Quoted history opens at a line: how many lines its own header takes, and its strength."""

    lines: int
    strong: bool


def is_quoted(line: str) -> bool:
    """A line quoted with ``>`` or ``|`` (at any depth)."""
    return _QUOTED.match(line) is not None


def boundary_at(lines: list[str], index: int) -> Boundary | None:
    """The boundary that opens at `lines[index]` (an unquoted line), or None."""
    stripped = lines[index].strip()
    if not stripped:
        return None
    folded = " ".join(fold(stripped).split())
    # Cheap first characters and substrings guard each pattern: most lines are plain text.
    digits = _DIGIT.search(folded) is not None
    if (
        (folded[0].isdigit() and (_DATE_NAME_ADDRESS.match(folded) or _ISO_DATE_NAME.match(folded)))
        or (folded.startswith("posted by ") and _POSTED_BY.match(folded))
        or (" via " in folded and _VIA_WROTE.match(folded))
    ):
        return Boundary(1, strong=True)
    attribution = _attribution_at(lines, index, folded.lstrip("-< ") or folded, digits)
    if attribution is not None:
        return attribution
    if _FORWARD_OPENER.match(folded):
        return Boundary(1 + _block_after(lines, index + 1), strong=True)
    if folded[0] in "-_=*":
        separator = _SEPARATOR.match(folded)
        if separator is not None and _SEPARATOR_WORDS.search(separator.group(1)):
            return Boundary(1 + _block_after(lines, index + 1), strong=True)
    if _FIELD.match(folded):
        block = header_block_at(lines, index)
        if block or _one_line_block(folded):
            return Boundary(max(block, 1), strong=True)
    if digits or "@" in folded:
        block = _labels_block_at(lines, index, folded)
        if block:
            return Boundary(block, strong=True)
    if len(folded) < 120 and _REPLY_ABOVE.search(folded):
        return Boundary(1, strong=True)
    if (
        "@" in folded or (digits and _TIME_OR_DATE.search(folded))
    ) and _ATTRIBUTION_THEN_TEXT.match(folded) is not None:
        return Boundary(1, strong=True)
    return None


def _attribution_at(lines: list[str], index: int, first: str, digits: bool) -> Boundary | None:
    candidate = first
    for count in range(1, MAX_ATTRIBUTION_LINES + 1):
        if count > 1:
            following = lines[index + count - 1] if index + count - 1 < len(lines) else ""
            # Only a line that looks like the start of an attribution is joined with the next.
            if not following.strip() or is_quoted(following) or len(candidate) > 300:
                return None
            if count == 2 and (
                first.endswith((".", "!", "?"))
                or not (digits or "@" in first or "<" in first or _OPENERS.match(first))
            ):
                return None
            joined = " ".join(fold(following.strip()).split())
            if _OPENERS.match(joined):
                return None  # the next line starts an attribution of its own
            candidate = f"{candidate} {joined}"
        if len(candidate) > MAX_ATTRIBUTION_CHARS:
            return None
        if candidate.endswith((":", "：")):
            strength = _attribution_strength(candidate)
            return None if strength is None else Boundary(count, strong=strength)
    return None


def _attribution_strength(candidate: str) -> bool | None:
    """None: not an attribution; False: a weak one ("Sam wrote:"); True: a strong one."""
    dated = is_dated(candidate)
    if _ENDS_WITH_ADDRESS.search(candidate) and _TIME_OR_DATE.search(candidate):
        return True  # Gmail's verbless forms: "2016-03-03 17:21 GMT+01:00 Sam <sam@x>:"
    if _MUTT.match(candidate):
        return True
    if _WROTE.search(candidate) or _QUOTING.match(candidate):
        return dated
    return None


def is_dated(folded: str) -> bool:
    """Whether a (folded) attribution names an address, a time or a date, as clients write them.

    A person's "In 2019 I wrote:" or "On your pricing page you wrote:" is no attribution;
    "On Tue, 17 Nov 2026, Sam wrote:" (a year and a day) is.
    """
    if "@" in folded or _TIME_OR_DATE.search(folded) is not None:
        return True
    year = _YEAR.search(folded)
    return (
        year is not None and _DAY.search(folded[: year.start()] + folded[year.end() :]) is not None
    )


def header_field(line: str) -> str | None:
    """The kind of header field a line starts with ("from", "sent", "to", ...), or None."""
    found = _FIELD.match(fold(line.strip()))
    if found is None:
        return None
    return _FIELD_KIND.get(" ".join(found.group(1).split()))


def header_block_at(lines: list[str], index: int, *, fields: int = 3) -> int:
    """How many lines the header block that starts at `lines[index]` takes; 0 when none.

    A block is `fields` or more distinct fields (two under a separator line, three alone: "Date:
    tomorrow / To: you" is a person's text), at least one naming the sender or the date (From,
    Sent, Date) and one the message (To, Cc, Subject), with at most `MAX_HEADER_GAP` wrapped
    or blank lines between two fields.
    """
    kinds: set[str] = set()
    last = -1
    gap = 0
    for position in range(index, min(len(lines), index + 24)):
        kind = header_field(lines[position]) if not is_quoted(lines[position]) else None
        if kind is not None:
            kinds.add(kind)
            last, gap = position, 0
        elif position == index:
            return 0
        else:
            gap += 1
            if gap > MAX_HEADER_GAP:
                break
    if len(kinds) >= fields and kinds & _SENDER_FIELDS and kinds & _MESSAGE_FIELDS:
        return last - index + 1
    return 0


def _labels_block_at(lines: list[str], index: int, folded: str) -> int:
    """Lotus Notes' table of a quoted message, as text: the sender and the date, then each
    field name alone on its line above its value ("To" / "anna@x" / "cc" / "Subject" / ...)."""
    if not ("@" in folded or _TIME_OR_DATE.search(folded)):
        return 0
    kinds: set[str] = set()
    last = 0
    for position in range(index, min(len(lines), index + 12)):
        kind = _FIELD_KIND.get(" ".join(fold(lines[position].strip()).split()))
        if kind is not None:
            if not kinds and position - index > 3:
                return 0  # the labels start right under the sender and the date
            kinds.add(kind)
            last = position
    if {"to", "subject"} <= kinds:
        return last - index + 2  # the subject's value is on the next line
    return 0


def _one_line_block(folded: str) -> bool:
    kind = header_field(folded)
    if kind is None:
        return False
    kinds = {kind}
    kinds.update(_FIELD_KIND[" ".join(m.group(1).split())] for m in _FIELD_INSIDE.finditer(folded))
    return len(kinds) >= 3 and bool(kinds & _SENDER_FIELDS) and bool(kinds & _MESSAGE_FIELDS)


def _block_after(lines: list[str], index: int) -> int:
    """Lines taken by blank lines and a header block right under a separator (0 if none)."""
    position = index
    while position < len(lines) and position - index < 2 and not lines[position].strip():
        position += 1
    block = header_block_at(lines, position, fields=2) if position < len(lines) else 0
    return position - index + block if block else 0
