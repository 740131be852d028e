"""IMAP arguments built from data: checked before they join a command line.

This Python's imaplib does not reject CR/LF/NUL in arguments itself; inside a command line
they would end it and start another (a sender-controlled Message-ID searched for could then
inject a command). Every argument built from data goes through here (`ImapArgumentError`), and
values from messages travel as literals (`literal_bytes`), never pasted into the line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from outreach_tui.core.errors import InputError


class ImapArgumentError(InputError):
    """A value bound for an IMAP command contains CR, LF or NUL (or is otherwise unsendable)."""


_UNSAFE = re.compile(r"[\r\n\x00]")
_ATOM_SAFE = re.compile(r"^[A-Za-z0-9._/\-]+$")


def check_argument(what: str, value: str) -> str:
    """Refuse CR, LF and NUL: inside a command line they would end it and start another."""
    if _UNSAFE.search(value):
        raise ImapArgumentError(f"{what} contains a line break or NUL; not sent to the server")
    return value


def quote_mailbox(name: str) -> str:
    """A folder name as an IMAP astring: an atom when plain, a quoted string otherwise."""
    check_argument("folder name", name)
    if not name.isascii():
        raise ImapArgumentError("folder name must be ASCII (modified UTF-7 is not supported)")
    if _ATOM_SAFE.match(name):
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def literal_bytes(what: str, value: str) -> bytes:
    """A value for a literal: checked like any argument (a literal may carry CR/LF, but no
    header value we search for can, so one that does is an attack or a bug)."""
    check_argument(what, value)
    if not value.isascii():
        raise ImapArgumentError(f"{what} is not ASCII; not searched for")
    return value.encode("ascii")


def uid_set(uids: Iterable[int]) -> str:
    return ",".join(str(int(u)) for u in uids)


__all__ = ["ImapArgumentError", "check_argument", "literal_bytes", "quote_mailbox", "uid_set"]
