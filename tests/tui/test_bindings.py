"""Every key of the console, pressed through Textual's pilot on the deterministic world of
conftest.py: each test checks what the key did in the database and what the operator sees.

Nothing sends: the scheduler is off and the sandbox's SMTP sink is never served."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from textual.command import CommandPalette
from textual.widgets import ContentSwitcher, Input

from outreach_tui.core.states import AttemptState, CampaignStatus, EnrollmentState
from outreach_tui.db import tables as t
from outreach_tui.demo.seed import CAMPAIGNS
from outreach_tui.engine.sending.campaigns import CampaignSpec
from outreach_tui.tui.panes.paged import PAGE_SIZE
from outreach_tui.tui.panes.registry import pane_classes
from outreach_tui.tui.widgets.confirm import ConfirmScreen
from outreach_tui.tui.widgets.edit import EditScreen
from outreach_tui.tui.widgets.help import HelpScreen
from outreach_tui.tui.widgets.text_prompt import TextPrompt
from tests.tui.conftest import LEADS, PAUSED_MAILBOX
from tests.tui.helpers import screen_text, settle, show_pane, table_of

pytestmark = pytest.mark.asyncio

SIZE = (80, 24)
PENDING = AttemptState.PENDING_APPROVAL.value


def attempt(world, attempt_id: int):
    with world.engine.db.connect() as conn:
        return conn.execute(select(t.attempt).where(t.attempt.c.id == attempt_id)).one()


def audit_rows(world, policy_result: str):
    with world.engine.db.connect() as conn:
        return conn.execute(
            select(t.audit_log)
            .where(t.audit_log.c.policy_result == policy_result)
            .order_by(t.audit_log.c.id)
        ).all()


def pending_ids(world) -> set[int]:
    return set(world.engine.approvals.pending_ids())


async def answer(pilot, question: str, key: str) -> None:
    """A confirm is open asking `question`; answer it with `key` (y, n or escape)."""
    app = pilot.app
    assert isinstance(app.screen, ConfirmScreen)
    assert question in screen_text(app)
    await pilot.press(key)
    await settle(pilot)
    assert not isinstance(app.screen, ConfirmScreen)


async def type_into_prompt(pilot, text: str) -> None:
    """A TextPrompt is open: replace its text with `text` and submit it."""
    assert isinstance(pilot.app.screen, TextPrompt)
    await pilot.press("home", "ctrl+k", *text, "enter")
    await settle(pilot)


# -- panes, help, palette -----------------------------------------------------------------


async def test_number_keys_show_each_pane_with_its_data(world, make_app):
    first_lead = world.engine.queries.leads(limit=1).rows[0].email
    first_queued = world.engine.approvals.page(limit=1)[0].recipient
    expect_on_screen = {
        "queue": first_queued,
        "campaigns": "Partnerships",
        "mailboxes": PAUSED_MAILBOX,
        "domains": "outreach-hq.net",
        "inbox": "mailer-daemon@brand-news.com",  # the DSN, as the classifier read it
        "leads": first_lead,
        "suppression": "competitor.com",
        "audit": "mailbox_paused",
        "dashboard": f"{PAUSED_MAILBOX}: HEALTHY → PAUSED",
    }
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        # Backwards, so every key changes the pane.
        for number, cls in reversed(list(enumerate(pane_classes(), start=1))):
            await show_pane(pilot, str(number))
            assert app.query_one("#panes", ContentSwitcher).current == f"pane-{cls.PANE_ID}"
            screen = screen_text(app)
            assert cls.TITLE in screen
            assert expect_on_screen[cls.PANE_ID] in screen


async def test_question_mark_lists_the_pane_keys_and_escape_closes_it(world, make_app):
    waiting = world.engine.approvals.count()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await show_pane(pilot, "2")
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        help_text = screen_text(app)
        assert "Queue — waiting for approval" in help_text
        for key, description in (("a", "Approve"), ("r", "Reject"), ("A", "Approve all")):
            assert f"{key:<10} {description}" in help_text
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, HelpScreen)
        assert "Queue — waiting for approval" in screen_text(app)
    assert world.engine.approvals.count() == waiting  # looking is not deciding


async def test_palette_entry_pane_leads_switches_to_the_leads_pane(world, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"pane: Leads")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, CommandPalette)
        assert app.current_pane == "leads"
        assert world.engine.queries.leads(limit=1).rows[0].email in screen_text(app)


async def test_slash_filters_the_leads_and_an_empty_filter_clears_it(world, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_pane(pilot, "7")
        await pilot.press("slash")
        await settle(pilot)
        await type_into_prompt(pilot, "greta")

        matching = world.engine.queries.leads(limit=PAGE_SIZE, search="greta").rows
        assert matching and len(matching) < LEADS
        assert table_of(pane).keys == [str(r.id) for r in matching]
        screen = screen_text(app)
        assert "filter: greta" in screen
        assert matching[0].email in screen
        assert "anna.0@annfirma.de" not in screen

        await pilot.press("slash")
        await settle(pilot)
        await type_into_prompt(pilot, "")
        first_page = world.engine.queries.leads(limit=PAGE_SIZE).rows
        assert table_of(pane).keys == [str(r.id) for r in first_page]
        assert "filter:" not in screen_text(app)


# -- queue ----------------------------------------------------------------------------------


async def test_a_approves_the_highlighted_email(world, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_pane(pilot, "2")
        item = pane.current()
        waiting = world.engine.approvals.count()
        await pilot.press("a")
        await settle(pilot)

        row = attempt(world, item.attempt_id)
        assert row.state == AttemptState.APPROVED.value
        assert row.approved_by == "operator"
        assert [a.attempt_id for a in audit_rows(world, "approved")] == [item.attempt_id]
        assert str(item.attempt_id) not in table_of(pane).keys
        screen = screen_text(app)
        assert item.recipient not in screen
        assert f"{waiting - 1} to approve" in screen


async def test_j_and_k_move_the_queue_cursor_and_a_approves_the_one_under_it(world, make_app):
    first, second = world.engine.approvals.page(limit=2)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_pane(pilot, "2")
        await pilot.press("j", "j", "k")
        await settle(pilot)
        assert pane.current() == second
        assert f"To {second.recipient}" in screen_text(app)  # the preview follows
        await pilot.press("a")
        await settle(pilot)

        assert attempt(world, second.attempt_id).state == AttemptState.APPROVED.value
        assert attempt(world, first.attempt_id).state == PENDING
        assert second.recipient not in screen_text(app)


@pytest.mark.parametrize("key", ["n", "escape"])
async def test_r_then_no_leaves_the_email_waiting(world, make_app, key):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_pane(pilot, "2")
        item = pane.current()
        await pilot.press("r")
        await settle(pilot)
        await answer(pilot, f"Reject the email to {item.recipient}?", key)

        assert attempt(world, item.attempt_id).state == PENDING
        assert audit_rows(world, "rejected") == []
        assert item.recipient in screen_text(app)


async def test_r_then_y_rejects_the_email_and_stops_its_sequence(world, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_pane(pilot, "2")
        item = pane.current()
        await pilot.press("r")
        await settle(pilot)
        await answer(pilot, f"Reject the email to {item.recipient}?", "y")

        row = attempt(world, item.attempt_id)
        assert row.state == AttemptState.REJECTED.value
        with world.engine.db.connect() as conn:
            enrollment = conn.execute(
                select(t.campaign_lead.c.state).where(t.campaign_lead.c.id == row.campaign_lead_id)
            ).scalar()
        assert enrollment == EnrollmentState.STOPPED.value
        assert [(a.attempt_id, a.user_id) for a in audit_rows(world, "rejected")] == [
            (item.attempt_id, "operator")
        ]
        assert str(item.attempt_id) not in table_of(pane).keys
        assert item.recipient not in screen_text(app)


async def test_e_saves_the_edited_subject_and_body_with_an_audit_row(world, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_pane(pilot, "2")
        item = pane.current()
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, EditScreen)
        assert app.screen.query_one("#edit-subject", Input).value == item.subject
        # The subject field has the focus; tab moves to the body, whose cursor is at its start.
        await pilot.press("end", *" (v2)", "tab", *"Hi again. ")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, EditScreen)

        row = attempt(world, item.attempt_id)
        assert row.subject == item.subject + " (v2)"
        assert row.body == "Hi again. " + item.body
        assert row.edited_by == "operator"
        assert row.state == PENDING  # edited, still waiting for a decision
        [edited] = audit_rows(world, "edited")
        assert edited.attempt_id == item.attempt_id
        assert edited.user_id == "operator"
        assert "subject" in edited.reason and "body changed" in edited.reason
        screen = screen_text(app)
        assert item.subject + " (v2)" in screen
        assert "edited by operator" in screen
        assert "Hi again. " in screen


async def test_A_approves_every_visible_email_after_a_confirm(world, make_app):
    before = pending_ids(world)
    visible = {
        i.attempt_id for i in world.engine.approvals.page(limit=500) if "annmedia" in i.recipient
    }
    assert 0 < len(visible) < len(before)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_pane(pilot, "2")
        await pilot.press("slash")
        await settle(pilot)
        await type_into_prompt(pilot, "annmedia")
        assert {int(k) for k in table_of(pane).keys} == visible

        await pilot.press("A")
        await settle(pilot)
        await answer(pilot, f"Approve all {len(visible)} visible emails?", "y")

        assert pending_ids(world) == before - visible
        approved = {a.attempt_id for a in audit_rows(world, "approved")}
        assert approved == visible
        assert table_of(pane).keys == []
        screen = screen_text(app)
        assert "nothing is waiting for approval" in screen
        assert f"{len(before - visible)} to approve" in screen


async def test_A_then_n_approves_nothing(world, make_app):
    before = pending_ids(world)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_pane(pilot, "2")
        await pilot.press("A")
        await settle(pilot)
        await answer(pilot, f"Approve all {len(before)} visible emails?", "n")
        assert pending_ids(world) == before
        assert len(table_of(pane).keys) == len(before)


# -- campaigns, mailboxes, domains ------------------------------------------------------------


def campaign_status(world, name: str) -> str:
    with world.engine.db.connect() as conn:
        return conn.execute(select(t.campaign.c.status).where(t.campaign.c.name == name)).scalar()


async def test_campaign_p_pauses_and_u_resumes_after_confirms(world, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_pane(pilot, "3")
        name = pane._current().name
        await pilot.press("p")
        await settle(pilot)
        await answer(pilot, f"Pause campaign {name!r}?", "y")
        assert campaign_status(world, name) == CampaignStatus.PAUSED.value
        assert audit_rows(world, "campaign_paused")[0].user_id == "operator"
        assert str(table_of(pane).get_row(table_of(pane).keys[0])[1]) == "paused"
        assert "paused" in screen_text(app)

        await pilot.press("u")
        await settle(pilot)
        await answer(pilot, f"Resume campaign {name!r}?", "y")
        assert campaign_status(world, name) == CampaignStatus.ACTIVE.value
        assert len(audit_rows(world, "campaign_active")) == 1
        assert "paused" not in screen_text(app)


def table_text(app) -> str:
    """The screen above the highlighted mailbox's recovery line."""
    return screen_text(app).split("─" * 80, 1)[0]


