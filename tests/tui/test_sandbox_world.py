"""The demo's recipients answer with raw messages that go through the poller's path: the
classifier reads each one, and its effects (stop, suppress, reschedule, counters) are the
production ones. Nothing here is a label the sandbox chose."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from outreach_tui.core.days import local_day
from outreach_tui.core.states import CounterScope
from outreach_tui.db import tables as t
from outreach_tui.mail.inbound import analyse
from tests.tui.conftest import FROZEN, record_sent

MAILBOX = "sam@brand-news.com"
KINDS = [
    "interested",
    "not_interested",
    "unsubscribe",
    "out_of_office",
    "wrong_person",
    "auto_reply",
    "bounce_hard",
    "bounce_soft",
    "complaint",
]
#: kind → (suppressed, lead status after, counter that counted it)
EFFECTS = {
    "interested": (False, "replied", None),
    "not_interested": (True, "replied", None),
    "unsubscribe": (True, "unsubscribed", None),
    "out_of_office": (False, "new", None),
    "wrong_person": (False, "replied", None),
    "auto_reply": (False, "new", None),
    # A DSN is about a send counted when the server accepted it: a report, not an attempt.
    "bounce_hard": (True, "bounced", CounterScope.MAILBOX_BOUNCE_REPORT),
    "bounce_soft": (False, "new", CounterScope.MAILBOX_SOFT_BOUNCE),
    "complaint": (True, "suppressed", CounterScope.MAILBOX_COMPLAINT),
}


def fresh_lead(world, kind: str) -> str:
    """A lead of its own per kind, past the ones conftest's replies are from (ids 2 to 7):
    German, French and English ones among them."""
    leads = world.engine.queries.leads(limit=40).rows
    return leads[10 + KINDS.index(kind)].email


def counter(world, scope: str) -> int:
    day = local_day(FROZEN, world.engine.settings.tz)
    with world.engine.db.connect() as conn:
        return int(
            conn.execute(
                select(func.coalesce(func.sum(t.daily_counter.c.count), 0)).where(
                    t.daily_counter.c.scope == scope,
                    t.daily_counter.c.key == MAILBOX,
                    t.daily_counter.c.day == day,
                )
            ).scalar()
        )


@pytest.mark.parametrize("kind", KINDS)
def test_each_answer_is_classified_from_its_bytes_and_has_its_effects(world, kind):
    lead = fresh_lead(world, kind)
    suppresses, status, scope = EFFECTS[kind]
    before = counter(world, scope) if scope else 0
    sandbox = world.sandbox.world
    # A report acts only about a message this mailbox sent (core/event_effects.py).
    ours = record_sent(world.engine, MAILBOX, lead, "Quick question")
    sandbox.remember(MAILBOX, lead, "Quick question", message_id=ours)

    raw = sandbox.message(kind, MAILBOX, lead, FROZEN - timedelta(minutes=5))
    assert analyse(raw).kind == kind  # a real message, read by the real classifier
    applied = sandbox.receive(kind, MAILBOX, lead, FROZEN - timedelta(minutes=5))

    assert applied.kind == kind and not applied.duplicate
    with world.engine.db.connect() as conn:
        reply = conn.execute(select(t.reply).where(t.reply.c.id == applied.reply_id)).one()
        listed = conn.execute(
            select(t.suppression.c.source).where(t.suppression.c.value == lead)
        ).scalar()
        now = conn.execute(select(t.lead.c.status).where(t.lead.c.email == lead)).scalar()
    assert (reply.classification, reply.affected_email, reply.folder) == (kind, lead, "INBOX")
    assert reply.raw == raw  # kept, so the classification can be audited
    assert (listed == f"reply:{reply.id}") is suppresses
    assert now == status
    if scope:
        assert counter(world, scope) == before + 1


def test_out_of_office_holds_the_queued_step_until_after_the_stated_return(world):
    lead = fresh_lead(world, "out_of_office")
    sandbox = world.sandbox.world
    sandbox.remember(MAILBOX, lead, "Quick question")
    applied = sandbox.receive("out_of_office", MAILBOX, lead, FROZEN)
    with world.engine.db.connect() as conn:
        back = conn.execute(
            select(t.reply.c.return_date).where(t.reply.c.id == applied.reply_id)
        ).scalar()
        # Its first step is queued already: the queued send waits.
        due = conn.execute(
            select(t.attempt.c.next_attempt_at)
            .join(t.lead, t.lead.c.id == t.attempt.c.lead_id)
            .where(t.lead.c.email == lead)
        ).scalar()
    assert back == (FROZEN + timedelta(days=5)).date()  # "until Monday, 9 March 2026"
    assert due.date() > back


def test_each_answer_gets_the_next_uid_of_its_mailbox_and_a_replay_is_not_applied_twice(world):
    sandbox = world.sandbox.world
    interested, auto = fresh_lead(world, "interested"), fresh_lead(world, "auto_reply")

    def uid(reply_id: int) -> int:
        with world.engine.db.connect() as conn:
            return conn.execute(select(t.reply.c.uid).where(t.reply.c.id == reply_id)).scalar()

    first = sandbox.receive("interested", MAILBOX, interested, FROZEN)
    second = sandbox.receive("auto_reply", MAILBOX, auto, FROZEN)
    assert uid(second.reply_id) == uid(first.reply_id) + 1
    # The same message (same Message-ID) again at a new UID: recognised, nothing applied
    # twice; the stored reply now points at where the message is.
    again = sandbox.receive("interested", MAILBOX, interested, FROZEN)
    assert again.duplicate and again.reply_id == first.reply_id
    assert uid(first.reply_id) == uid(second.reply_id) + 1


@pytest.mark.asyncio
async def test_an_answer_threads_to_the_message_the_sink_received(sink):
    world = sink
    engine = world.engine
    sandbox = world.sandbox.world
    item = next(
        i for i in engine.approvals.page(limit=50) if not sandbox.refuses(i.sender, i.recipient)
    )
    engine.approvals.approve([item.attempt_id])
    outcome = await engine.send_attempt(item.attempt_id)
    await engine.transport.close()
    assert outcome.sent, outcome.message

    sent = sandbox.sent[item.recipient]
    with engine.db.connect() as conn:
        our_id = conn.execute(
            select(t.attempt.c.message_id).where(t.attempt.c.id == item.attempt_id)
        ).scalar()
    assert (sent.mailbox, sent.subject, sent.message_id) == (item.sender, item.subject, our_id)

    applied = sandbox.receive("interested", item.sender, item.recipient, FROZEN)
    assert applied.attempt_id == item.attempt_id  # by In-Reply-To, not by a guess


def test_the_sandbox_remembers_only_the_newest_recipients_so_a_long_run_stays_flat():
    from outreach_tui.demo.world import SENT_KEPT, SandboxWorld

    world = SandboxWorld()
    for n in range(SENT_KEPT + 10):
        world.remember("alex@demo.test", f"lead{n}@x.test", "Hello")
    world.remember("alex@demo.test", "lead10@x.test", "Again")  # sent again: newest now

    assert len(world.sent) == SENT_KEPT
    assert "lead0@x.test" not in world.sent and "lead11@x.test" in world.sent
    world.remember("alex@demo.test", "new@x.test", "Hello")
    assert "lead10@x.test" in world.sent and "lead11@x.test" not in world.sent
