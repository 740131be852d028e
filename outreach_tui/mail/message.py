"""Build outgoing messages the way a person's mail client writes them. Every header value
built from data is checked for CR/LF/NUL before anything is written."""

from __future__ import annotations

import email.charset
import email.quoprimime
import email.utils
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.message import Message
from email.policy import compat32
from typing import Any

from outreach_tui.core.headers import check_header_value
from outreach_tui.core.region import domain_of
from outreach_tui.core.unsubscribe_token import fill_url, sign

_UTF8 = email.charset.Charset("utf-8")
_UTF8.header_encoding = email.charset.QP
_UTF8.body_encoding = email.charset.QP


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    sender_email: str
    sender_name: str
    recipient_email: str
    subject: str
    body: str
    message_id: str
    date: datetime
    in_reply_to: str | None = None
    references: str | None = None
    unsubscribe_mailto: str | None = None
    unsubscribe_url: str | None = None
    postal_address: str | None = None
    recipient_name: str = ""
    """The lead's name when known (`To: Name <address>`)."""


def new_message_id(sender_email: str) -> str:
    """A unique Message-ID in the sender's domain (`<uuid@domain>`)."""
    domain = domain_of(sender_email) or "localhost"
    return f"<{uuid.uuid4().hex}@{domain}>"


def check_outgoing(msg: OutgoingMessage) -> None:
    """Raise `HeaderInjection` if any header-bound field carries CR/LF/NUL."""
    for field, value in (
        ("From address", msg.sender_email),
        ("From name", msg.sender_name),
        ("To address", msg.recipient_email),
        ("To name", msg.recipient_name),
        ("Subject", msg.subject),
        ("Message-ID", msg.message_id),
        ("In-Reply-To", msg.in_reply_to or ""),
        ("References", msg.references or ""),
        ("List-Unsubscribe mailto", msg.unsubscribe_mailto or ""),
        ("List-Unsubscribe URL", msg.unsubscribe_url or ""),
    ):
        check_header_value(field, value)


def render_body(msg: OutgoingMessage) -> str:
    """The text body with the compliance footer (postal address, how to opt out)."""
    parts = [msg.body.rstrip("\n")]
    footer: list[str] = []
    if msg.postal_address:
        footer.append(msg.postal_address)
    if msg.unsubscribe_url:
        footer.append(f"Unsubscribe: {msg.unsubscribe_url}")
    elif msg.unsubscribe_mailto:
        footer.append(f'To opt out, reply "unsubscribe" or write to {msg.unsubscribe_mailto}.')
    if footer:
        parts.append("-- \n" + "\n".join(footer))
    return "\n\n".join(parts) + "\n"


def build_message(msg: OutgoingMessage) -> bytes:
    """The RFC 5322 message as bytes (LF line ends), after refusing any header injection.

    Written the way common mail clients write a plain-text message, so nothing in its
    shape sets it apart from a person's mail: From, To (with the recipient's name when
    known), Subject, Date (the offset of the time it is given: the operator's zone),
    Message-ID, the thread and opt-out headers, then the MIME headers last. A body of
    printable ASCII with lines of at most 998 octets goes as it is (7bit); anything else
    as quoted-printable over its UTF-8 bytes.

    Assembled directly rather than through `email.mime`'s generator and header folding,
    which cost more than the rest of a send (bench/send_pipeline.py): header values that
    are plain printable ASCII and fit on one 78-character line are written as they are
    (folding would not change them); anything else (non-ASCII text, long lines) goes
    through compat32 folding and RFC 2047 encoding. `_build_message_mime` builds the same
    bytes with the `email` package and is the reference the tests compare against.
    """
    check_outgoing(msg)
    out: list[str] = []
    for name, value, charset in _headers(msg):
        _header(out, name, value, charset)
    body = render_body(msg)
    seven_bit = _is_7bit(body)
    out.append(_MIME_7BIT if seven_bit else _MIME_QP)
    out.append("\n")
    if seven_bit:
        out.append(body)
    else:
        # QP over the UTF-8 bytes (seen as latin-1 code points), LF line ends: what
        # MIMEText + BytesGenerator write with a utf-8/QP charset.
        out.append(email.quoprimime.body_encode(body.encode("utf-8").decode("latin-1")))
    return "".join(out).encode("ascii")


