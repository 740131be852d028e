"""A private Dovecot that takes mail over LMTP too, with a quota: the bounce world's last hop.

Why: a real mail store answers the two failures an outreach sender meets most, in its own
words: an address it does not know (``550 5.1.1 ... User doesn't exist``) and a mailbox over its
quota (``552 5.2.2 ... Quota exceeded``). A Postfix in front of it (tests/servers/postfix.py)
turns those answers into the delivery status notifications the parser has to read, and the
notifications themselves are delivered back into this Dovecot over the same LMTP socket, to be
read over IMAP like any other reply.

The configuration is :class:`DovecotServer`'s with three changes: LMTP listens on a UNIX socket
(``<root>/lmtp``, reachable from a Postfix in another network namespace, since a UNIX socket is
a file), users come from the passwd file also as a userdb (so an unknown address is refused
instead of created), and the quota plugin counts every mailbox. Users made with
``add_user(..., quota="1")`` hold at most that many bytes.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers.dovecot import DovecotServer, DovecotUser

_STATIC_USERDB = "userdb {\n  driver = static\n"


@dataclass
class LmtpDovecot(DovecotServer):
    """``DovecotServer`` plus an LMTP socket, a passwd-file userdb and quotas."""

    @property
    def lmtp_socket(self) -> Path:
        return self.root / "lmtp"

    def _conf(self) -> str:
        conf = super()._conf()
        if "protocols = imap\n" not in conf or _STATIC_USERDB not in conf:
            pytest.fail("tests/servers/dovecot.py changed: update dovecot_lmtp.py", pytrace=False)
        conf = conf.replace("protocols = imap\n", "protocols = imap lmtp\n")
        start = conf.index(_STATIC_USERDB)
        end = conf.index("}\n", start) + 2
        userdb = f"""userdb {{
  driver = passwd-file
  args = username_format=%u {self.passwd_file}
  default_fields = uid={self.mail_uid} gid={self.mail_gid} home={self.mail_root}/%u
}}
"""
        conf = conf[:start] + userdb + conf[end:]
        return (
            conf
            + f"""
mail_plugins = $mail_plugins quota
protocol lmtp {{
  mail_plugins = $mail_plugins quota
  postmaster_address = postmaster@dovecot.test
}}
lmtp_rcpt_check_quota = yes
quota_full_tempfail = no
plugin {{
  quota = count:User quota
  quota_vsizes = yes
  quota_rule = *:storage=100M
}}
service lmtp {{
  unix_listener {self.lmtp_socket} {{
    mode = 0666
  }}
}}
"""
        )

    def _write_user(
        self, name: str, password: str | None = None, quota: str | None = None
    ) -> DovecotUser:
        user = super()._write_user(name, password)
        if quota is not None:
            # The line super() wrote, with the user's own quota rule as a userdb extra field.
            lines = self.passwd_file.read_text().splitlines()
            lines = [
                f"{line}userdb_quota_rule=*:storage={quota}"
                if line.startswith(f"{name}:")
                else line
                for line in lines
            ]
            self.passwd_file.write_text("\n".join(lines) + "\n")
        return user

    def add_quota_user(self, name: str, quota: str) -> DovecotUser:
        """A user whose mailbox holds at most `quota` (e.g. ``"1"`` byte: always full)."""
        user = self._write_user(name, quota=quota)
        if self.process is not None:
            time.sleep(1.05 - (time.time() % 1.0) + 0.05)
        return user

    def start(self, timeout: float = 15.0) -> None:
        super().start(timeout)
        deadline = time.monotonic() + timeout
        while not self.lmtp_socket.exists():
            if time.monotonic() > deadline:
                pytest.fail(f"dovecot made no LMTP socket:\n{self.log_tail()}", pytrace=False)
            time.sleep(0.05)
        os.chmod(self.root, 0o755)
