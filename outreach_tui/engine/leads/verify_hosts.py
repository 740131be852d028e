"""Host health in one verifier run: mail hosts that refused connections or never greeted.

Such a host answers the same for every address it serves, so it is taken at its word for a
while (`HOST_DOWN_SECONDS`): its other addresses get the same answer without another session.
"""

from __future__ import annotations

import asyncio

from outreach_tui.config import VerifySettings
from outreach_tui.core.verification import VerificationStatus
from outreach_tui.engine.leads.verify_facts import Lru
from outreach_tui.mail.probe import FailureKind, SessionFailure

V = VerificationStatus

#: How long a host that refused or never greeted is taken at its word within a run.
HOST_DOWN_SECONDS = 600.0


class HostHealth:
    """The hosts found down in this run (keyed by the IP address connected to)."""

    def __init__(self, settings: VerifySettings) -> None:
        self.settings = settings
        self._down: Lru[tuple[float, VerificationStatus, str]] = Lru()

    def note_down(self, address: str, name: str, failure: SessionFailure) -> None:
        """A host that refuses connections or never greets answers the same for all its
        addresses: remember it for a while instead of asking again."""
        if failure.kind is FailureKind.REFUSED:
            status, why = V.CONNECTION_REFUSED, f"{name} refused the connection: {failure.detail}"
        elif failure.kind is FailureKind.TIMEOUT:
            status = V.TIMEOUT
            why = f"{name}: no reply at {failure.stage} within {self.settings.timeout_seconds:g} s"
        else:
            return
        until = asyncio.get_running_loop().time() + HOST_DOWN_SECONDS
        self._down.put(address, (until, status, why))

    def down(self, address: str) -> tuple[VerificationStatus, str] | None:
        """(status, why) while the host at `address` counts as down, else None."""
        entry = self._down.hit(address)
        if entry is None:
            return None
        until, status, why = entry
        if until < asyncio.get_running_loop().time():
            del self._down[address]
            return None
        return status, why
