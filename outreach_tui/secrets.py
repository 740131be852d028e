"""Secret references: `env:NAME`, `file:PATH`, `keyring:SERVICE/USER`.

Config and database hold only the reference. The value is resolved when a connection is
opened, registered with the log redactor, and never stored anywhere else.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from pathlib import Path

from outreach_tui.core.errors import ConfigError

PREFIXES = ("env:", "file:", "keyring:")

#: Every secret value resolved in this process; the log filter masks them.
_RESOLVED: set[str] = set()


def is_reference(value: str) -> bool:
    return value.startswith(PREFIXES) and len(value.partition(":")[2]) > 0


def check_reference(value: str) -> str:
    """Validator for config fields: a literal password is refused, naming the accepted forms."""
    if not is_reference(value):
        raise ValueError(
            "must be a secret reference (env:NAME, file:PATH or keyring:SERVICE/USER), "
            "not a literal value"
        )
    return value


def resolve_secret(ref: str, *, key: str, where: str = "config") -> str:
    """Resolve a reference to its value; errors name the key and where it was configured."""
    kind, _, target = ref.partition(":")
    if kind == "env":
        value = os.environ.get(target)
        if value is None:
            raise ConfigError(f"{key} ({where}): environment variable {target} is not set")
    elif kind == "file":
        value = _from_file(target, key=key, where=where)
    elif kind == "keyring":
        value = _from_keyring(target, key=key, where=where)
    else:
        raise ConfigError(f"{key} ({where}): not a secret reference (env:, file:, keyring:)")
    if not value:
        raise ConfigError(f"{key} ({where}): secret reference {ref} resolved to an empty value")
    _RESOLVED.add(value)
    return value


def secret_getter(ref: str, *, key: str, where: str = "config") -> Callable[[], str]:
    """A function that resolves `ref` when called: what the mail transports are given, so a
    secret is read when a connection opens (and a rotated one picked up), never before.
    It raises `ConfigError` and nothing else: the transports turn that into the mailbox's
    error, where any other exception would look like a connection lost mid-send."""
    return partial(_resolve_or_config_error, ref, key=key, where=where)


def _resolve_or_config_error(ref: str, *, key: str, where: str) -> str:
    try:
        return resolve_secret(ref, key=key, where=where)
    except ConfigError:
        raise
    except Exception as exc:  # a keyring backend's own error, say: never the value
        raise ConfigError(
            f"{key} ({where}): the secret cannot be read ({type(exc).__name__})"
        ) from None


def _from_file(target: str, *, key: str, where: str) -> str:
    path = Path(target).expanduser()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"{key} ({where}): cannot read secret file {path}: {exc.strerror}"
        ) from None
    except ValueError:  # a NUL in the path
        raise ConfigError(f"{key} ({where}): cannot read secret file {path!r}") from None
    try:
        return data.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"{key} ({where}): secret file {path} is not UTF-8 text (line {line}); save it as UTF-8"
        ) from None


def _from_keyring(target: str, *, key: str, where: str) -> str:
    service, slash, user = target.partition("/")
    if not slash or not service or not user:
        raise ConfigError(f"{key} ({where}): keyring reference must be keyring:SERVICE/USER")
    try:
        import keyring
        from keyring.errors import KeyringError

        try:
            value = keyring.get_password(service, user)
        except KeyringError as exc:
            raise ConfigError(f"{key} ({where}): keyring unavailable: {exc}") from None
        except Exception as exc:  # a backend's own error (D-Bus, a locked store, ...)
            raise ConfigError(
                f"{key} ({where}): keyring unavailable ({type(exc).__name__})"
            ) from None
    except ImportError:  # pragma: no cover - keyring is a dependency
        raise ConfigError(f"{key} ({where}): the keyring package is not installed") from None
    if value is None:
        raise ConfigError(f"{key} ({where}): no keyring entry for {service}/{user}")
    return str(value)


def resolved_values() -> frozenset[str]:
    """Secrets seen so far in this process (for the log redactor)."""
    return frozenset(_RESOLVED)


def remember_secret(value: str) -> None:
    """Register a secret that did not come through `resolve_secret` (e.g. SMTP_PASS)."""
    if value:
        _RESOLVED.add(value)