_MIME_7BIT = (
    "MIME-Version: 1.0\n"
    'Content-Type: text/plain; charset="UTF-8"\n'
    "Content-Transfer-Encoding: 7bit\n"
)
_MIME_QP = (
    "MIME-Version: 1.0\n"
    'Content-Type: text/plain; charset="UTF-8"\n'
    "Content-Transfer-Encoding: quoted-printable\n"
)
#: RFC 5322 §2.1.1: a line is at most 998 characters without its CRLF.
_MAX_BODY_LINE = 998
#: Printable ASCII words separated by single spaces: compat32 folding leaves such a value
#: unchanged when the whole line fits in 78 characters.
_PLAIN_VALUE = re.compile(r"[!-~]+(?: [!-~]+)*")
_MAX_LINE = 78
#: Printable ASCII, tab and LF: what a 7bit body may hold (RFC 2045 §2.7; the SMTP layer
#: writes each LF as CRLF).
_SEVEN_BIT = re.compile(r"[\t\n -~]*")


def _is_7bit(body: str) -> bool:
    return bool(_SEVEN_BIT.fullmatch(body)) and all(
        len(line) <= _MAX_BODY_LINE for line in body.split("\n")
    )


def _headers(msg: OutgoingMessage) -> list[tuple[str, str, str | None]]:
    """(name, value, charset for RFC 2047 or None) in the order they are written."""
    headers: list[tuple[str, str, str | None]] = [
        ("From", _address(msg.sender_name, msg.sender_email), None),
        ("To", _address(msg.recipient_name, msg.recipient_email), None),
        ("Subject", msg.subject, _text_charset(msg.subject)),
        ("Date", email.utils.format_datetime(msg.date), None),
        ("Message-ID", msg.message_id, None),
    ]
    if msg.in_reply_to:
        headers.append(("In-Reply-To", msg.in_reply_to, None))
    if msg.references:
        headers.append(("References", msg.references, None))
    unsubscribe: list[str] = []
    if msg.unsubscribe_url:
        # The URL first: RFC 8058 one-click takes the first HTTPS URI.
        unsubscribe.append(f"<{msg.unsubscribe_url}>")
    if msg.unsubscribe_mailto:
        unsubscribe.append(f"<mailto:{msg.unsubscribe_mailto}?subject=unsubscribe>")
    if unsubscribe:
        headers.append(("List-Unsubscribe", ", ".join(unsubscribe), None))
    if msg.unsubscribe_url:
        headers.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click", None))
    return headers


def _text_charset(text: str) -> str:
    """us-ascii for plain ASCII text; utf-8 (so RFC 2047 encoding) for anything else, and for
    ASCII text with "=?" in it: written raw, a mail client would decode what looks like an
    encoded word (a subject from a template or lead data) and show something else."""
    return "us-ascii" if text.isascii() and "=?" not in text else "utf-8"


def _address(name: str, address: str) -> str:
    """`Name <address>` (RFC 2047 for a non-ASCII name), or the bare address without one."""
    if name.isascii() and "=?" in name:
        name = Header(name, "utf-8").encode()  # shown as written, not decoded
    return email.utils.formataddr((name, address), charset="utf-8")


def _header(out: list[str], name: str, value: str, charset: str | None = None) -> None:
    if (
        charset != "utf-8"
        and len(name) + 2 + len(value) <= _MAX_LINE
        and _PLAIN_VALUE.fullmatch(value)
    ):
        out.append(f"{name}: {value}\n")
        return
    folded: Any = Header(value, charset, header_name=name) if charset else value
    out.append(compat32.fold_binary(name, folded).decode("ascii"))


def _build_message_mime(msg: OutgoingMessage) -> bytes:
    """The reference construction with the `email` package (what `build_message` writes):
    a compat32 `Message` given its headers in the same order and its body encoded by the
    package's own codecs."""
    check_outgoing(msg)
    out = Message()
    for name, value, charset in _headers(msg):
        out[name] = Header(value, charset, header_name=name) if charset else value  # type: ignore[assignment]
    body = render_body(msg)
    out["MIME-Version"] = "1.0"
    out["Content-Type"] = 'text/plain; charset="UTF-8"'
    if _is_7bit(body):
        out["Content-Transfer-Encoding"] = "7bit"
        out.set_payload(body)
    else:
        out["Content-Transfer-Encoding"] = "quoted-printable"
        out.set_payload(_UTF8.body_encode(body))
    return out.as_bytes()


def unsubscribe_url(
    template: str | None, *, recipient: str, message_id: str, key: bytes | None = None
) -> str | None:
    """The configured one-click URL for this message: {email} and {message_id} URL-encoded,
    {token} the signed per-recipient token (core/unsubscribe_token.py; with `key` None,
    as in a header-injection check, a token of the same alphabet stands in)."""
    if not template:
        return None
    token = None
    if "{token}" in template:
        token = sign(key, recipient, message_id) if key is not None else "unsigned.token"
    return fill_url(template, email=recipient, message_id=message_id, token=token)
