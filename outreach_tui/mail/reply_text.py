"""The new text of a reply: quoted history, signature and disclaimers removed.

The splitting into replies is mail-parser-reply's (headers like "On ... wrote:", "Am ... schrieb",
Outlook's "From:/Sent:" blocks, in many languages). Two gaps are closed here first: lines quoted
with ">" are dropped (the library keeps a quoted block that has no header above it), and a few
header lines it misses (Spanish "El ... escribió:" needs two spaces in 1.36; separator lines in
German, French and Spanish) cut the text. HTML-only replies are turned into text without their
<blockquote> and Gmail/Outlook quote containers.
"""

from __future__ import annotations

import html
import logging
import re
from html.parser import HTMLParser

# mail-parser-reply ships no type information.
from mailparser_reply.parser import EmailMessage  # type: ignore[import-untyped]

#: The reply text handed to the splitter at most (its regexes are linear, but there is no
#: reason to scan a pasted novel).
MAX_REPLY_CHARS = 20_000
#: A sign-off line ("Best regards,", "Mit freundlichen Grüßen") is short; a longer line that
#: merely starts with "Thanks," is the reply itself, not a signature.
MAX_SIGNOFF_LINE = 32

_LANGUAGES = ["en", "de", "fr", "es"]

# The library logs its compiled regexes at DEBUG for every message: kilobytes of noise each.
logging.getLogger("mailparser_reply").setLevel(logging.INFO)


def _splitter_regexes() -> dict[str, re.Pattern[str]]:
    # The library builds its three regexes from the language tables for every message (a good
    # part of its cost); they depend only on the settings, so they are built once and handed to
    # each message through the dataclass fields that hold them.
    template = EmailMessage(text="", languages=list(_LANGUAGES), keep_hyphen_lists=True)
    return {
        "_header_regex": template.HEADER_REGEX,
        "_disclaimers_regex": template.DISCLAIMERS_REGEX,
        "_signature_regex": template.SIGNATURE_REGEX,
    }


_SPLITTER_REGEXES = _splitter_regexes()

_HISTORY_START = re.compile(
    r"^\s*(?:"
    r"el\s.{3,200}\sescribi[oó]\s?:"
    r"|on\s.{3,200}\swrote\s?:"
    r"|am\s.{3,200}\sschrieb\s.{0,200}:"
    r"|le\s.{3,200}\sa\s[ée]crit\s?:"
    r"|-{2,}\s*(?:original message|urspr[üu]ngliche nachricht|message d'origine"
    r"|mensaje original|forwarded message|weitergeleitete nachricht|message transf[ée]r[ée]"
    r"|mensaje reenviado)\s*-{2,}"
    r")\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_QUOTED_LINE = re.compile(r"^[ \t]*>.*$\n?", re.MULTILINE)
_SIGNOFF_LINE = re.compile(
    r"^[ \t]*(?:--[ \t]*"
    r"|(?:best|kind|warm|many)? ?regards|best|thanks|thank you|cheers|sincerely"
    r"|mit (?:freundlichen|besten|herzlichen) gr(?:ü|ue)(?:ß|ss)en|(?:viele|beste|liebe) gr(?:ü"
    r"|ue)(?:ß|ss)e"
    r"|cordialement|bien (?:à|a) vous|bien cordialement|salutations(?: distingu[ée]es)?"
    r"|(?:un )?saludos?(?: cordiales)?|atentamente|un abrazo"
    r")[ \t]*[,.!]?[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)


def new_text(body: str) -> str:
    """The part of `body` its sender wrote now (empty when there is none)."""
    text = body[:MAX_REPLY_CHARS].replace("\r\n", "\n").replace("\r", "\n")
    cut = _HISTORY_START.search(text)
    if cut is not None:
        text = text[: cut.start()]
    text = _QUOTED_LINE.sub("", text)
    if not text.strip():
        return ""
    message = EmailMessage(
        text=text, languages=list(_LANGUAGES), keep_hyphen_lists=True, **_SPLITTER_REGEXES
    ).read()
    if not message.replies:
        return text.strip()
    reply = message.replies[0]
    first_signature_line = (reply.signatures or "").strip().split("\n", 1)[0]
    if len(first_signature_line) > MAX_SIGNOFF_LINE:
        # Not a sign-off ("Thanks, that sounds good"): keep the text up to a real sign-off line.
        kept = reply.content.replace(reply.headers or "", "")
        for disclaimer in reply.disclaimers or []:
            kept = kept.replace(disclaimer, "")
        signoff = _SIGNOFF_LINE.search(kept, 1)
        return str(kept[: signoff.start()] if signoff else kept).strip()
    return str(reply.body).strip()


class _TextOfHtml(HTMLParser):
    """Visible text of an HTML body, without quoted history, styles and scripts."""

    _SKIPPED = frozenset({"style", "script", "head", "title", "blockquote"})
    _BREAKS = frozenset({"br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "table"})
    _VOID = frozenset({"br", "img", "hr", "meta", "link", "input", "wbr", "col", "area", "base"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._stack: list[tuple[str, bool]] = []
        """One entry per open element: its tag and whether it hides its content."""

    def _hidden(self) -> bool:
        return any(hides for _, hides in self._stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BREAKS:
            self.chunks.append("\n")
        if tag in self._VOID:
            return
        classes = " ".join(v or "" for k, v in attrs if k in {"class", "id"}).lower()
        hides = tag in self._SKIPPED or any(
            marker in classes
            for marker in ("gmail_quote", "divrplyfwdmsg", "moz-cite-prefix", "yahoo_quoted")
        )
        # Browsers survive thousands of unclosed tags; so must we, without growing forever.
        if len(self._stack) < 500:
            self._stack.append((tag, hides))

    def handle_endtag(self, tag: str) -> None:
        if tag in self._VOID:
            return
        # Close up to the matching element: unclosed <p> and <li> are everyday HTML mail.
        for depth in range(len(self._stack) - 1, -1, -1):
            if self._stack[depth][0] == tag:
                del self._stack[depth:]
                break
        if tag in self._BREAKS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden():
            self.chunks.append(data)


def html_to_text(markup: str) -> str:
    """Readable text of an HTML mail body; never raises on broken markup."""
    parser = _TextOfHtml()
    try:
        parser.feed(markup[: MAX_REPLY_CHARS * 5])
        parser.close()
    except Exception:  # html.parser is lenient, but an AssertionError has been seen on junk
        return html.unescape(re.sub(r"<[^>]*>", " ", markup[: MAX_REPLY_CHARS * 5]))
    lines = (" ".join(line.split()) for line in "".join(parser.chunks).split("\n"))
    return "\n".join(line for line in lines if line)
