"""The sandbox behind `outreach-tui demo`: a temporary SQLite database with campaigns,
mailboxes on several domains and leads, and an in-process mail world that plays the
recipients: it accepts, hard-bounces a few percent at RCPT, and answers some later with
replies (interested, not interested, out of office, unsubscribe, wrong person, a ticket
system's auto-reply), DSN bounces (hard and soft) and, from the bad list, a spam complaint.

The answers are raw RFC 5322 messages threaded to our Message-ID, and they go through the
poller's own classification and effects (see `SandboxWorld.receive`): what the demo shows is
what the engine makes of real-looking mail.

Nothing leaves the machine: the engine sends through the real SMTP transport to the sink on
127.0.0.1 (demo/sink.py), which hands each message to this world. Every decision the world
makes is derived from the recipient and a seed, so the same sandbox plays the same way twice.
What the sandbox starts with (mailboxes, campaigns, leads, history) is demo/seed.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import secrets
import tempfile
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.parser import BytesHeaderParser
from email.policy import default
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from outreach_tui.db.repos.sandbox import next_delivery_uid
from outreach_tui.demo.messages import (
    HUMAN_TEXT,
    Sent,
    complaint_report,
    delivery_status,
    human_reply,
)
from outreach_tui.demo.seed import BAD_MAILBOX, PASSWORD_ENV, sandbox_settings, seed_world
from outreach_tui.engine import Engine, build_engine
from outreach_tui.engine.clock import Clock, SystemClock
from outreach_tui.engine.inbox.effects import Applied, InboundMessage

log = logging.getLogger(__name__)

#: What the recipients who answer say (the kinds the reply classifier knows), in turn.
REPLY_KINDS = (
    "interested",
    "not_interested",
    "out_of_office",
    "unsubscribe",
    "wrong_person",
    "auto_reply",
)
#: The sandbox's mailboxes have no IMAP server: their answers land in this folder as if
#: fetched from it.
SANDBOX_FOLDER = "INBOX"
SANDBOX_UIDVALIDITY = 1
DELIVERED_KEPT = 200
#: Recipients whose last message the sandbox remembers for their answer to quote. Answers
#: come seconds after the send, so the newest few thousand are plenty; keeping every
#: recipient grew the demo's memory with every send of a long run.
SENT_KEPT = 5_000


@dataclass
class SandboxWorld:
    """Decides how the recipients of the sandbox behave and plays their answers back.

    An answer is a raw message (a reply threaded to our Message-ID, a DSN, an ARF report)
    that goes through the poller's own path: `analyse` classifies it, `ReplyEffects.apply`
    stores it and applies its effects (stop, suppress, reschedule, counters) in one
    transaction, exactly as for a message fetched over IMAP."""

    engine: Engine | None = None
    seed: str = "outreach-demo"
    bounce_percent: int = 4
    reply_percent: int = 30
    dsn_percent: int = 3
    soft_bounce_percent: int = 2
    complaint_percent: int = 5
    """Of the bad list's recipients only: a spam complaint through the feedback loop."""
    pending: list[tuple[datetime, str, str, str]] = field(default_factory=list)
    sent: dict[str, Sent] = field(default_factory=dict)
    """Our last message to each recipient, as the sink took it (subject, Message-ID)."""
    delivered: deque[tuple[str, str, bytes]] = field(
        default_factory=lambda: deque(maxlen=DELIVERED_KEPT)
    )
    """(sender, recipient, raw) of the latest messages the sink accepted."""
    received: int = 0

    def roll(self, *parts: str) -> int:
        digest = hashlib.sha256("\x1f".join((self.seed, *parts)).encode()).digest()
        return int.from_bytes(digest[:4], "big") % 100

    # -- what the sink asks ---------------------------------------------------------------

    def refuses(self, sender: str, recipient: str) -> bool:
        """A hard bounce at RCPT (550 5.1.1) for a few percent; many more for the bad list."""
        bad = sender == BAD_MAILBOX
        return self.roll("bounce", recipient) < (20 if bad else self.bounce_percent)

    def accepted(self, sender: str, recipient: str, message: bytes) -> None:
        """A message reached the sink: maybe a reply, maybe a DSN bounce later."""
        self.received += 1
        self.delivered.append((sender, recipient, message))
        headers = BytesHeaderParser(policy=default).parsebytes(message)
        self.remember(
            sender,
            recipient,
            str(headers.get("Subject") or ""),
            message_id=str(headers.get("Message-ID") or "").strip() or None,
            sender_name=parseaddr(str(headers.get("From") or ""))[0],
        )
        if self.engine is None:
            return
        now = self.engine.clock.now()
        roll = self.roll("reply", recipient)
        later = now + timedelta(seconds=4 + roll % 20)
        if self.roll("dsn", recipient) < self.dsn_percent:
            later = now + timedelta(seconds=3 + roll % 10)
            self.pending.append((later, "bounce_hard", sender, recipient))
        elif self.roll("soft", recipient) < self.soft_bounce_percent:
            self.pending.append((later, "bounce_soft", sender, recipient))
        elif sender == BAD_MAILBOX and self.roll("fbl", recipient) < self.complaint_percent:
            self.pending.append((later, "complaint", sender, recipient))
        elif roll < self.reply_percent:
            kind = REPLY_KINDS[roll % len(REPLY_KINDS)]
            self.pending.append((later, kind, sender, recipient))

    def remember(
        self,
        mailbox: str,
        recipient: str,
        subject: str,
        *,
        message_id: str | None = None,
        sender_name: str = "",
    ) -> None:
        """Note what we sent `recipient` (what their answer quotes and threads to)."""
        self.sent.pop(recipient, None)  # re-inserted last: the dict is oldest-first
        self.sent[recipient] = Sent(mailbox, recipient, subject, message_id, sender_name)
        if len(self.sent) > SENT_KEPT:
            del self.sent[next(iter(self.sent))]

    # -- answers arrive -----------------------------------------------------------------

    async def play_replies(self) -> None:
        """A job (in place of the IMAP poller, with the poll job): the answers whose time has
        come reach the mailbox and go through the poller's classification and effects."""
        if self.engine is None:
            return
        now = self.engine.clock.now()
        due = [p for p in self.pending if p[0] <= now]
        self.pending = [p for p in self.pending if p[0] > now]
        for at, kind, mailbox, lead in due:
            try:
                await asyncio.to_thread(self.receive, kind, mailbox, lead, at)
            except Exception:  # one bad answer must not stop the others
                log.exception("the sandbox could not deliver a %s from %s", kind, lead)

    def message(self, kind: str, mailbox: str, lead: str, at: datetime) -> bytes:
        """The raw message `lead` (or their mail system) sends `mailbox` at `at`."""
        original = self.sent.get(lead) or Sent(mailbox, lead, "your email", None)
        if kind in ("bounce_hard", "bounce_soft"):
            return delivery_status(original, at, permanent=kind == "bounce_hard")
        if kind == "complaint":
            return complaint_report(original, at)
        if kind not in HUMAN_TEXT:
            raise ValueError(f"the sandbox cannot play a {kind!r}")
        return human_reply(kind, original, at)

    def receive(self, kind: str, mailbox: str, lead: str, at: datetime) -> Applied:
        """Deliver an answer of `kind` to `mailbox`'s INBOX and apply it as the poller
        would: classified from its bytes, stored with a UID, effects in the same
        transaction."""
        engine = self.engine
        assert engine is not None
        raw = self.message(kind, mailbox, lead, at)
        analysis = engine.inbox.poller.analyse(raw, fallback_date=at.date())
        with engine.ctx.db.write() as conn:
            mailbox_id, uid = next_delivery_uid(conn, mailbox, SANDBOX_FOLDER, SANDBOX_UIDVALIDITY)
            message = InboundMessage(
                mailbox_id, SANDBOX_FOLDER, SANDBOX_UIDVALIDITY, uid, raw, internaldate=at
            )
            return engine.inbox.effects.apply(conn, message, analysis, engine.clock.now())


