"""A throw-away Linux network namespace for bench/verify.py.

Why: py3-validate-email asks the system resolver and connects to port 25, with no way to point
it elsewhere. Inside a namespace of our own, "the system resolver" is /etc/netns/NAME/resolv.conf
(``ip netns exec`` bind-mounts it over /etc/resolv.conf) and port 25 on 127.x addresses is ours,
while the machine's own network settings stay untouched. The namespace has only ``lo``, so
nothing inside can reach a real server.

Needs root and iproute2. The namespace and /etc/netns/NAME are removed on the way out, also
after a failure or Ctrl-C; a stale one left by a killed run is removed before a new one is made.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

NAME = "outreach-verify-bench"
NETNS_ETC = Path("/etc/netns")


class NamespaceUnavailable(RuntimeError):
    """The namespace cannot be made here (not root, no iproute2, no CAP_SYS_ADMIN)."""


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def remove(name: str = NAME) -> None:
    """Delete the namespace and its /etc/netns directory if they exist (idempotent)."""
    if shutil.which("ip") and name in _ip("netns", "list", check=False).stdout.split():
        _ip("netns", "del", name, check=False)
    shutil.rmtree(NETNS_ETC / name, ignore_errors=True)


@contextmanager
def network_namespace(name: str = NAME, nameserver: str = "127.0.0.1") -> Iterator[str]:
    """Create ``name`` with ``lo`` up and a resolv.conf naming ``nameserver``; yield the name."""
    if os.geteuid() != 0:
        raise NamespaceUnavailable("bench/verify.py must run as root (it creates a netns)")
    if shutil.which("ip") is None:
        raise NamespaceUnavailable("iproute2's `ip` is not installed")
    remove(name)
    made_netns_etc = not NETNS_ETC.exists()
    # SIGTERM (e.g. a CI timeout) must still run the cleanup below.
    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        try:
            _ip("netns", "add", name)
        except subprocess.CalledProcessError as error:
            raise NamespaceUnavailable(f"ip netns add failed: {error.stderr.strip()}") from error
        _ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
        etc = NETNS_ETC / name
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "resolv.conf").write_text(
            f"# bench/verify.py: the namespace's own resolver (removed after the run)\n"
            f"nameserver {nameserver}\noptions timeout:2 attempts:1\n"
        )
        yield name
    finally:
        remove(name)
        if made_netns_etc:
            with contextlib.suppress(OSError):
                NETNS_ETC.rmdir()  # only if empty: another namespace may have appeared
        signal.signal(signal.SIGTERM, previous)


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def exec_prefix(name: str = NAME) -> list[str]:
    """Prefix that runs a command inside the namespace."""
    return ["ip", "netns", "exec", name]
