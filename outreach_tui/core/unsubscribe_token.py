"""One-click unsubscribe links (RFC 8058): a per-recipient token signed with HMAC-SHA256.

The token carries the recipient's address and the Message-ID of the message it came in, and
a MAC over both under the operator's key (`[sending] unsubscribe_key`). The server verifies it
with the key alone, no database lookup: a forged or altered link is refused, a real one names
the address to suppress. Pure: the HTTP side (outreach_tui/api/routers/unsubscribe.py) and the
message builder (engine/sending/envelope.py) both use it.

    payload = address "\\n" message-id
    token   = base64url(payload) "." base64url(HMAC-SHA256(key, domain | payload)[:16])

128 bits of MAC are far beyond guessing; the link stays short enough for any header.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

#: Separates this MAC from any other use of the same key.
_DOMAIN = b"outreach-tui one-click unsubscribe v1\n"
_MAC_BYTES = 16
#: A token longer than this is refused before any decoding (an address is at most 320).
MAX_TOKEN_LENGTH = 1200
_PLACEHOLDERS = re.compile(r"\{([a-z_]*)\}")
_KNOWN = frozenset({"email", "message_id", "token"})


@dataclass(frozen=True, slots=True)
class UnsubscribeClaim:
    """What a verified token says: who, and the message the link was in."""

    email: str
    message_id: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, _DOMAIN + payload, hashlib.sha256).digest()[:_MAC_BYTES]


def sign(key: bytes, email: str, message_id: str) -> str:
    """The token for `email` (lower-cased) and `message_id` (angle brackets dropped)."""
    payload = f"{email.strip().lower()}\n{message_id.strip().strip('<>')}".encode()
    return f"{_b64(payload)}.{_b64(_mac(key, payload))}"


def verify(key: bytes, token: str) -> UnsubscribeClaim | None:
    """The claim of a token signed with `key`, or None (malformed, altered or forged)."""
    if not token or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 1:
        return None
    encoded, _, mac = token.partition(".")
    try:
        payload = _unb64(encoded)
        given = _unb64(mac)
    except (binascii.Error, ValueError):
        return None
    if not hmac.compare_digest(given, _mac(key, payload)):
        return None
    try:
        email, newline, message_id = payload.decode("utf-8").partition("\n")
    except UnicodeDecodeError:  # pragma: no cover - only we sign payloads
        return None
    if not newline or "@" not in email:
        return None  # pragma: no cover - only we sign payloads
    return UnsubscribeClaim(email, message_id)


def fill_url(template: str, *, email: str, message_id: str, token: str | None) -> str:
    """The template with {email}, {message_id} (URL-encoded) and {token} filled in."""
    url = template.replace("{email}", quote(email, safe="")).replace(
        "{message_id}", quote(message_id.strip("<>"), safe="")
    )
    if token is not None:
        url = url.replace("{token}", token)
    return url


def check_unsubscribe_url(template: str) -> str:
    """A config validator: the one-click URL must be HTTPS (RFC 8058 §3: a recipient's
    client POSTs to it; plain HTTP would carry the address in the clear and is not
    one-click for Gmail or Yahoo), name a host, and use only the known placeholders."""
    if any(c.isspace() or ord(c) < 32 for c in template):
        raise ValueError("must not contain spaces or control characters")
    unknown = set(_PLACEHOLDERS.findall(template)) - _KNOWN
    if unknown:
        raise ValueError(
            f"unknown placeholder(s) {', '.join('{' + u + '}' for u in sorted(unknown))} "
            "(use {token}, {email} or {message_id})"
        )
    sample = fill_url(template, email="a@b.c", message_id="m@b.c", token="t.t")
    parts = urlsplit(sample)
    if parts.scheme.lower() != "https":
        raise ValueError("must be an https:// URL (RFC 8058 one-click needs HTTPS)")
    if not parts.hostname:
        raise ValueError("must name a host (https://host/...)")
    return template


def wants_token(template: str | None) -> bool:
    """Whether the URL carries a signed token (the kind `outreach-tui serve` verifies)."""
    return template is not None and "{token}" in template


#: What the console's status line, `worker` start-up and /health say when it is off.
ONE_CLICK_OFF = "one-click unsubscribe is off: [sending] unsubscribe_url is not set"


def one_click_status(url: str | None) -> tuple[bool, str]:
    """(on, in words) for the configured `[sending] unsubscribe_url`."""
    if not url:
        return False, ONE_CLICK_OFF
    if not wants_token(url):
        return True, "one-click unsubscribe goes to an external URL (no {token})"
    return True, "one-click unsubscribe is on"
