"""Fixtures of the console's tests: one deterministic world (frozen clock, fixed operator,
seeded sandbox data, a planned queue, replies, a paused mailbox) and an App on it that
never sends on its own (the `sink` fixture serves the sandbox's SMTP server for the tests
whose key sends)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
import textual.constants
from sqlalchemy import select

from outreach_tui.db import tables as t
from outreach_tui.demo.seed import PASSWORD_ENV
from outreach_tui.demo.world import Sandbox, build_sandbox
from outreach_tui.engine import Engine
from outreach_tui.engine.clock import SimulatedClock
from outreach_tui.tui.app import OutreachApp

#: A Wednesday morning: every sandbox campaign's window is open.
FROZEN = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
#: More than one page of the Leads pane (PAGE_SIZE 200).
LEADS = 240
PAUSED_MAILBOX = "lee@brandmail.io"
#: (kind, mailbox, lead, minutes before FROZEN) — one answer of each common class, played
#: by the sandbox as raw messages through the poller's classification and effects.
REPLIES = (
    ("interested", "alex@brand-news.com", "ben.1@benstudio.fr", 50),
    ("not_interested", "sam@brand-news.com", "chloe.2@chllabs.com", 40),
    ("out_of_office", "kim@brandmail.io", "dev.3@devworks.co.uk", 30),
    ("unsubscribe", "noor@outreach-hq.net", "eva.4@evamedia.nl", 20),
    ("bounce_hard", "alex@brand-news.com", "farid.5@fardigital.com", 10),
)
#: Received while `[replies] mode` was "suggest": its suppression waits for review.
REVIEWED = ("not_interested", "kim@brandmail.io", "greta.6@gregroup.ca", 60)


REPORT_KINDS = ("bounce_hard", "bounce_soft", "complaint")


def record_sent(engine: Engine, mailbox: str, lead: str, subject: str) -> str:
    """A one-off message `mailbox` sent `lead` yesterday, in the ledger only (no counters,
    no queue): what a bounce or complaint about it can quote. Its Message-ID."""
    message_id = f"<sent-{lead}@{mailbox.split('@')[1]}>"
    sent_at = FROZEN - timedelta(days=1)
    with engine.db.begin() as conn:
        mailbox_id = conn.execute(
            select(t.mailbox.c.id).where(t.mailbox.c.email == mailbox)
        ).scalar_one()
        lead_id = conn.execute(select(t.lead.c.id).where(t.lead.c.email == lead)).scalar_one()
        conn.execute(
            t.attempt.insert().values(
                lead_id=lead_id, mailbox_id=mailbox_id, operator_id=engine.operator_id,
                sender_email=mailbox, recipient_email=lead,
                recipient_domain=lead.split("@")[1], subject=subject, body="(sent before)",
                idempotency_key=f"sent-{lead}"[:64], state="sent", message_id=message_id,
                sent_at=sent_at, created_at=sent_at, updated_at=sent_at,
            )
        )  # fmt: skip
    return message_id


@dataclass
class World:
    sandbox: Sandbox
    clock: SimulatedClock

    @property
    def engine(self) -> Engine:
        return self.sandbox.engine


@pytest.fixture(autouse=True)
def deterministic_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing on screen depends on who runs the tests, their terminal or their variables."""
    monkeypatch.setattr("outreach_tui.engine.identity.os_login", lambda: "operator")
    monkeypatch.setenv(PASSWORD_ENV, "sandbox-password-for-tests")
    monkeypatch.delenv("NO_COLOR", raising=False)
    # Textual reads TEXTUAL_FILTERS and TEXTUAL_COLOR_SYSTEM once, at import: pin what a
    # developer's environment may have set.
    monkeypatch.setattr(textual.constants, "FILTERS", "")
    monkeypatch.setattr(textual.constants, "COLOR_SYSTEM", "truecolor")


@pytest.fixture
def world(tmp_path: Path, deterministic_console: None) -> Iterator[World]:
    """The sandbox's campaigns, mailboxes and leads with the queue planned, one reply of each
    class in the Inbox and one mailbox paused by hand. Nothing is sent."""
    clock = SimulatedClock(FROZEN)
    sandbox = build_sandbox(tmp_path, clock=clock, leads=LEADS)
    engine = sandbox.engine
    engine.plan()
    with engine.db.connect() as conn:
        subjects = dict(
            conn.execute(select(t.attempt.c.recipient_email, t.attempt.c.subject)).all()
        )
    engine.settings.replies.mode = "suggest"
    for kind, mailbox, lead, minutes in (REVIEWED, *REPLIES):
        subject = subjects.get(lead, "your email")
        # A report acts only about a message this mailbox sent: the bounce is about one.
        ours = record_sent(engine, mailbox, lead, subject) if kind in REPORT_KINDS else None
        sandbox.world.remember(mailbox, lead, subject, message_id=ours)
        sandbox.world.receive(kind, mailbox, lead, FROZEN - timedelta(minutes=minutes))
        engine.settings.replies.mode = "enforce"
    paused = next(m for m in engine.queries.mailboxes() if m.email == PAUSED_MAILBOX)
    engine.actions.pause_mailbox(paused.id, reason="warm-up review")
    yield World(sandbox, clock)
    # The SMTP sink's socket was bound for the settings; only the `sink` fixture serves it.
    if sandbox.sink.server is None:
        sandbox.sink.sock.close()
    engine.close_sync()


@pytest_asyncio.fixture
async def sink(world: World) -> AsyncIterator[World]:
    """The sandbox's SMTP server (STARTTLS, AUTH, a CA made at start-up) served on loopback
    in the test's event loop: a key that sends reaches it through the real transport."""
    await world.sandbox.sink.start()
    yield world
    await world.sandbox.sink.stop()


@pytest.fixture
def make_app(world: World) -> Callable[[], OutreachApp]:
    """The console as the CLI builds it, minus the scheduler (so nothing sends) and with the
    live refresh slowed right down (so only the operator's actions change the screen)."""

    def make() -> OutreachApp:
        app = OutreachApp(world.engine, run_scheduler=False, sandbox=None, refresh_seconds=3600)
        app.theme = "textual-dark"
        app.animation_level = "none"
        return app

    return make
