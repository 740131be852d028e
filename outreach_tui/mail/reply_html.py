"""Readable text of an HTML mail body, with or without a mark where quoted history was.

Clients that send HTML only put the quoted history in elements of their own: Gmail's
``gmail_quote`` (attribution and ``<blockquote>``), Thunderbird's ``moz-cite-prefix`` and
``<blockquote type="cite">``, Yahoo's ``yahoo_quoted``, Apple Mail's ``<blockquote>``. Those are
dropped. For a reply, each dropped quote leaves one ``>`` line behind, so that the text reader
(`reply_text.new_text`) still sees where the quote was: an attribution line just above it is
cut with it, and words below it (a bottom-posted or inline reply) are kept.

Outlook is different: its history is not inside an element but follows the header block
(``divRplyFwdMsg`` on the web, a bordered ``<div>`` on the desktop) as sibling elements. For a
reply that block stays in the text, where the reader recognises the header block and cuts there.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

#: HTML read at most.
MAX_HTML_CHARS = 100_000
#: Open elements tracked at most: browsers survive thousands of unclosed tags, and so must we,
#: without growing forever.
MAX_DEPTH = 500

#: Class or id fragments of the elements that hold quoted history.
_QUOTE_MARKERS = ("gmail_quote", "moz-cite-prefix", "yahoo_quoted")
#: The same, read for a reply only (reports are read as they always were).
_REPLY_QUOTE_MARKERS = (*_QUOTE_MARKERS, "protonmail_quote")
#: Class or id fragments of signature elements (the "-- " block of a plain-text reply).
_SIGNATURE_MARKERS = ("gmail_signature", "moz-signature")
#: Outlook's reply header: dropped when a body is read for a report, kept for a reply.
_OUTLOOK_HEADER = "divrplyfwdmsg"


class _TextOfHtml(HTMLParser):
    """Visible text of an HTML body, without quoted history, styles and scripts."""

    _SKIPPED = frozenset({"style", "script", "head", "title"})
    _BREAKS = frozenset({"br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "table"})
    _VOID = frozenset({"br", "img", "hr", "meta", "link", "input", "wbr", "col", "area", "base"})

    def __init__(self, *, for_reply: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._for_reply = for_reply
        self._stack: list[tuple[str, bool]] = []
        """One entry per open element: its tag and whether it hides its content."""
        self._hidden_depth = 0
        """Open elements that hide their content (a count, so that nesting is cheap)."""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BREAKS:
            self.chunks.append("\n")
        if tag in self._VOID:
            return
        classes = " ".join(v or "" for k, v in attrs if k in {"class", "id"}).lower()
        markers = _REPLY_QUOTE_MARKERS if self._for_reply else _QUOTE_MARKERS
        quote = tag == "blockquote" or any(marker in classes for marker in markers)
        if self._for_reply:
            extra = any(marker in classes for marker in _SIGNATURE_MARKERS)
        else:
            extra = _OUTLOOK_HEADER in classes
        hides = quote or extra or tag in self._SKIPPED
        if quote and self._for_reply and not self._hidden_depth:
            self.chunks.append("\n>\n")
        if len(self._stack) < MAX_DEPTH:
            self._stack.append((tag, hides))
            self._hidden_depth += hides

    def handle_endtag(self, tag: str) -> None:
        if tag in self._VOID:
            return
        # Close up to the matching element: unclosed <p> and <li> are everyday HTML mail.
        for depth in range(len(self._stack) - 1, -1, -1):
            if self._stack[depth][0] == tag:
                self._hidden_depth -= sum(hides for _, hides in self._stack[depth:])
                del self._stack[depth:]
                break
        if tag in self._BREAKS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth:
            self.chunks.append(data)


def html_to_text(markup: str, *, for_reply: bool = False) -> str:
    """Readable text of an HTML mail body; never raises on broken markup.

    `for_reply`: leave a ``>`` line where quoted history was dropped and keep Outlook's reply
    header block (see the module's docstring).
    """
    parser = _TextOfHtml(for_reply=for_reply)
    try:
        parser.feed(markup[:MAX_HTML_CHARS])
        parser.close()
    except Exception:  # html.parser is lenient, but an AssertionError has been seen on junk
        return html.unescape(re.sub(r"<[^>]*>", " ", markup[:MAX_HTML_CHARS]))
    lines = (" ".join(line.split()) for line in "".join(parser.chunks).split("\n"))
    return "\n".join(line for line in lines if line)
