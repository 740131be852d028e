"""A private Exim 4 (Debian's exim4-daemon-light, unpacked, not installed) in the test's namespace.

Why a second MTA: Exim writes its bounces in its own words ("Mail delivery failed: returning
message to sender", "retry timeout exceeded", "Warning: message ... delayed"), and Exim is one of
the MTAs an outreach mailbox hears from most. Debian's MTA packages conflict with each other, so
tools/ensure_test_servers.sh unpacks the package (``dpkg -x``) under EXIM_ROOT instead of
installing it, and creates the ``Debian-exim`` user the binary was built for.

The instance reads only the configuration this module writes (``exim4 -C FILE``, as root), keeps
its spool and logs under a temporary root, is started inside the bounce world's namespace with
``ip netns exec`` as a queue-runner daemon (``-q1s``), and takes mail with ``-odq`` (queued, so the
daemon, inside the namespace, does every delivery). A missing Exim FAILS the test.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers.netns import exec_prefix

EXIM_ROOT = Path(os.environ.get("OUTREACH_TEST_EXIM_ROOT", "/opt/outreach-test-servers/exim"))
EXIM_USER = "Debian-exim"


def exim_binary() -> Path:
    binary = EXIM_ROOT / "usr" / "sbin" / "exim4"
    if not os.access(binary, os.X_OK):
        pytest.fail(
            f"{binary} is missing: run tools/ensure_test_servers.sh (make test does)", pytrace=False
        )
    try:
        pwd.getpwnam(EXIM_USER)
    except KeyError:
        pytest.fail(
            f"user {EXIM_USER!r} is missing: run tools/ensure_test_servers.sh", pytrace=False
        )
    return binary


@dataclass
class EximInstance:
    root: Path
    netns: str
    hostname: str
    lmtp_socket: Path
    local_domains: Sequence[str]
    retry_seconds: int = 9
    delay_warning_seconds: int = 3

    def __post_init__(self) -> None:
        self.binary = exim_binary()
        self.config = self.root / "exim.conf"
        self.spool = self.root / "spool"
        self.logs = self.root / "log"
        self.process: subprocess.Popen[bytes] | None = None

    def _conf(self) -> str:
        domains = " : ".join(self.local_domains)
        return f"""# Written by tests/servers/exim.py: no system configuration is read.
domainlist ours = {domains}
primary_hostname = {self.hostname}
exim_path = {self.binary}
qualify_domain = {self.local_domains[0]}
exim_user = {EXIM_USER}
exim_group = {EXIM_USER}
never_users = root
trusted_users = root
keep_environment =
spool_directory = {self.spool}
log_file_path = {self.logs}/%slog
local_interfaces = <; 127.0.0.2
host_lookup =
rfc1413_hosts =
delay_warning = {self.delay_warning_seconds}s:1h
ignore_bounce_errors_after = 10m
timeout_frozen_after = 10m
message_size_limit = 10M

begin routers
ours:
  driver = accept
  domains = +ours
  transport = store
dnslookup:
  driver = dnslookup
  domains = ! +ours
  transport = remote_smtp
  no_more

begin transports
remote_smtp:
  driver = smtp
  interface = 127.0.0.1
  connect_timeout = 3s
  hosts_avoid_tls = *
store:
  driver = lmtp
  socket = {self.lmtp_socket}
  user = {EXIM_USER}
  batch_max = 1

begin retry
*   *   F,{self.retry_seconds}s,2s

begin rewrite
"""

    def start(self, timeout: float = 15.0) -> None:
        for directory in (self.spool, self.logs):
            directory.mkdir(parents=True, exist_ok=True)
            os.chown(directory, pwd.getpwnam(EXIM_USER).pw_uid, pwd.getpwnam(EXIM_USER).pw_gid)
        self.config.write_text(self._conf())
        self.config.chmod(0o644)
        check = subprocess.run(
            [str(self.binary), "-C", str(self.config), "-bV"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check.returncode != 0:
            pytest.fail(f"exim rejects its configuration:\n{check.stderr}", pytrace=False)
        # -bdf: stay in the foreground (this object owns the process); -q1s: a queue run each
        # second. No listener: mail comes in through the command line.
        self.process = subprocess.Popen(
            [*exec_prefix(self.netns), str(self.binary), "-C", str(self.config), "-bdf", "-q1s",
             "-oX", "127.0.0.2:2525"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        time.sleep(0.5)
        if self.process.poll() is not None:
            pytest.fail(f"exim exited:\n{self.log_tail()}", pytrace=False)

    def stop(self) -> None:
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.process = None

    def submit(self, raw: bytes, sender: str, recipients: Sequence[str]) -> None:
        result = subprocess.run(
            [str(self.binary), "-C", str(self.config), "-odq", "-i", "-f", sender, "--",
             *recipients],
            input=raw, capture_output=True, timeout=30, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            pytest.fail(f"exim refused the message: {result.stderr!r}", pytrace=False)

    def queued(self) -> int:
        result = subprocess.run(
            [str(self.binary), "-C", str(self.config), "-bpc"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        try:
            return int(result.stdout.strip() or "0")
        except ValueError:
            return 0

    def log_tail(self, lines: int = 40) -> str:
        text = ""
        for name in ("mainlog", "paniclog", "rejectlog"):
            with contextlib.suppress(OSError):
                text += (self.logs / name).read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:]) or "(no exim log)"
