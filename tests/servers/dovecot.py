"""A real Dovecot IMAP server on loopback, configured from scratch in a temporary directory.

Why a real server: the IMAP client pins TLS (implicit TLS on the "993" listener, STARTTLS
required on the "143" one), verifies certificates, fetches by UID and must survive a server
restart or a UIDVALIDITY change. Those behaviours live in the protocol, so they are only
trustworthy against the server operators actually run.

Nothing of the system's Dovecot configuration is used: `dovecot -c CONF` reads the complete
file this module writes, with its own base_dir, state_dir and log, listeners on 127.0.0.1 at
free ports, certificates from the test PKI, a passwd-file user database made at run time and
maildirs under the temporary directory. Every session's raw protocol stream is written to
`rawlog/<user>/` (Dovecot's rawlog), so a test can assert on what really reached the wire.

Running as root (containers, CI): Dovecot refuses root for mail processes, so the mail files
belong to an unprivileged system user (`dovecot`) and login processes run as `dovenull`. As
any other user, everything runs as that user. A missing Dovecot FAILS the test, never skips it.
"""

from __future__ import annotations

import contextlib
import grp
import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from tests.servers.pki import CertKind, TestPKI

LOOPBACK = "127.0.0.1"
DOVECOT_CANDIDATES = ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot")
DOVEADM_CANDIDATES = ("/usr/bin/doveadm", "/usr/local/bin/doveadm")

TlsMode = Literal["required", "none"]
"""required: IMAPS listener plus a 143-style listener that demands STARTTLS before login;
none: a plaintext-only server that does not offer STARTTLS at all (for the refusal test)."""


def find_binary(candidates: tuple[str, ...], name: str) -> str:
    for path in candidates:
        if os.access(path, os.X_OK):
            return path
    found = shutil.which(name)
    if found is None:
        pytest.fail(
            f"{name} is not installed: run tools/ensure_test_servers.sh (make test does)",
            pytrace=False,
        )
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


@dataclass
class DovecotUser:
    name: str
    password: str


