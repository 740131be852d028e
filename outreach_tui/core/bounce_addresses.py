"""Which address a bounce is about: cleaning what reports write and choosing among candidates.

Reports name recipients in many shapes: ``rfc822; <User@Example.com>``, ``"John Doe"
<john@x>``, Exim's pipe deliveries (``|/usr/bin/procmail user@x``), RFC 5321 source routes
(``<@relay.example:user@x>``), or a bare ``@host`` when an MTA lost the local part. Only a real
address of the form local@domain may ever reach the suppression list: a pipe or a host is
rejected, and a source route yields its final address only when the route itself is well formed.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

_LOCAL = r"(?:[A-Za-z0-9!#$%&'*+/=?^_`{}~.-]+|\"[^\"\r\n]+\")"
_DOMAIN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?\.)+[A-Za-z0-9-]{2,63}"
_ADDRESS = re.compile(rf"^{_LOCAL}@{_DOMAIN}$")
_ROUTE = re.compile(rf"^@{_DOMAIN}(?:,@{_DOMAIN})*:(.+)$")
#: Local parts of the machines that write reports: never the failed recipient.
DAEMON_LOCALS = re.compile(
    r"^(?:mailer-daemon|mailer_daemon|mail-daemon|mailerdaemon|postmaster|mail\.?delivery"
    r"|microsoftexchange[0-9a-f]*|mdaemon)$",
    re.IGNORECASE,
)


def clean_address(value: str) -> str | None:
    """A lower-cased ``local@domain`` from one address field of a report, or None.

    Takes off an RFC 3464 type (``rfc822;``), angle brackets, a display name and a trailing
    dot; refuses pipes, files, bare hosts and anything that is not one address.
    """
    text = value.strip()
    kind, semicolon, rest = text.partition(";")
    if semicolon and re.fullmatch(r"\s*[A-Za-z0-9.-]+\s*", kind):
        text = rest.strip()
    if "<" in text and ">" in text:
        inner = text[text.rfind("<") + 1 : text.rfind(">")].strip()
        if inner:
            text = inner
    text = text.strip().strip("<>").strip()
    text = re.sub(r"\s*\([^()]*\)\s*$", "", text)  # "user@x (comment)"
    if not text or text.startswith(("|", "/")) or "|" in text or " " in text:
        return None
    if text.startswith("@"):
        route = _ROUTE.match(text)
        if route is None:
            return None  # a bare "@host", or a route that is not one
        text = route.group(1)
    text = text.rstrip(".")
    if not _ADDRESS.match(text) or text.lower().startswith("imcea"):
        # IMCEA...: an Exchange-internal (X.500) address wrapped in SMTP form, not the mailbox.
        return None
    local, _, domain = text.rpartition("@")
    return f"{local}@{domain}".lower()


def is_daemon(address: str) -> bool:
    """The address of a mail system (MAILER-DAEMON, postmaster...), not a person's."""
    return bool(DAEMON_LOCALS.match(address.partition("@")[0]))


def choose(
    candidates: Iterable[str],
    sent_to: Collection[str] = (),
    *,
    exclude: Collection[str] = (),
) -> tuple[str, ...]:
    """The recipients a report is about, best first, without repeats.

    `candidates` are the report's own names for the failed recipients, in the order the format
    ranks them. Addresses we actually sent to (`sent_to`) come first; `exclude` (our own
    addresses, the report's sender) and mail-system addresses never come out.
    """
    wanted = {a.lower() for a in sent_to}
    skip = {a.lower() for a in exclude}
    cleaned: list[str] = []
    for candidate in candidates:
        address = clean_address(candidate)
        if address and address not in skip and not is_daemon(address):
            cleaned.append(address)
    unique = list(dict.fromkeys(cleaned))
    ours = [a for a in unique if a in wanted]
    return tuple(ours) if ours else tuple(unique)
