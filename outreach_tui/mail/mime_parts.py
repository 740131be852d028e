"""Reading a parsed message defensively: bounded part walks, header and body text that never raise.

Messages are parsed with the `compat32` policy: it keeps whatever a broken message contains
instead of raising when a header is read, and it is what flufl.bounce expects. Everything here
decodes with replacement characters: an unknown charset or bad base64 costs legibility, never
the message.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import functools
import quopri
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.header import decode_header
from email.message import Message
from email.utils import parseaddr
from typing import NamedTuple

#: Deeper than this the walk stops (real mail nests 3-5 levels; a bounce of a forward of a
#: digest perhaps 8).
MAX_DEPTH = 24
#: At most this many parts are looked at.
MAX_PARTS = 256
#: Bytes of one text part that are decoded at most.
MAX_TEXT_BYTES = 256 * 1024

_FOLD = re.compile(r"\r?\n(?=[ \t])")


@dataclass
class Problems:
    """What could not be read, collected while reading; joined into one `problem` string."""

    items: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        if text not in self.items and len(self.items) < 8:
            self.items.append(text)

    def summary(self) -> str | None:
        return "; ".join(self.items) if self.items else None


def walk(msg: Message, problems: Problems) -> Iterator[tuple[int, Message]]:
    """Every part (the message itself first) with its depth, depth-first, within the limits.

    Iterative, so deep nesting costs no recursion. Header blocks of message/delivery-status are
    not parts and are not descended into.
    """
    stack: list[tuple[int, Message]] = [(0, msg)]
    seen = 0
    while stack:
        depth, part = stack.pop()
        seen += 1
        if seen > MAX_PARTS:
            problems.add(f"more than {MAX_PARTS} MIME parts; the rest were not read")
            return
        yield depth, part
        payload = part.get_payload()
        # Only a part with sub-parts needs its type (reading it costs more than the payload).
        if not isinstance(payload, list) or safe_content_type(part) == "message/delivery-status":
            continue
        if depth + 1 > MAX_DEPTH:
            problems.add(f"MIME nesting deeper than {MAX_DEPTH} levels; inner parts not read")
            continue
        children = [child for child in payload if isinstance(child, Message)]
        stack.extend((depth + 1, child) for child in reversed(children))


#: A Content-Type header that opens a level (multipart/*, or message/* other than
#: delivery-status, whose body is parsed as a message), folded lines included; or a
#: boundary delimiter line.
_NESTING = re.compile(
    rb"^(content-type:[ \t]*(?:\r?\n[ \t]+)*(?:multipart/|message/(?!delivery-status))"
    rb"[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)"
    rb"|^--([^\r\n]*)",
    re.IGNORECASE | re.MULTILINE,
)
_BOUNDARY = re.compile(rb'boundary[ \t]*=[ \t]*(?:"([^"\r\n]*)"|([^\s;"]+))', re.IGNORECASE)


def cut_deep_nesting(raw: bytes) -> tuple[bytes, str | None]:
    """`raw` up to the part that would open nesting level `MAX_DEPTH` + 1, and a problem
    when it was cut.

    The parser checks every line against the boundary of every open multipart, so each
    level makes every later line dearer (about a millisecond a level, 30 s for 2 MB of
    nesting), and it recurses into each message/* part (a thousand levels exhaust the
    recursion limit). Parts that deep are never walked (`walk`), so they are not parsed
    either: one linear scan of the header lines and delimiters tracks the open levels and
    cuts the message where it goes too deep.
    """
    open_boundaries: list[bytes | None] = []
    for match in _NESTING.finditer(raw):
        header, delimiter = match.group(1), match.group(2)
        if header is not None:
            if len(open_boundaries) >= MAX_DEPTH:
                problem = f"MIME nesting deeper than {MAX_DEPTH} levels; inner parts not read"
                return raw[: match.start()], problem
            found = _BOUNDARY.search(header)
            open_boundaries.append(found.group(1) or found.group(2) if found else None)
            continue
        line = delimiter.rstrip()
        # A delimiter of an outer multipart ends every part opened inside it; its closing
        # delimiter ends the multipart itself.
        if line.endswith(b"--") and line[:-2] in open_boundaries:
            del open_boundaries[_last_index(open_boundaries, line[:-2]) :]
        elif line in open_boundaries:
            del open_boundaries[_last_index(open_boundaries, line) + 1 :]
    return raw, None


def _last_index(items: list[bytes | None], item: bytes) -> int:
    return len(items) - 1 - items[::-1].index(item)


class Part(NamedTuple):
    depth: int
    message: Message
    content_type: str


def parts_of(msg: Message, problems: Problems) -> list[Part]:
    """`walk` once, with each part's content type: for readers that go over the parts often."""
    return [Part(depth, part, safe_content_type(part)) for depth, part in walk(msg, problems)]


def safe_content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "text/plain"


def safe_param(part: Message, name: str) -> str | None:
    try:
        value = part.get_param(name)
    except Exception:
        return None
    if isinstance(value, tuple):  # RFC 2231 (charset, language, value)
        return str(value[2])
    return value if isinstance(value, str) else None


def is_attachment(part: Message) -> bool:
    disposition = str(part.get("Content-Disposition", "")).split(";", 1)[0].strip().lower()
    return disposition == "attachment"


def raw_header(msg: Message, name: str) -> str | None:
    """A header's value as written (unfolded), without decoding encoded words; None if absent."""
    # raw_items, not get(): compat32 turns a header with raw 8-bit bytes into a Header object
    # whose str() has lost them.
    wanted = name.lower()
    value = None
    try:
        for key, item in msg.raw_items():
            if key.lower() == wanted:
                value = item
                break
    except Exception:
        return None
    if value is None:
        return None
    text = _unsurrogate(str(value))
    if "\n" in text or "\r" in text:
        text = _FOLD.sub("", text).replace("\r", " ").replace("\n", " ")
    return text.strip()


@functools.lru_cache(maxsize=16)
def parse_address(value: str) -> tuple[str, str]:
    """`email.utils.parseaddr`, remembered: a message's From is read by more than one reader."""
    return parseaddr(value)


def header_text(msg: Message, name: str) -> str | None:
    """A header's value for display: encoded words decoded, bad bytes replaced; None if absent."""
    value = raw_header(msg, name)
    if value is None:
        return None
    return decode_words(value)


def decode_words(value: str) -> str:
    """RFC 2047 encoded words decoded; an unknown charset decodes as UTF-8 with replacement."""
    try:
        chunks = decode_header(value)
    except Exception:
        return value
    out: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            out.append(chunk)
        elif charset is None:
            # decode_header hands back the plain stretches between encoded words this way.
            out.append(chunk.decode("raw-unicode-escape", errors="replace"))
        else:
            out.append(decode_bytes(chunk, charset)[0])
    return "".join(out)


def decode_bytes(data: bytes, charset: str | None) -> tuple[str, str | None]:
    """Text of `data` in `charset` (UTF-8 if none), and a problem when the charset is unknown."""
    name = (charset or "utf-8").strip().strip('"').lower() or "utf-8"
    if name in {"unknown-8bit", "x-unknown", "us-ascii", "ascii"}:
        name = "utf-8"
    try:
        codecs.lookup(name)
    except LookupError:
        return data.decode("utf-8", errors="replace"), f"unknown charset {name[:40]!r}"
    try:
        return data.decode(name, errors="replace"), None
    except Exception:  # a codec that refuses errors="replace" or fails on its own
        return data.decode("utf-8", errors="replace"), f"charset {name[:40]!r} failed to decode"


def part_bytes(part: Message, limit: int = MAX_TEXT_BYTES) -> bytes:
    """The decoded body of a non-multipart part, at most about `limit` bytes.

    Decodes the transfer encoding by hand on a slice of the encoded text, so a 10 MB part costs
    no more than its first `limit` bytes.
    """
    payload = part.get_payload()
    if isinstance(payload, list):
        return b""
    if isinstance(payload, bytes):
        return payload[:limit]
    encoded = str(payload)
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if encoding == "base64":
        piece = "".join(encoded[: limit * 4 // 3 + 1024].split())
        piece = piece[: len(piece) - len(piece) % 4]
        try:
            return base64.b64decode(piece)[:limit]
        except (binascii.Error, ValueError):
            return _salvage_base64(piece)[:limit]
    raw = encoded[: limit * 3].encode("utf-8", errors="surrogateescape")
    if encoding == "quoted-printable":
        return quopri.decodestring(raw)[:limit]
    return raw[:limit]


def _salvage_base64(piece: str) -> bytes:
    cleaned = "".join(c for c in piece if c.isalnum() or c in "+/")
    cleaned = cleaned[: len(cleaned) - len(cleaned) % 4]
    try:
        return base64.b64decode(cleaned)
    except (binascii.Error, ValueError):
        return b""


def part_text(part: Message, problems: Problems, limit: int = MAX_TEXT_BYTES) -> str:
    """The text of a text/* part in its declared charset, with replacement for what is not."""
    text, problem = decode_bytes(part_bytes(part, limit), safe_param(part, "charset"))
    if problem:
        problems.add(problem)
    return text


def _unsurrogate(text: str) -> str:
    # compat32 keeps raw 8-bit header bytes as surrogate escapes; they are nearly always UTF-8.
    if text.isascii() or not any("\udc80" <= c <= "\udcff" for c in text):
        return text
    return text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")