@dataclass
class DovecotServer:
    """One Dovecot instance. `start()` writes the configuration and runs the master process."""

    pki: TestPKI
    cert: CertKind = "good"
    tls: TlsMode = "required"
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="outreach-dovecot-")))
    imaps_port: int = field(default_factory=free_port)
    imap_port: int = field(default_factory=free_port)
    users: dict[str, DovecotUser] = field(default_factory=dict)
    host: str = LOOPBACK
    pool: int = 400
    """Users written before start, handed out by `add_user()` without a name."""

    def __post_init__(self) -> None:
        self.binary = find_binary(DOVECOT_CANDIDATES, "dovecot")
        self.doveadm = find_binary(DOVEADM_CANDIDATES, "doveadm")
        # The temporary root must be traversable by the unprivileged mail user.
        self.root.chmod(0o755)
        self.config = self.root / "dovecot.conf"
        self.base_dir = self.root / "run"
        self.state_dir = self.root / "state"
        self.mail_root = self.root / "mail"
        self.rawlog_root = self.root / "rawlog"
        self.passwd_file = self.root / "passwd"
        self.log_file = self.root / "dovecot.log"
        self._write_certificate()
        if os.geteuid() == 0:
            self.mail_user, self.login_user = "dovecot", "dovenull"
        else:
            me = pwd.getpwuid(os.geteuid()).pw_name
            self.mail_user, self.login_user = me, me
        entry = pwd.getpwnam(self.mail_user)
        self.mail_uid, self.mail_gid = entry.pw_uid, entry.pw_gid
        self.mail_group = grp.getgrgid(self.mail_gid).gr_name
        for directory in (self.mail_root, self.rawlog_root):
            directory.mkdir(parents=True, exist_ok=True)
            os.chown(directory, self.mail_uid, self.mail_gid)
        self.base_dir.mkdir(exist_ok=True)
        self.state_dir.mkdir(exist_ok=True)
        self.passwd_file.write_text("")
        self._pool = [self._write_user(f"user{n}@example.test") for n in range(1, self.pool + 1)]
        self.process: subprocess.Popen[bytes] | None = None

    # -- configuration -------------------------------------------------------------------------

    def _write_certificate(self) -> None:
        leaf = self.pki.certs[self.cert]
        self.cert_file = self.root / "server-cert.pem"
        self.key_file = self.root / "server-key.pem"
        self.cert_file.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
        leaf.private_key_pem.write_to_path(str(self.key_file))
        self.key_file.chmod(0o600)

    def _conf(self) -> str:
        uid = pwd.getpwuid(self.mail_uid).pw_name
        listeners = f"""
service imap-login {{
  inet_listener imap {{
    address = {LOOPBACK}
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    address = {LOOPBACK}
    port = {self.imaps_port if self.tls == "required" else 0}
    ssl = yes
  }}
  process_min_avail = 1
}}"""
        ssl = (
            f"""ssl = required
ssl_cert = <{self.cert_file}
ssl_key = <{self.key_file}
ssl_min_protocol = TLSv1.2"""
            if self.tls == "required"
            else "ssl = no"
        )
        return f"""# Written by tests/servers/dovecot.py: no system configuration is read.
base_dir = {self.base_dir}
state_dir = {self.state_dir}
log_path = {self.log_file}
info_log_path = {self.log_file}
protocols = imap
listen = {LOOPBACK}
shutdown_clients = yes
default_internal_user = {self.mail_user}
default_internal_group = {self.mail_group}
default_login_user = {self.login_user}
first_valid_uid = {min(self.mail_uid, 100)}
first_valid_gid = 0
mail_uid = {uid}
mail_gid = {self.mail_group}
mail_location = maildir:{self.mail_root}/%u/Maildir
mail_fsync = never
auth_mechanisms = plain login
auth_verbose = yes
disable_plaintext_auth = {"yes" if self.tls == "required" else "no"}
{ssl}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.passwd_file}
}}
userdb {{
  driver = static
  args = uid={self.mail_uid} gid={self.mail_gid} home={self.mail_root}/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    auto = subscribe
    special_use = \\Sent
  }}
}}
protocol imap {{
  rawlog_dir = {self.rawlog_root}/%u
  mail_max_userip_connections = 50
}}
service anvil {{
  chroot =
}}
service imap {{
  process_limit = 64
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
{listeners}
"""

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self, timeout: float = 15.0) -> None:
        self.config.write_text(self._conf())
        # In the foreground (-F): this object owns the master process and stops it itself.
        self._stderr = (self.root / "dovecot.stderr").open("ab")
        self.process = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.config)],
            stdin=subprocess.DEVNULL,
            stdout=self._stderr,
            stderr=self._stderr,
            # Its own process group: stop() ends every session process with the master.
            start_new_session=True,
        )
        self._wait_listening(timeout)

    def _wait_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        ports = [self.imap_port] + ([self.imaps_port] if self.tls == "required" else [])
        for port in ports:
            while True:
                try:
                    with socket.create_connection((LOOPBACK, port), timeout=1):
                        break
                except OSError:
                    if self.process is not None and self.process.poll() is not None:
                        pytest.fail(f"dovecot exited:\n{self.log_tail()}", pytrace=False)
                    if time.monotonic() > deadline:
                        pytest.fail(
                            f"dovecot is not listening on {port}:\n{self.log_tail()}",
                            pytrace=False,
                        )
                    time.sleep(0.05)

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the master (and with it every session); returns once it has exited."""
        process = getattr(self, "process", None)
        if process is None:
            return
        if process.poll() is None:
            # The whole group at once: the master alone waits for each child to go.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        # Session processes outlive the master (they finish their connection): a restart
        # as an operator sees it ends them too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        self.process = None
        self._stderr.close()

    def restart(self) -> None:
        self.stop()
        self.start()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        text = ""
        for path in (self.root / "dovecot.stderr", self.log_file):
            with contextlib.suppress(OSError):
                text += path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:]) or "(no dovecot log)"

    # -- users and mail ------------------------------------------------------------------------

    def add_user(self, name: str | None = None, password: str | None = None) -> DovecotUser:
        """A user with a random password; INBOX and Sent are created on first login.

        Without a name: the next of the users written before start (immediate). With one,
        on a running server: waits out the second in which Dovecot last read the passwd
        file (it re-reads it at most once a second)."""
        if name is None:
            return self._pool.pop(0)
        user = self._write_user(name, password)
        if self.process is not None:
            time.sleep(1.05 - (time.time() % 1.0) + 0.05)
        return user

    def _write_user(self, name: str, password: str | None = None) -> DovecotUser:
        user = DovecotUser(name, password or os.urandom(9).hex())
        self.users[name] = user
        rawlog = self.rawlog_root / name
        rawlog.mkdir(exist_ok=True)
        os.chown(rawlog, self.mail_uid, self.mail_gid)
        with self.passwd_file.open("a") as fh:
            fh.write(f"{user.name}:{{PLAIN}}{user.password}::::::\n")
        return user

    def client(self, user: DovecotUser) -> imaplib.IMAP4_SSL:
        """A verified IMAPS session (the test's own helper, not the code under test)."""
        conn = imaplib.IMAP4_SSL(
            self.host, self.imaps_port, ssl_context=self.pki.client_context(), timeout=10
        )
        try:
            conn.login(user.name, user.password)
        except BaseException:
            conn.shutdown()
            raise
        return conn

    def append(self, user: DovecotUser, messages: list[bytes], folder: str = "INBOX") -> list[int]:
        """APPEND each message over IMAPS; returns their UIDs (APPENDUID, RFC 4315)."""
        uids: list[int] = []
        conn = self.client(user)
        try:
            for raw in messages:
                typ, data = conn.append(folder, None, None, raw)
                assert typ == "OK", data
                text = data[0].decode() if data and isinstance(data[0], bytes) else ""
                # "[APPENDUID <uidvalidity> <uid>] Append completed."
                if "APPENDUID" in text:
                    uids.append(int(text.split("APPENDUID", 1)[1].split("]")[0].split()[1]))
        finally:
            conn.logout()
        return uids

    def drop_into_maildir(
        self, user: DovecotUser, messages: list[bytes], folder: str = "INBOX"
    ) -> None:
        """Write messages straight into the maildir's new/ (fast, for thousands of them);
        Dovecot assigns their UIDs at the next session, in file-name order."""
        box = self.mail_root / user.name / "Maildir"
        if folder != "INBOX":
            box = box / f".{folder}"
        for sub in ("new", "cur", "tmp"):
            (box / sub).mkdir(parents=True, exist_ok=True)
        for path in (
            self.mail_root / user.name,
            box.parent,
            box,
            *(box / s for s in ("new", "cur", "tmp")),
        ):
            if path.exists():
                os.chown(path, self.mail_uid, self.mail_gid)
        stamp = int(time.time())
        for index, raw in enumerate(messages):
            name = f"{stamp}.M{index:08d}P{os.getpid()}.outreach-test"
            tmp = box / "tmp" / name
            tmp.write_bytes(raw.replace(b"\r\n", b"\n"))
            os.chown(tmp, self.mail_uid, self.mail_gid)
            tmp.rename(box / "new" / name)

    def doveadm_run(self, *args: str) -> str:
        result = subprocess.run(
            [self.doveadm, "-c", str(self.config), *args],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"doveadm {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    def uidvalidity(self, user: DovecotUser, folder: str = "INBOX") -> int:
        out = self.doveadm_run(
            "-f", "flow", "mailbox", "status", "-u", user.name, "uidvalidity", folder
        )
        return int(out.strip().split("=", 1)[1])

    def change_uidvalidity(self, user: DovecotUser, folder: str = "INBOX") -> int:
        """Give the folder a new UIDVALIDITY (as a server rebuild would); returns it."""
        new = self.uidvalidity(user, folder) + 1000
        self.doveadm_run("mailbox", "update", "-u", user.name, "--uid-validity", str(new), folder)
        return new

    def rawlog(self, user: DovecotUser) -> bytes:
        """Everything the server received from clients of `user` (all sessions, in order)."""
        return b"".join(self.rawlog_sessions(user))

    def rawlog_sessions(self, user: DovecotUser) -> list[bytes]:
        """What the server received, one entry per logged-in session, oldest first."""
        directory = self.rawlog_root / user.name
        if not directory.is_dir():
            return []
        files = sorted(directory.glob("*.in"), key=lambda p: (p.stat().st_mtime_ns, p.name))
        return [p.read_bytes() for p in files]

    def message_count(self, user: DovecotUser, folder: str = "INBOX") -> int:
        out = self.doveadm_run(
            "-f", "flow", "mailbox", "status", "-u", user.name, "messages", folder
        )
        return int(out.strip().split("=", 1)[1])
