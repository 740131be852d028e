"""A real PostgreSQL server on loopback for the tests: `initdb` in a temporary directory,
`postgres` on 127.0.0.1 with a free port, a database made per run (and per test).

Why a real server: the multi-worker mode rests on what only PostgreSQL does (row locks,
`FOR UPDATE SKIP LOCKED`, advisory locks, READ COMMITTED snapshots); SQLite or a mock would
pass tests the real thing fails.

Speed over durability, because a test database is thrown away: `fsync=off`,
`synchronous_commit=off` and `full_page_writes=off`. Visibility and locking, which the tests
are about, are unchanged by these settings.

PostgreSQL refuses to run as root: under root the server runs as the `postgres` system user
(through `setpriv`, or `runuser`), and its directory is handed over to that user. The unix
socket lives in the temporary directory, so nothing touches the system's /var/run/postgresql.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import psycopg

LOOPBACK = "127.0.0.1"
SUPERUSER = "outreach"
#: The system account the server runs as when the tests run as root.
SYSTEM_USER = "postgres"
_BIN_GLOBS = ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin", "/usr/pgsql-*/bin")


class PostgresMissing(RuntimeError):
    """No PostgreSQL binaries here (`tools/ensure_test_servers.sh` installs them)."""


def find_bin_dir() -> Path:
    """The directory holding `initdb` and `postgres`, newest version first."""
    candidates: list[Path] = []
    for pattern in _BIN_GLOBS:
        candidates += [Path(p) for p in glob.glob(pattern)]
    found = shutil.which("initdb")
    if found:
        candidates.append(Path(found).parent)
    usable = [p for p in candidates if (p / "initdb").exists() and (p / "postgres").exists()]
    if not usable:
        raise PostgresMissing(
            "PostgreSQL is not installed (no initdb/postgres found); "
            "run tools/ensure_test_servers.sh"
        )
    return sorted(usable, key=lambda p: _version_key(str(p)), reverse=True)[0]


def _version_key(path: str) -> tuple[int, ...]:
    digits = [int(part) for part in path.replace("-", "/").split("/") if part.isdigit()]
    return tuple(digits)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One PostgreSQL cluster in a temporary directory. `start()`, then `url(name)`."""

    def __init__(self, *, bin_dir: Path | None = None, max_connections: int = 300) -> None:
        self.bin_dir = bin_dir or find_bin_dir()
        self.max_connections = max_connections
        self.host = LOOPBACK
        self.port = 0
        self.base: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._as_root = os.geteuid() == 0

    # -- life cycle -----------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> PostgresServer:
        # Not pytest's tmp_path: its parents are 0700 root directories the postgres user
        # could not enter. A directory of its own under /tmp, handed over to that user.
        self.base = Path(tempfile.mkdtemp(prefix="outreach-pg-"))
        data, sockets = self.base / "data", self.base / "socket"
        sockets.mkdir()
        if self._as_root:
            account = pwd.getpwnam(SYSTEM_USER)
            for path in (self.base, sockets):
                os.chown(path, account.pw_uid, account.pw_gid)
        self._run(
            str(self.bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust",
            "--encoding=UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        last_error = ""
        for _ in range(5):  # a free port can be taken between asking and binding
            self.port = free_port()
            log = (self.base / "postgres.log").open("ab")
            self._proc = subprocess.Popen(
                [
                    *self._prefix(), str(self.bin_dir / "postgres"), "-D", str(data),
                    "-h", LOOPBACK, "-p", str(self.port), "-k", str(sockets),
                    "-c", "fsync=off", "-c", "synchronous_commit=off",
                    "-c", "full_page_writes=off", "-c", f"max_connections={self.max_connections}",
                    "-c", "shared_buffers=64MB",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
            log.close()
            if self._wait_ready(timeout):
                return self
            last_error = self.log_tail()
            self._terminate()
        raise RuntimeError(f"PostgreSQL did not start:\n{last_error}")

    def stop(self) -> None:
        self._terminate()
        if self.base is not None:
            shutil.rmtree(self.base, ignore_errors=True)
            self.base = None

    @property
    def pid(self) -> int | None:
        """The postmaster's process id (its backends are its children)."""
        return self._proc.pid if self._proc is not None else None

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- databases ------------------------------------------------------------------------

    def url(self, database: str, driver: str = "postgresql+psycopg") -> str:
        """SQLAlchemy URL of `database` on this server."""
        return f"{driver}://{SUPERUSER}@{self.host}:{self.port}/{database}"

    def dsn(self, database: str = "postgres") -> str:
        return f"host={self.host} port={self.port} user={SUPERUSER} dbname={database}"

    def create_database(self, name: str, template: str | None = None) -> str:
        """CREATE DATABASE (a copy of `template` when given); returns its SQLAlchemy URL."""
        clause = f" TEMPLATE {_ident(template)}" if template else ""
        self.admin(f"CREATE DATABASE {_ident(name)}{clause}")
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.admin(f"DROP DATABASE IF EXISTS {_ident(name)} WITH (FORCE)")

    def admin(self, sql: str) -> None:
        """One statement outside a transaction (CREATE/DROP DATABASE need that)."""
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(sql.encode())

    def log_tail(self, lines: int = 30) -> str:
        if self.base is None or not (self.base / "postgres.log").exists():
            return ""
        text = (self.base / "postgres.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    # -- internals ------------------------------------------------------------------------

    def _prefix(self) -> list[str]:
        if not self._as_root:
            return []
        # setpriv execs the program itself (no supervising parent), so the pid we signal is
        # the postmaster's; runuser is the fallback where util-linux lacks setpriv.
        if shutil.which("setpriv"):
            return ["setpriv", f"--reuid={SYSTEM_USER}", f"--regid={SYSTEM_USER}",
                    "--init-groups", "--"]  # fmt: skip
        return ["runuser", "-u", SYSTEM_USER, "--"]

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            [*self._prefix(), *args], capture_output=True, text=True, check=False, timeout=120
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                return False
            with contextlib.suppress(psycopg.OperationalError):
                with psycopg.connect(self.dsn(), connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return True
            time.sleep(0.05)
        return False

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        # SIGINT is PostgreSQL's "fast" shutdown: disconnect clients, no checkpoint wait.
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a plain database name: {name!r}")
    return f'"{name}"'
