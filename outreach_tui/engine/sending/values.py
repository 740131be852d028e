"""What the send path takes and gives back (`SendRequest`, `SendOutcome`), shared by its
modules; `engine/sending/pipeline.py` is where callers import them from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Connection

from outreach_tui.core.policy import PolicyDecision
from outreach_tui.core.states import ErrorClass
from outreach_tui.db.records import AttemptToSend

Status = Literal["sent", "blocked", "deferred", "retry", "failed", "unknown", "skipped"]
#: A `skipped` outcome's message when the mailbox's lease went to another process.
LEASE_LOST = "mailbox leased elsewhere"
#: A cap counted under its shared lock came near full: the attempt waits for the next tick,
#: to be counted again under the cap's exclusive lock (engine/sending/cap_locks.py).
NEAR_A_CAP = "near a cap: counted again under its exclusive lock"


@dataclass(frozen=True, slots=True)
class SendRequest:
    """A one-off send (CLI `send`, a reply from the inbox)."""

    sender_email: str
    recipient_email: str
    subject: str
    body: str
    in_reply_to: str | None = None
    references: str | None = None
    postal_address: str | None = None


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """What the caller may show: a short sentence, never server details or secrets."""

    status: Status
    message: str
    attempt_id: int | None = None
    decision: PolicyDecision | None = None
    error_class: ErrorClass | None = None
    next_attempt_at: datetime | None = None

    @property
    def sent(self) -> bool:
        return self.status == "sent"


#: Called with the outcome inside the transaction that records it (see
#: `SendPipeline.send_attempt`), and the attempt as it was sent (None when it never reached
#: the server); returns when the mailbox may send next (its pacing gap), or None.
AfterSend = Callable[[Connection, SendOutcome, AttemptToSend | None], datetime | None]
