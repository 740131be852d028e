"""Who is acting: the OS login of the session, or the worker's configured operator.

Never taken from data typed into a form or a CSV: the audit trail must name the real person.
"""

from __future__ import annotations

import getpass
import os
import pwd


def os_login() -> str:
    """The login of the user running this process (the SSH session's user)."""
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:  # a uid with no passwd entry (some containers)
        return getpass.getuser()


def operator_id(*, headless: bool, configured: str | None) -> str:
    """The console always uses the OS login; the worker uses `[operator] id` when set."""
    if headless and configured:
        return configured
    return os_login()