def mailbox_phase(world, email: str) -> str:
    return next(m.phase for m in world.engine.queries.mailboxes() if m.email == email)


async def test_mailbox_p_pauses_and_u_resumes_after_confirms(world, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_pane(pilot, "4")
        # The paused mailbox is listed first (attention first); pause the next one.
        assert pane._current().email == PAUSED_MAILBOX
        await pilot.press("down")
        first = pane._current().email
        await pilot.press("p")
        await settle(pilot)
        await answer(pilot, f"Pause {first}?", "y")
        assert mailbox_phase(world, first) == "PAUSED"
        assert table_text(app).count("PAUSED") == 2  # it and the one paused before

        # Down to the mailbox that was paused before the console opened.
        while pane._current().email != PAUSED_MAILBOX:
            await pilot.press("down")
        await pilot.press("u")
        await settle(pilot)
        await answer(pilot, f"Resume {PAUSED_MAILBOX}?", "y")
        assert mailbox_phase(world, PAUSED_MAILBOX) == "HEALTHY"
        assert [a.sender_email for a in audit_rows(world, "mailbox_healthy")] == [PAUSED_MAILBOX]
        assert table_text(app).count("PAUSED") == 1


def domain_paused(world, name: str) -> bool:
    return next(d.paused for d in world.engine.queries.domains() if d.name == name)


async def test_domain_p_pauses_and_u_resumes_after_confirms(world, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_pane(pilot, "5")
        name = pane._current().name
        await pilot.press("p")
        await settle(pilot)
        await answer(pilot, f"Pause sending domain {name}?", "y")
        assert domain_paused(world, name)
        assert [a.reason for a in audit_rows(world, "domain_paused")] == [f"{name} paused"]
        assert "PAUSED" in screen_text(app)

        await pilot.press("u")
        await settle(pilot)
        await answer(pilot, f"Resume sending domain {name}?", "y")
        assert not domain_paused(world, name)
        assert "PAUSED" not in screen_text(app)


# -- leads ----------------------------------------------------------------------------------


async def test_w_shows_why_a_lead_is_not_being_sent(world, make_app):
    unsubscribed = "eva.4@evamedia.nl"  # answered "unsubscribe" (conftest.REPLIES)
    why = [str(line) for line in world.engine.explainer.why(unsubscribed)]
    assert any("unsubscribed" in line for line in why)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_pane(pilot, "7")
        while pane._current().email != unsubscribed:
            await pilot.press("down")
        await pilot.press("w")
        await settle(pilot)
        screen = screen_text(app)
        why_panel = screen.split("─" * 80, 1)[1]
        assert unsubscribed in why_panel
        # Every line of the explainer, "[Guest posts Q1] sequence: ..." included.
        for line in why:
            assert line[:76] in why_panel


async def test_s_suppresses_the_highlighted_lead_after_a_confirm(world, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_pane(pilot, "7")
        lead = pane._current()
        assert lead.status == "new"
        await pilot.press("s")
        await settle(pilot)
        await answer(pilot, f"Suppress {lead.email}?", "y")

        with world.engine.db.connect() as conn:
            entry = conn.execute(
                select(t.suppression).where(t.suppression.c.value == lead.email)
            ).one()
        assert (entry.kind, entry.created_by) == ("address", "operator")
        now = world.engine.queries.leads(after_id=lead.id - 1, limit=1).rows[0]
        assert now.status == "suppressed"
        assert str(table_of(pane).get_row(str(lead.id))[3]) == "suppressed"
        assert "suppressed" in screen_text(app)


async def test_n_and_b_page_through_the_leads(world, make_app):
    first = world.engine.queries.leads(limit=PAGE_SIZE)
    second = world.engine.queries.leads(after_id=first.rows[-1].id, limit=PAGE_SIZE)
    assert first.more and not second.more and len(second.rows) == LEADS - PAGE_SIZE
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_pane(pilot, "7")
        assert "page 1  n: next page" in screen_text(app)

        await pilot.press("n")
        await settle(pilot)
        assert table_of(pane).keys == [str(r.id) for r in second.rows]
        screen = screen_text(app)
        assert "page 2  b: back" in screen
        assert second.rows[0].email in screen

        await pilot.press("n")  # the last page: n does nothing
        await settle(pilot)
        assert pane.page_number == 2

        await pilot.press("b")
        await settle(pilot)
        assert table_of(pane).keys == [str(r.id) for r in first.rows]
        assert first.rows[0].email in screen_text(app)


# -- suppression ------------------------------------------------------------------------------


def suppression_entries(world) -> set[tuple[str, str]]:
    with world.engine.db.connect() as conn:
        return set(conn.execute(select(t.suppression.c.kind, t.suppression.c.value)).all())


@pytest.mark.parametrize(
    ("key", "typed", "entry", "question"),
    [
        ("a", "Someone@Example.org", ("address", "someone@example.org"), "Suppress which address?"),
        ("D", "spam-corp.example", ("domain", "spam-corp.example"), "Suppress which domain?"),
    ],
    ids=["address", "domain"],
)
async def test_suppression_add_asks_then_confirms(world, make_app, key, typed, entry, question):
    before = suppression_entries(world)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_pane(pilot, "8")
        await pilot.press(key)
        await settle(pilot)
        assert question in screen_text(app)
        await type_into_prompt(pilot, typed)
        await answer(pilot, f"Suppress {typed}?", "y")

        assert suppression_entries(world) == before | {entry}
        [audit] = audit_rows(world, "suppressed")[-1:]
        assert audit.user_id == "operator" and entry[1] in audit.reason
        assert len(table_of(pane).keys) == len(before) + 1
        assert entry[1] in screen_text(app)


async def test_suppression_x_removes_the_highlighted_entry(world, make_app):
    before = suppression_entries(world)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_pane(pilot, "8")
        row = pane.rows[pane.query_one("KeyedTable").current_key()]
        await pilot.press("x")
        await settle(pilot)
        await answer(pilot, f"Remove {row.value} from the suppression list?", "y")

        assert suppression_entries(world) == before - {(row.kind, row.value)}
        assert audit_rows(world, "unsuppressed")[0].user_id == "operator"
        assert str(row.id) not in table_of(pane).keys
        assert row.value not in screen_text(app)


# -- inbox and audit --------------------------------------------------------------------------


def reply_handled(world, reply_id: int) -> bool:
    with world.engine.db.connect() as conn:
        return conn.execute(select(t.reply.c.handled).where(t.reply.c.id == reply_id)).scalar()


async def test_h_marks_a_reply_handled_and_h_again_reopens_it(world, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_pane(pilot, "6")
        await pilot.press("down")  # past the DSN bounce, which lands handled
        reply = pane._current()
        assert not reply.handled
        ticks = screen_text(app).count("✓")  # the bounce and the out-of-office
        await pilot.press("h")
        await settle(pilot)
        assert reply_handled(world, reply.id)
        assert audit_rows(world, "reply_handled")[0].lead_email == reply.from_email
        assert str(table_of(pane).get_row(str(reply.id))[3]) == "✓"
        assert screen_text(app).count("✓") == ticks + 1

        await pilot.press("h")
        await settle(pilot)
        assert not reply_handled(world, reply.id)
        assert screen_text(app).count("✓") == ticks


async def test_v_switches_the_audit_log_to_events_and_back(world, make_app):
    events = world.engine.queries.events(limit=PAGE_SIZE)
    audit = world.engine.queries.audit(limit=PAGE_SIZE).rows
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_pane(pilot, "9")
        assert table_of(pane).keys == [f"a{a.id}" for a in audit]

        await pilot.press("v")
        await settle(pilot)
        assert table_of(pane).keys == [f"e{e.id}" for e in events]
        screen = screen_text(app)
        assert "events (v switches)" in screen
        assert "phase_change" in screen and "engine" in screen

        await pilot.press("v")
        await settle(pilot)
        assert table_of(pane).keys == [f"a{a.id}" for a in audit]
        assert "audit log (v switches)" in screen_text(app)


# -- data is shown as written -------------------------------------------------------------------


async def test_bracketed_data_is_shown_as_written_not_read_as_markup(world, make_app):
    world.engine.suppression.add("legal@acme.example", reason="[Legal] see [/notes]")
    spec = dict(CAMPAIGNS[2], name="[Test] spring")
    world.engine.campaigns.create(CampaignSpec.model_validate(spec), source_file="test")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await show_pane(pilot, "8")
        assert "[Legal] see [/notes]" in screen_text(app)

        pane = await show_pane(pilot, "3")
        while pane._current().name != "[Test] spring":
            await pilot.press("down")
        await pilot.press("p")
        await settle(pilot)
        await answer(pilot, "Pause campaign '[Test] spring'?", "y")
        assert campaign_status(world, "[Test] spring") == CampaignStatus.PAUSED.value
        assert "[Test] spring" in screen_text(app)


async def test_the_background_refreshes_do_nothing_once_the_panes_are_gone(world, make_app):
    """The prefetch, live-refresh and status timers may fire while the app is closing and
    its panes are already removed (a CI run caught `NoMatches` from the prefetch)."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await app.query_one("#panes", ContentSwitcher).remove()
        app.prefetch_panes()
        app.live_refresh()
        await settle(pilot)
        assert not app.query("#panes")
