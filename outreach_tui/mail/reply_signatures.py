# ruff: noqa: RUF001 (the mobile footers of many languages: Cyrillic letters)
"""Where a reply's signature starts: the "-- " delimiter and the footers mail apps append.

Only lines that no person writes as part of a reply end it here: the RFC 3676 signature
delimiter ("-- ", and "--" as clients that trim trailing spaces send it) and the one-line
footers of mobile and web mail apps ("Sent from my iPhone", "Von meinem iPhone gesendet",
"Envoyé de mon iPhone", "iPhoneから送信", "发自我的iPhone", "Get Outlook for iOS", "Sent with
Proton Mail secure email.", ...). A sign-off ("Best regards, Anna") is part of the new text; what
it means for intent is decided in `outreach_tui.core.reply_tail`.
"""

from __future__ import annotations

import re

from outreach_tui.core.ooo_dates import fold

#: A footer is one short line.
MAX_FOOTER_CHARS = 100

_DELIMITER = re.compile(r"^[ \t]*--[ \t]*$")
_DEVICES = (
    r"(?:iphone|ipad|ipod|android|mobile|phone|smartphone|handy|galaxy|samsung|blackberry|outlook"
    r"|mail|yahoo|proton|gmail|tablet|device|huawei|xiaomi|pixel|windows|mac|nokia|spark"
    r"|airmail|bluemail|tutanota|tuta|zoho|gmx|web\.de|t-online|aol|telefon|movil|celular"
    r"|telephone|portable|telefono|cellulare|telefoon|mobiel|puhelin|телефон|айфон|手机|手機|mobil"
    r"|cell|htc|alcatel|motorola|oneplus|sony|xperia|lg|k-9|mailbox|airmail|fairphone"
    r"|携帯|모바일)"
)
_SENT = (
    r"(?:sent|envoye|enviado|enviada|inviato|verzonden|verstuurd|gesendet|skickat|sendt|sendte"
    r"|lahetetty|wysłane|wyslane|wysłano|odeslano|отправлено|gonderildi)"
)
_PREPOSITIONS = (
    r"(?:from|with|via|using|by|de|depuis|desde|da|dal|dall'|do|von|vom|vanaf|met|fran|fra"
    r"|med|z|ze|с|со)"
)
_MY = r"(?:my|mon|ma|mi|meu|mio|il mio|mijn|min|mitt|mojego|mojej|meho|моего|моего|minun)"
_FOOTER = re.compile(
    # "Sent from my Verizon Wireless 4G LTE DROID": a few words, no sentence
    rf"^{_SENT}\s+{_PREPOSITIONS}\s+{_MY}\s+(?:[^\s,;:!?]+\s*){{1,8}}[.!]?$"
    # "Sent with Proton Mail secure email.", "Inviato da iPhone", "Sent from Yahoo Mail on ..."
    rf"|^{_SENT}\s+{_PREPOSITIONS}\s+(?:[^\s,;:!?]+\s+){{0,2}}{_DEVICES}"
    # "From my iPhone 6", "Anna from mobile"
    rf"|^from {_MY}\s+(?:[^\s,;:!?]+\s+){{0,2}}{_DEVICES}|^\S+ from (?:mobile|my phone)$"
    # "Diese Nachricht wurde von meinem Android-Mobiltelefon mit K-9 Mail gesendet."
    r"|^diese nachricht wurde (?:von|mit) .{1,80} (?:gesendet|verschickt)"
    # "Von meinem iPhone gesendet", "iPhoneから送信"
    rf"|^(?:von|vom) (?:meinem|meiner|mein) .{{0,25}}{_DEVICES}.{{0,15}}(?:gesendet|verschickt)"
    rf"|{_DEVICES}.{{0,10}}から送信$"
    # "Lähetetty iPhonesta", "发自我的iPhone", "从我的iPhone发送"
    rf"|^(?:lahetetty|发自|發自|寄自|从|從)\s*.{{0,20}}{_DEVICES}"
    # "Get Outlook for iOS", "Télécharger Outlook pour Android", "Outlook für iOS herunterladen"
    r"|^(?:.{0,20}\s)?outlook\s+(?:for|fur|pour|para|per|voor|til|for|pa)\s+(?:ios|android)"
)


def is_signature_start(line: str) -> bool:
    """Whether the (unquoted) line starts a signature or is a mail app's footer."""
    if _DELIMITER.match(line):
        return True
    stripped = line.strip()
    if not stripped or len(stripped) > MAX_FOOTER_CHARS:
        return False
    # "(Sent from mobile device)", "<<sent by galaxy>>"
    return _FOOTER.search(fold(stripped).strip("()<>[] ")) is not None
