"""The bounce world's second sender: Exim, sending the same scenarios as Postfix where they apply.

Exim's reports come back to their own mailbox (``eve@outreach.test``) and carry their own
Message-ID marker (``<bwx-NAME@outreach.test>``). What an Exim report is (a failure or a delay
warning, and whether retries ran out) is read from Exim's own subject and wording, never from the
parser under test; the class is the scenario's (it says why the receiver refused, whoever sent).
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.servers.bounce_scenarios import SCENARIOS, Scenario
from tests.servers.exim import EximInstance

EXIM_SENDER = "eve@outreach.test"
EXIM_MESSAGE_ID = "<bwx-{name}@outreach.test>"
EXIM_MARKER = re.compile(rb"bwx-([a-z0-9-]+)@outreach\.test")
#: Scenarios Exim can play: not the success reports (Exim's command line takes no NOTIFY), not
#: the one greylisting counter Postfix already used up.
EXIM_SCENARIOS: tuple[Scenario, ...] = tuple(
    s for s in SCENARIOS if s.notify is None and s.final and s.name != "greylist-then-ok"
)
_EXPIRED_WORDS = re.compile(
    rb"retry timeout exceeded|have been failing for a long time|retry time not reached", re.I
)


def start_exim(root: Path, netns: str, lmtp_socket: Path) -> EximInstance:
    exim = EximInstance(
        root=root / "exim",
        netns=netns,
        hostname="exim.outreach.test",
        lmtp_socket=lmtp_socket,
        local_domains=("outreach.test", "dovecot.test"),
    )
    exim.start()
    return exim


def exim_kind(raw: bytes) -> str:
    """failed or delayed, from Exim's subject lines."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    if re.search(rb"^Subject: Warning: message \S+ delayed", head, re.M | re.I):
        return "delayed"
    if re.search(rb"^Subject: Mail delivery failed", head, re.M | re.I):
        return "failed"
    return "unknown"


def exim_expired(raw: bytes) -> bool:
    """Exim's own words for "returned because retries ran out"."""
    return exim_kind(raw) == "failed" and bool(_EXPIRED_WORDS.search(raw))
