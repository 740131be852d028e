"""Loopback-only network for the test suite, in the test process and in every subprocess.

Tests may talk only to servers they start on loopback. This module (on PYTHONPATH as
``sitecustomize`` for subprocesses, imported directly by tests/conftest.py) wraps the socket
calls that reach out (connect, connect_ex, sendto): a non-loopback destination is refused with
an OSError the code under test sees as an unreachable network, and is written to the file named
by ``OUTREACH_NETGUARD_LOG`` so the test fails even when the product swallows the error (a DNS
job logging "lookup failed" must not hide that it tried the machine's resolver).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Any

_LOG_ENV = "OUTREACH_NETGUARD_LOG"


class OffLoopbackError(OSError):
    """A test tried to reach a host that is not on loopback."""


def _allowed(address: Any) -> bool:
    if not isinstance(address, tuple) or not address:
        return True  # AF_UNIX paths, abstract sockets
    host = address[0]
    if not isinstance(host, str):
        return True
    if host in ("localhost", ""):
        return True
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False  # a name: resolving it would already have gone through the guard
    return ip.is_loopback or ip.is_unspecified


def _refuse(address: Any) -> None:
    target = f"{address[0]}:{address[1]}" if len(address) > 1 else str(address[0])
    path = os.environ.get(_LOG_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(f"{os.getpid()} {target}\n")
    raise OffLoopbackError(101, f"tests may only reach loopback; refused {target}")


def install() -> None:
    if getattr(socket.socket, "_outreach_netguard", False):
        return
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex
    original_sendto = socket.socket.sendto

    def connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _allowed(address):
            _refuse(address)
        return original_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _allowed(address):
            _refuse(address)
        return original_connect_ex(self, address)

    def sendto(self: socket.socket, data: Any, *args: Any) -> int:
        address = args[-1]
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _allowed(address):
            _refuse(address)
        return original_sendto(self, data, *args)  # type: ignore[arg-type]

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.socket.sendto = sendto  # type: ignore[method-assign,assignment]
    socket.socket._outreach_netguard = True  # type: ignore[attr-defined]


if os.environ.get(_LOG_ENV):
    install()
