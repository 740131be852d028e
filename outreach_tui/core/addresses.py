"""Address and domain syntax, via email-validator (internationalised addresses included)."""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

from outreach_tui.core.errors import InputError

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def normalize_address(value: str) -> str:
    """A lower-cased, syntax-checked address; `InputError` says what is wrong.

    Strict: a local part of more than 64 characters is refused (RFC 5321 4.5.3.1.1), which
    email-validator only checks when asked; servers refuse such an address at RCPT."""
    candidate = value.strip()
    if not candidate:
        raise InputError("empty address")
    try:
        result = validate_email(candidate, check_deliverability=False, strict=True)
    except EmailNotValidError as exc:
        raise InputError(f"{candidate!r} is not a valid address: {exc}") from None
    return str(result.normalized).lower()


def normalize_domain(value: str) -> str:
    """A lower-cased, syntax-checked domain name (IDNs converted to their A-label form)."""
    candidate = value.strip().lower().rstrip(".").lstrip("@")
    try:
        ascii_form = candidate.encode("idna").decode("ascii")
    except UnicodeError:
        raise InputError(f"{value!r} is not a valid domain name") from None
    labels = ascii_form.split(".")
    if len(labels) < 2 or len(ascii_form) > 253 or not all(_LABEL.match(x) for x in labels):
        raise InputError(f"{value!r} is not a valid domain name")
    return ascii_form
