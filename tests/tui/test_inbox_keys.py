"""The Inbox's keys: R answers a reply (a real message through the send pipeline to the
sandbox's SMTP server on loopback), c/d settle a suppression SUGGEST mode held back, l
relabels a reply and its effects follow. Each test checks the database and the screen."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default

import pytest
from sqlalchemy import select

from outreach_tui.core.states import AttemptState, LeadStatus
from outreach_tui.db import tables as t
from outreach_tui.tui.widgets.choice import ChoiceScreen
from outreach_tui.tui.widgets.compose_reply import ReplyScreen
from outreach_tui.tui.widgets.confirm import ConfirmScreen
from tests.tui.conftest import REVIEWED
from tests.tui.helpers import notified, screen_text, settle, show_pane, table_of
from tests.tui.test_bindings import answer, audit_rows

pytestmark = pytest.mark.asyncio

SIZE = (80, 24)
INTERESTED = "ben.1@benstudio.fr"
REVIEWED_LEAD = REVIEWED[2]


def reply_row(world, from_email: str):
    with world.engine.db.connect() as conn:
        return conn.execute(select(t.reply).where(t.reply.c.from_email == from_email)).one()


def suppressed(world, email: str):
    with world.engine.db.connect() as conn:
        return conn.execute(select(t.suppression).where(t.suppression.c.value == email)).first()


def lead_status(world, email: str) -> str:
    with world.engine.db.connect() as conn:
        return conn.execute(select(t.lead.c.status).where(t.lead.c.email == email)).scalar()


async def highlight(pilot, pane, from_email: str) -> None:
    for _ in range(len(table_of(pane).keys)):
        if pane._current().from_email == from_email:
            return
        await pilot.press("down")
    raise AssertionError(f"{from_email} is not in the inbox")


# -- R: answer ------------------------------------------------------------------------------


async def test_R_sends_a_threaded_reply_from_the_receiving_mailbox(sink, make_app):
    world = sink
    answered = reply_row(world, INTERESTED)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_pane(pilot, "6")
        await highlight(pilot, pane, INTERESTED)
        await pilot.press("R")
        await settle(pilot)
        assert isinstance(app.screen, ReplyScreen)
        editor = screen_text(app)
        assert f"To {INTERESTED}" in editor and "From alex@brand-news.com" in editor
        await pilot.press(*"Thanks Ben, Thursday at 10?")
        await pilot.press("ctrl+s")
        await settle(pilot)
        await answer(pilot, f"Send this reply to {INTERESTED}?", "y")

        # The sandbox's SMTP server took it, threaded to the message answered.
        sender, recipient, raw = world.sandbox.world.delivered[-1]
        assert (sender, recipient) == ("alex@brand-news.com", INTERESTED)
        sent = message_from_bytes(raw, policy=default)
        assert sent["In-Reply-To"] == answered.message_id
        assert answered.message_id in sent["References"]
        assert sent["Subject"] == "Re: " + answered.subject.removeprefix("RE: ")
        assert "Thanks Ben, Thursday at 10?" in sent.get_body(("plain",)).get_content()
        # Through the pipeline: a sent attempt, the reply handled, both audited.
        with world.engine.db.connect() as conn:
            attempt = conn.execute(
                select(t.attempt).where(t.attempt.c.recipient_email == INTERESTED)
                .where(t.attempt.c.state == AttemptState.SENT.value)
            ).one()  # fmt: skip
        assert reply_row(world, INTERESTED).handled
        assert [a.attempt_id for a in audit_rows(world, "reply_sent")] == [attempt.id]
        assert f"reply sent to {INTERESTED}" in notified(app)


async def test_R_then_escape_sends_nothing(world, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_pane(pilot, "6")
        await highlight(pilot, pane, INTERESTED)
        await pilot.press("R")
        await settle(pilot)
        await pilot.press(*"never mind", "escape")
        await settle(pilot)
        assert not isinstance(app.screen, ReplyScreen | ConfirmScreen)
    assert audit_rows(world, "reply_sent") == []
    assert not reply_row(world, INTERESTED).handled


async def test_R_on_a_bounce_says_there_is_nobody_to_answer(world, make_app):
    bounce = reply_row(world, "mailer-daemon@brand-news.com")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_pane(pilot, "6")
        await highlight(pilot, pane, bounce.from_email)
        await pilot.press("R")
        await settle(pilot)
        assert not isinstance(app.screen, ReplyScreen)
        assert f"reply {bounce.id} is a bounce_hard: nobody to answer" in notified(app)
    with world.engine.db.connect() as conn:
        assert (
            conn.execute(select(t.attempt.c.id).where(t.attempt.c.in_reply_to.is_not(None))).first()
            is None
        )


# -- SUGGEST-mode review ----------------------------------------------------------------------


async def test_the_reply_waiting_for_review_is_marked_and_explained(world, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_pane(pilot, "6")
        await highlight(pilot, pane, REVIEWED_LEAD)
        row = pane._current()
        assert str(table_of(pane).get_row(str(row.id))[3]) == "review"
        screen = screen_text(app)
        assert f"review: suppress {REVIEWED_LEAD}?" in screen
        assert "(rules: rule not_interested/en: 'not interested')" in screen

        await pilot.press("slash")
        await settle(pilot)
        await pilot.press(*"review", "enter")
        await settle(pilot)
        assert table_of(pane).keys == [str(row.id)]


async def test_c_confirms_the_suggested_suppression(world, make_app):
    assert suppressed(world, REVIEWED_LEAD) is None
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_pane(pilot, "6")
        await highlight(pilot, pane, REVIEWED_LEAD)
        row = pane._current()
        await pilot.press("c")
        await settle(pilot)
        await answer(pilot, f"Suppress {REVIEWED_LEAD}?", "y")

        entry = suppressed(world, REVIEWED_LEAD)
        assert entry is not None and entry.source == f"reply:{row.id}"
        assert reply_row(world, REVIEWED_LEAD).review == "confirmed"
        assert audit_rows(world, "suggestion_confirmed")[0].user_id == "operator"
        assert str(table_of(pane).get_row(str(row.id))[3]) == "✓"
        assert "review:" not in screen_text(app)


async def test_d_dismisses_the_suggestion_and_suppresses_nothing(world, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_pane(pilot, "6")
        await highlight(pilot, pane, REVIEWED_LEAD)
        await pilot.press("d")
        await settle(pilot)
        await answer(pilot, f"Keep {REVIEWED_LEAD} (do not suppress)?", "y")

        assert suppressed(world, REVIEWED_LEAD) is None
        assert reply_row(world, REVIEWED_LEAD).review == "dismissed"
        assert audit_rows(world, "suggestion_dismissed")[0].user_id == "operator"
        assert "review" not in screen_text(app)


@pytest.mark.parametrize("key", ["c", "d"])
async def test_c_and_d_on_a_reply_without_review_change_nothing(world, make_app, key):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_pane(pilot, "6")
        await highlight(pilot, pane, INTERESTED)
        await pilot.press(key)
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        assert "nothing waits for review on this reply" in notified(app)
    assert (
        audit_rows(world, "suggestion_confirmed") == audit_rows(world, "suggestion_dismissed") == []
    )


# -- l: relabel -------------------------------------------------------------------------------


async def test_l_relabels_a_reply_as_unsubscribe_and_suppresses_the_sender(world, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_pane(pilot, "6")
        await highlight(pilot, pane, INTERESTED)
        row = pane._current()
        await pilot.press("l")
        await settle(pilot)
        assert isinstance(app.screen, ChoiceScreen)
        assert f"What is the reply from {INTERESTED}?" in screen_text(app)
        await pilot.press("3")  # unsubscribe
        await settle(pilot)
        await answer(pilot, f"Relabel the reply from {INTERESTED} as unsubscribe?", "y")

        stored = reply_row(world, INTERESTED)
        assert (stored.classification, stored.classified_by) == ("unsubscribe", "operator")
        assert suppressed(world, INTERESTED).source == f"reply:{row.id}"
        assert lead_status(world, INTERESTED) == LeadStatus.UNSUBSCRIBED.value
        assert audit_rows(world, "relabelled")[0].user_id == "operator"
        assert str(table_of(pane).get_row(str(row.id))[2]) == "unsubscribe"


async def test_l_relabels_the_reviewed_reply_as_interested_so_nothing_is_suppressed(
    world, make_app
):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_pane(pilot, "6")
        await highlight(pilot, pane, REVIEWED_LEAD)
        await pilot.press("l")
        await settle(pilot)
        await pilot.press("enter")  # the list opens on the current class: not_interested
        await settle(pilot)
        assert "already not_interested: nothing changed" in notified(app)
        await pilot.press("l")
        await settle(pilot)
        await pilot.press("up", "enter")  # one above: interested
        await settle(pilot)
        await answer(pilot, f"Relabel the reply from {REVIEWED_LEAD} as interested?", "y")

        stored = reply_row(world, REVIEWED_LEAD)
        assert (stored.classification, stored.review) == ("interested", "confirmed")
        assert suppressed(world, REVIEWED_LEAD) is None
        assert lead_status(world, REVIEWED_LEAD) == LeadStatus.REPLIED.value


async def test_l_then_escape_keeps_the_class(world, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_pane(pilot, "6")
        await highlight(pilot, pane, INTERESTED)
        await pilot.press("l")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, ChoiceScreen)
    assert reply_row(world, INTERESTED).classification == "interested"
    assert audit_rows(world, "relabelled") == []


@pytest.mark.parametrize(
    ("key", "title", "keys"),
    [
        ("6", "Inbox", (("R", "Reply"), ("c", "Confirm"), ("d", "Dismiss"), ("l", "Relabel"))),
        ("1", "Dashboard", (("a", "Accept"), ("x", "Dismiss"), ("M", "Mode"))),
    ],
    ids=["inbox", "dashboard"],
)
async def test_question_mark_lists_the_new_keys(world, make_app, key, title, keys):
    app = make_app()
    async with app.run_test(size=(80, 40)) as pilot:
        await show_pane(pilot, key)
        await pilot.press("question_mark")
        await settle(pilot)
        help_text = screen_text(app)
        assert title in help_text
        for k, description in keys:
            assert f"{k:<10} {description}" in help_text
        assert "M          monitor mode: observe, suggest or enforce" in help_text
