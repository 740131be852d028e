"""The project's exception types, drawn in one place.

    OutreachError
    ├── ConfigError              a config file, key or secret reference is wrong
    ├── InputError               data from outside (CSV row, address, header value) is unusable
    │   └── HeaderInjection      CR/LF/NUL would reach a message header
    └── SendError                the send pipeline could not deliver
        ├── PolicyBlocked        a policy rule refused the send (an audit row says which)
        ├── TransientSendError   4xx or network trouble: retried later, nothing consumed
        ├── PermanentSendError   5xx for this recipient or message
        ├── MailboxError         auth/TLS/connection: the sending mailbox is at fault
        └── UnknownOutcome       the server may or may not have accepted: never re-sent blindly

Every error carries a short sentence fit for an operator's screen (`str(err)`); details belong
in the log, which callers write with `logger.exception` or `detail`.
"""

from __future__ import annotations


class OutreachError(Exception):
    """Base class; `str()` is a short sentence an operator can read."""

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.detail = detail


class ConfigError(OutreachError):
    """A configuration file, key or secret reference is unusable; the message names where."""


class InputError(OutreachError):
    """Data from outside (a CSV row, an address, a header value) cannot be used."""


class HeaderInjection(InputError):
    """A value bound for a message header contains CR, LF or NUL."""


class SendError(OutreachError):
    """The send pipeline could not deliver a message."""


class PolicyBlocked(SendError):
    """A policy rule refused the send."""


class TransientSendError(SendError):
    """A temporary failure: retried later with backoff, nothing consumed."""


class PermanentSendError(SendError):
    """A permanent failure for this recipient or message."""


class MailboxError(SendError):
    """Authentication, TLS or connection failure: counts against the sending mailbox."""


class UnknownOutcome(SendError):
    """The connection broke after the message was handed over; acceptance is unknown."""