@dataclass
class Sandbox:
    engine: Engine
    world: SandboxWorld
    sink: Any
    directory: Path

    async def start(self) -> None:
        await self.sink.start()

    async def stop(self) -> None:
        await self.sink.stop()

    def add_jobs(self, jobs: Any) -> None:
        """The sandbox's stand-in for the reply poller runs with the poll job."""
        jobs.hooks["poll"].append(self.world.play_replies)


def build_sandbox(
    directory: Path | None = None, *, clock: Clock | None = None, leads: int = 240, **overrides: Any
) -> Sandbox:
    """Create the sandbox database, its SMTP sink (served once `start()` runs inside the
    event loop) and an engine that sends to it through the real transport."""
    from outreach_tui.demo.sink import SandboxSink

    directory = directory or Path(tempfile.mkdtemp(prefix="outreach-sandbox-"))
    password = os.environ.setdefault(PASSWORD_ENV, secrets.token_urlsafe(12))
    world = SandboxWorld()
    sink = SandboxSink(world, directory, password)
    settings = sandbox_settings(directory, sink.port, sink.ca_file, **overrides)
    engine = build_engine(settings, headless=False, clock=clock or SystemClock())
    world.engine = engine
    seed_world(engine, leads)
    return Sandbox(engine, world, sink, directory)
