"""Build outgoing messages. Every header value built from data is checked for CR/LF/NUL."""

from __future__ import annotations

import email.charset
import email.quoprimime
import email.utils
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.mime.text import MIMEText
from email.policy import compat32
from typing import Any
from urllib.parse import quote

from outreach_tui.core.headers import check_header_value
from outreach_tui.core.region import domain_of

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

    The output is byte-for-byte what the compat32 `email.mime.text.MIMEText` serialisation
    gives (see `_build_message_mime`, kept as the reference and for the unusual cases), but
    assembled directly: the `email` package's generator and header folding cost more than the
    rest of a send (bench/send_pipeline.py). Header values that are plain printable ASCII and
    fit on one 78-character line are written as they are (folding would not change them);
    anything else, such as non-ASCII text or long lines, goes through compat32 folding and
    RFC 2047 encoding exactly as before. The body is quoted-printable (7-bit safe).
    """
    check_outgoing(msg)
    out = [_MIME_PREAMBLE]
    _header(out, "From", _from(msg))
    _header(out, "To", msg.recipient_email)
    _header(out, "Subject", msg.subject, _text_charset(msg.subject))
    _header(out, "Date", email.utils.format_datetime(msg.date))
    _header(out, "Message-ID", msg.message_id)
    if msg.in_reply_to:
        _header(out, "In-Reply-To", msg.in_reply_to)
    if msg.references:
        _header(out, "References", msg.references)
    unsubscribe: list[str] = []
    if msg.unsubscribe_mailto:
        unsubscribe.append(f"<mailto:{msg.unsubscribe_mailto}?subject=unsubscribe>")
    if msg.unsubscribe_url:
        unsubscribe.append(f"<{msg.unsubscribe_url}>")
    if unsubscribe:
        _header(out, "List-Unsubscribe", ", ".join(unsubscribe))
    if msg.unsubscribe_url:
        out.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click\n")
    out.append("\n")
    # What MIMEText + BytesGenerator do with a utf-8/QP charset: QP over the UTF-8 bytes
    # (seen as latin-1 code points), LF line ends.
    out.append(email.quoprimime.body_encode(render_body(msg).encode("utf-8").decode("latin-1")))
    return "".join(out).encode("ascii")


_MIME_PREAMBLE = (
    'Content-Type: text/plain; charset="utf-8"\n'
    "MIME-Version: 1.0\n"
    "Content-Transfer-Encoding: quoted-printable\n"
)
#: Printable ASCII words separated by single spaces: compat32 folding leaves such a value
#: unchanged when the whole line fits in 78 characters.
_PLAIN_VALUE = re.compile(r"[!-~]+(?: [!-~]+)*")
_MAX_LINE = 78


def _text_charset(text: str) -> str:
    """us-ascii for plain ASCII text; utf-8 (so RFC 2047 encoding) for anything else, and for
    ASCII text with "=?" in it: written raw, a mail client would decode what looks like an
    encoded word (a subject from a template or lead data) and show something else."""
    return "us-ascii" if text.isascii() and "=?" not in text else "utf-8"


def _from(msg: OutgoingMessage) -> str:
    name = msg.sender_name
    if name.isascii() and "=?" in name:
        name = Header(name, "utf-8").encode()  # shown as written, not decoded
    return email.utils.formataddr((name, msg.sender_email), charset="utf-8")


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
    """The reference construction with `email.mime` (what `build_message` reproduces)."""
    check_outgoing(msg)
    out = MIMEText(render_body(msg), "plain", _UTF8)  # type: ignore[arg-type]  # typeshed: str only
    out["From"] = _from(msg)
    out["To"] = msg.recipient_email
    charset = _text_charset(msg.subject)
    out["Subject"] = Header(msg.subject, charset, header_name="Subject")  # type: ignore[assignment]
    out["Date"] = email.utils.format_datetime(msg.date)
    out["Message-ID"] = msg.message_id
    if msg.in_reply_to:
        out["In-Reply-To"] = msg.in_reply_to
    if msg.references:
        out["References"] = msg.references
    unsubscribe: list[str] = []
    if msg.unsubscribe_mailto:
        unsubscribe.append(f"<mailto:{msg.unsubscribe_mailto}?subject=unsubscribe>")
    if msg.unsubscribe_url:
        unsubscribe.append(f"<{msg.unsubscribe_url}>")
    if unsubscribe:
        out["List-Unsubscribe"] = ", ".join(unsubscribe)
    if msg.unsubscribe_url:
        out["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return out.as_bytes()


def unsubscribe_url(template: str | None, *, recipient: str, message_id: str) -> str | None:
    """Fill {email} and {message_id} (URL-encoded) into the configured one-click URL."""
    if not template:
        return None
    return template.replace("{email}", quote(recipient, safe="")).replace(
        "{message_id}", quote(message_id.strip("<>"), safe="")
    )
