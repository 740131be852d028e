"""The project's exception types, drawn in one place.

    OutreachError
    ├── ConfigError              a config file, key or secret reference is wrong
    └── InputError               data from outside (CSV row, address, header value) is unusable
        └── HeaderInjection      CR/LF/NUL would reach a message header

Every error carries a short sentence fit for an operator's screen (`str(err)`); details belong
in the log, which callers write with `logger.exception` or `detail`.

A send that fails is not an exception: the pipeline returns a `SendOutcome` whose status and
`core.states.ErrorClass` say what happened and who pays (engine/sending/values.py).
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
