"""A private Postfix instance (Debian's package), run inside a network namespace of the test's.

Why a real Postfix: the delivery status notifications an outreach mailbox receives are written
by MTAs, and Postfix writes a large share of the world's. Its DSNs (RFC 3464 reports, delay
warnings, "returned to sender" after the queue lifetime, success reports) come from here exactly
as Postfix writes them, not from a template of ours.

Nothing of the system's Postfix is used or started: the instance has its own
config_directory, queue_directory, data_directory and log file under a temporary root, listens
only where its main.cf says (loopback addresses of the namespace) and is started with
``ip netns exec NS postfix -c DIR start``, so its resolver and port 25 are the namespace's.
Mail is submitted with ``sendmail -C DIR`` (the maildrop queue is a directory: no network
needed). Postfix runs as root for its master and as the ``postfix`` user (group ``postdrop``
for submission) for everything else: the Debian package creates both.

A missing Postfix FAILS the test (run tools/ensure_test_servers.sh); it never skips.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.servers.netns import exec_prefix

POSTFIX = "/usr/sbin/postfix"
SENDMAIL = "/usr/sbin/sendmail"
POSTQUEUE = "/usr/sbin/postqueue"

#: The services of a plain Debian master.cf, none chrooted (the chroot would need copies of
#: /etc files and the namespace's resolv.conf inside the queue directory).
MASTER_CF = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def require_postfix() -> None:
    for binary in (POSTFIX, SENDMAIL, POSTQUEUE):
        if not os.access(binary, os.X_OK):
            pytest.fail(
                f"{binary} is missing: run tools/ensure_test_servers.sh (make test does)",
                pytrace=False,
            )
    for user in ("postfix",):
        try:
            pwd.getpwnam(user)
        except KeyError:
            pytest.fail(f"user {user!r} is missing: reinstall Debian's postfix", pytrace=False)


@dataclass
class PostfixInstance:
    """One Postfix under ``root``: ``start()`` writes main.cf/master.cf and starts the master."""

    root: Path
    netns: str
    settings: Mapping[str, str]
    """main.cf lines beyond the instance's own directories and logging."""
    services: Sequence[str] = ()
    """master.cf lines beyond MASTER_CF (e.g. ``127.0.0.3:25 inet n - n - - smtpd``)."""
    files: Mapping[str, str] = field(default_factory=dict)
    """Files written under ``root/etc`` before start (texthash and regexp tables)."""

    def __post_init__(self) -> None:
        require_postfix()
        self.etc = self.root / "etc"
        self.queue = self.root / "queue"
        self.data = self.root / "data"
        self.log_file = self.root / "maillog"

    # -- lifecycle -----------------------------------------------------------------------------

    def main_cf(self) -> str:
        own = {
            "compatibility_level": "3.6",
            "config_directory": str(self.etc),
            "queue_directory": str(self.queue),
            "data_directory": str(self.data),
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "maillog_file": str(self.log_file),
            "maillog_file_prefixes": str(self.root),
            "inet_protocols": "ipv4",
            "alias_maps": "",
            "alias_database": "",
            "biff": "no",
            "smtputf8_enable": "no",
            "mydestination": "",
            "local_recipient_maps": "",
        }
        own.update(self.settings)
        return "".join(f"{key} = {value}\n" for key, value in own.items())

    def start(self, timeout: float = 20.0) -> None:
        for directory in (self.etc, self.queue, self.data):
            directory.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        shutil.chown(self.data, "postfix")
        (self.etc / "main.cf").write_text(self.main_cf())
        (self.etc / "master.cf").write_text(MASTER_CF + "".join(f"{s}\n" for s in self.services))
        for name, text in self.files.items():
            (self.etc / name).write_text(text)
        # `postfix` reports configuration errors on a terminal only (else to syslog, which a
        # container lacks): `script` gives it one so a failure says why.
        command = [*exec_prefix(self.netns), POSTFIX, "-c", str(self.etc), "start"]
        result = subprocess.run(
            ["script", "-qec", shlex.join(command), "/dev/null"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(
                f"postfix did not start ({self.root}):\n{result.stdout}{result.stderr}\n"
                f"{self.log_tail()}",
                pytrace=False,
            )
        deadline = time.monotonic() + timeout
        while self.master_pid() is None:
            if time.monotonic() > deadline:
                pytest.fail(f"postfix master did not come up:\n{self.log_tail()}", pytrace=False)
            time.sleep(0.05)

    def master_pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError):
            pid = int((self.queue / "pid" / "master.pid").read_text().split()[0])
            os.kill(pid, 0)
            return pid
        return None

    def stop(self) -> None:
        """Stop the master and its children (``postfix stop``, then a signal if need be)."""
        pid = self.master_pid()
        if pid is None:
            return
        subprocess.run(
            [POSTFIX, "-c", str(self.etc), "stop"], capture_output=True, timeout=30, check=False
        )
        deadline = time.monotonic() + 10
        while self.master_pid() is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        if self.master_pid() is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def log_tail(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        return "(no postfix log)"

    # -- mail ----------------------------------------------------------------------------------

    def submit(
        self,
        raw: bytes,
        sender: str,
        recipients: Sequence[str],
        *,
        notify: str | None = None,
        ret: str | None = None,
        envid: str | None = None,
    ) -> None:
        """Queue ``raw`` as the sendmail command does (``-N`` notify, ``-R`` hdrs/full, ``-V``)."""
        command = [SENDMAIL, "-C", str(self.etc), "-i", "-f", sender]
        if notify:
            command += ["-N", notify]
        if ret:
            command += ["-R", ret]
        if envid:
            command += ["-V", envid]
        result = subprocess.run(
            [*command, "--", *recipients], input=raw, capture_output=True, timeout=30, check=False
        )
        if result.returncode != 0:
            pytest.fail(
                f"sendmail failed: {result.stderr.decode(errors='replace')}\n{self.log_tail()}",
                pytrace=False,
            )

    def queue_ids(self) -> list[str]:
        """Messages still queued (active, deferred, incoming, hold), from ``postqueue -j``."""
        result = subprocess.run(
            [POSTQUEUE, "-c", str(self.etc), "-j"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        ids = [json.loads(line)["queue_id"] for line in result.stdout.splitlines() if line]
        maildrop = self.queue / "maildrop"
        if maildrop.is_dir():
            ids += [p.name for p in maildrop.iterdir()]
        return ids

    def flush(self) -> None:
        """Try every deferred message now (``postqueue -f``)."""
        subprocess.run(
            [POSTQUEUE, "-c", str(self.etc), "-f"], capture_output=True, timeout=30, check=False
        )

    def wait_until_empty(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.queue_ids():
            if time.monotonic() > deadline:
                pytest.fail(
                    f"postfix queue not empty after {timeout:.0f} s: {self.queue_ids()}\n"
                    f"{self.log_tail()}",
                    pytrace=False,
                )
            time.sleep(0.25)
