"""A throw-away Linux network namespace for servers that must see a world of our own.

Why: Postfix resolves MX records through the system resolver (``/etc/resolv.conf``, port 53)
and connects to port 25; neither can be pointed elsewhere. Inside a namespace of our own, the
system resolver is ``/etc/netns/NAME/resolv.conf`` (``ip netns exec`` bind-mounts it over
/etc/resolv.conf) and every 127.x address with its port 25 is ours, while the machine's network
stays untouched. The namespace has only ``lo``, so nothing inside can reach a real server.

Needs root and iproute2; a test that needs one FAILS when it cannot be made (never skips).
The namespace and /etc/netns/NAME are removed on the way out, also after a failure; a stale one
left by a killed run of the same name is removed first.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

NETNS_ETC = Path("/etc/netns")


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def remove(name: str) -> None:
    """Delete the namespace and its /etc/netns directory if they exist (idempotent)."""
    if shutil.which("ip") and name in _ip("netns", "list", check=False).stdout.split():
        _ip("netns", "del", name, check=False)
    shutil.rmtree(NETNS_ETC / name, ignore_errors=True)


@contextmanager
def network_namespace(name: str, nameserver: str = "127.0.0.1") -> Iterator[str]:
    """Create ``name`` with ``lo`` up and a resolv.conf naming ``nameserver``; yield the name."""
    if os.geteuid() != 0:
        pytest.fail("the bounce world needs root (it creates a network namespace)", pytrace=False)
    if shutil.which("ip") is None:
        pytest.fail("iproute2 is not installed: run tools/ensure_test_servers.sh", pytrace=False)
    remove(name)
    made_netns_etc = not NETNS_ETC.exists()
    try:
        try:
            _ip("netns", "add", name)
        except subprocess.CalledProcessError as error:
            pytest.fail(f"ip netns add failed: {error.stderr.strip()}", pytrace=False)
        _ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
        etc = NETNS_ETC / name
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "resolv.conf").write_text(
            f"# tests/servers/netns.py: the namespace's own resolver\n"
            f"nameserver {nameserver}\noptions timeout:1 attempts:1\n"
        )
        # An empty hosts file: names and reverse lookups (127.0.0.1 has no name) come from the
        # namespace's DNS only, never from the machine's own /etc/hosts.
        (etc / "hosts").write_text("# tests/servers/netns.py: empty on purpose\n")
        yield name
    finally:
        remove(name)
        if made_netns_etc:
            with contextlib.suppress(OSError):
                NETNS_ETC.rmdir()  # only if empty: another namespace may have appeared


def exec_prefix(name: str) -> list[str]:
    """The command prefix that runs a program inside namespace ``name``."""
    return ["ip", "netns", "exec", name]
