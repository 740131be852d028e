"""Reply effects end to end with a real Dovecot: exactly once through a SIGKILLed worker,
SUGGEST mode's review, answering from the inbox over real SMTP, settling unknown sends."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from outreach_tui.db import tables as t
from tests.functional.inbox_world import (
    IMAP_PASSWORD_ENV,
    MAILBOX,
    SMTP_PASSWORD_ENV,
    ca_bundle,
    inbox_engine,
    rows,
    seed_thread,
)


def answer(n: int, sender: str, in_reply_to: str, body: str = "Yes, interested. Call me.") -> bytes:
    return (
        f"From: <{sender}>\r\nTo: {MAILBOX}\r\nSubject: Re: Quick question\r\n"
        f"Message-ID: <answer-{n}@example.com>\r\nIn-Reply-To: {in_reply_to}\r\n"
        f"Date: Mon, 02 Mar 2026 12:00:00 +0000\r\n\r\n{body}\r\n"
    ).encode()


def unsubscribe(n: int, sender: str, in_reply_to: str) -> bytes:
    return answer(
        n, sender, in_reply_to, body="Please unsubscribe me and remove me from your list."
    )


@pytest.fixture
def engine(tmp_path, monkeypatch, dovecot, dovecot_user, pki):
    eng = inbox_engine(tmp_path, monkeypatch, dovecot, dovecot_user, pki)
    yield eng
    asyncio.run(eng.aclose())


# -- exactly once through a crash --------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from outreach_tui.engine.inbox import effects as replies

    crash_after = int(os.environ["CRASH_AFTER"])
    original = replies.ReplyEffects.apply
    calls = []

    def apply_then_die(self, conn, message, analysis, now):
        applied = original(self, conn, message, analysis, now)
        calls.append(1)
        if len(calls) > crash_after:
            # Inside the message's transaction, after its effects, before its COMMIT.
            os.kill(os.getpid(), signal.SIGKILL)
        return applied

    replies.ReplyEffects.apply = apply_then_die
    from outreach_tui.cli import main
    sys.argv = ["outreach-tui", "--config", sys.argv[1], "worker", "--once"]
    main()
    """
)


def test_worker_killed_mid_batch_then_rerun_applies_every_reply_exactly_once(
    tmp_path, monkeypatch, engine, dovecot, dovecot_user, pki, db_url
):
    total, crash_after = 8, 3
    for n in range(total):
        seed_thread(
            engine, recipient=f"lead{n}@example.com", message_id=f"<ours-{n}@outreach.test>"
        )
    dovecot.append(
        dovecot_user,
        [answer(n, f"lead{n}@example.com", f"<ours-{n}@outreach.test>") for n in range(total)],
    )
    config = tmp_path / "worker.toml"
    config.write_text(
        textwrap.dedent(
            f"""
            database_url = "{db_url}"
            [tls]
            ca_file = "{ca_bundle(tmp_path, dovecot, pki)}"
            [logging]
            file = "{tmp_path / "worker.log"}"
            [dns]
            health_checks = false
            [verify]
            required = false
            [replies]
            commit_batch = 1
            [[mailboxes]]
            email = "{MAILBOX}"
            smtp_host = "127.0.0.1"
            smtp_port = 9
            smtp_password = "env:{SMTP_PASSWORD_ENV}"
            imap_host = "{dovecot.host}"
            imap_port = {dovecot.imaps_port}
            imap_security = "tls"
            imap_user = "{dovecot_user.name}"
            imap_password = "env:{IMAP_PASSWORD_ENV}"
            """
        )
    )
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(config)],
        env={**os.environ, "CRASH_AFTER": str(crash_after)},
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    assert len(rows(engine, t.reply)) == crash_after  # the 4th died before its COMMIT
    (cursor,) = rows(engine, t.imap_cursor)
    assert cursor.last_uid == crash_after

    cycle = asyncio.run(engine.poll_replies())
    assert cycle.poll.applied == total - crash_after
    assert len(rows(engine, t.reply)) == total
    assert len({r.uid for r in rows(engine, t.reply)}) == total
    stops = rows(engine, t.audit_log, t.audit_log.c.policy_result == "sequence_stopped")
    assert len(stops) == total
    assert {e.state for e in rows(engine, t.campaign_lead)} == {"stopped"}


# -- SUGGEST mode --------------------------------------------------------------------------------


def test_suggest_mode_holds_suppressions_for_confirmation(
    tmp_path, monkeypatch, dovecot, dovecot_user, pki
):
    eng = inbox_engine(
        tmp_path,
        monkeypatch,
        dovecot,
        dovecot_user,
        pki,
        replies={"mode": "suggest", "reconcile_min_age_minutes": 0},
    )
    try:
        a = seed_thread(eng, recipient="ann@example.com", message_id="<s-1@outreach.test>")
        b = seed_thread(eng, recipient="ben@example.com", message_id="<s-2@outreach.test>")
        dovecot.append(
            dovecot_user,
            [
                unsubscribe(1, "ann@example.com", "<s-1@outreach.test>"),
                unsubscribe(2, "ben@example.com", "<s-2@outreach.test>"),
            ],
        )
        asyncio.run(eng.poll_replies())
        replies = {r.lead_id: r for r in rows(eng, t.reply)}
        assert {r.review for r in replies.values()} == {"pending"}
        assert rows(eng, t.suppression) == []  # held back
        assert {e.state for e in rows(eng, t.campaign_lead)} == {"stopped"}  # but stopped
        assert len(rows(eng, t.event, t.event.c.kind == "suppression_suggestion")) == 2

        assert eng.confirm_suggestion(replies[a["lead"]].id)
        assert not eng.confirm_suggestion(replies[a["lead"]].id)  # once
        assert [s.value for s in rows(eng, t.suppression)] == ["ann@example.com"]
        assert rows(eng, t.lead, t.lead.c.id == a["lead"])[0].status == "unsubscribed"

        # The operator reads Ben's message differently: interested after all.
        assert eng.relabel_reply(replies[b["lead"]].id, "interested")
        ben = rows(eng, t.reply, t.reply.c.id == replies[b["lead"]].id)[0]
        assert (ben.classification, ben.classified_by, ben.review) == (
            "interested",
            "operator",
            "confirmed",
        )
        assert [s.value for s in rows(eng, t.suppression)] == ["ann@example.com"]
        results = {r.policy_result for r in rows(eng, t.audit_log)}
        assert {"suppression_suggested", "suggestion_confirmed", "relabelled"} <= results
    finally:
        asyncio.run(eng.aclose())


def test_relabelling_an_unsubscribe_undoes_its_suppression(engine, dovecot, dovecot_user):
    ids = seed_thread(engine, recipient="cat@example.com", message_id="<r-1@outreach.test>")
    dovecot.append(dovecot_user, [unsubscribe(3, "cat@example.com", "<r-1@outreach.test>")])
    asyncio.run(engine.poll_replies())
    (got,) = rows(engine, t.reply)
    assert got.classification == "unsubscribe"
    assert [s.source for s in rows(engine, t.suppression)] == [f"reply:{got.id}"]
    assert engine.relabel_reply(got.id, "interested")
    assert rows(engine, t.suppression) == []
    assert rows(engine, t.lead, t.lead.c.id == ids["lead"])[0].status == "replied"
    assert rows(engine, t.audit_log, t.audit_log.c.policy_result == "unsuppressed")


# -- answering from the inbox --------------------------------------------------------------------


def test_reply_to_sends_a_threaded_answer_from_the_same_mailbox(
    tmp_path, monkeypatch, dovecot, dovecot_user, pki, smtp_server
):
    server = smtp_server(security="starttls", users={MAILBOX: "smtp-secret"})
    eng = inbox_engine(tmp_path, monkeypatch, dovecot, dovecot_user, pki, smtp=server)
    try:
        seed_thread(eng, recipient="dan@example.com", message_id="<ours-t@outreach.test>")
        dovecot.append(dovecot_user, [answer(9, "dan@example.com", "<ours-t@outreach.test>")])

        async def poll_then_answer():
            await eng.poll_replies()
            (got,) = rows(eng, t.reply)
            try:
                return await eng.reply_to(got.id, "Great, how about Tuesday at 10?")
            finally:
                await eng.aclose()  # in the loop the SMTP connection was made in

        outcome = asyncio.run(poll_then_answer())
    except BaseException:
        asyncio.run(eng.aclose())
        raise
    assert outcome.sent, outcome.message
    (delivered,) = server.received
    assert delivered.mail_from == MAILBOX and delivered.rcpt_tos == ["dan@example.com"]
    message = delivered.parsed()
    assert message["Subject"] == "Re: Quick question"
    assert message["In-Reply-To"] == "<answer-9@example.com>"
    assert message["References"].split() == ["<ours-t@outreach.test>", "<answer-9@example.com>"]
    assert rows(eng, t.reply)[0].handled
    attempt = rows(eng, t.attempt, t.attempt.c.id == outcome.attempt_id)[0]
    assert (attempt.state, attempt.in_reply_to) == ("sent", "<answer-9@example.com>")
    assert rows(eng, t.audit_log, t.audit_log.c.policy_result == "reply_sent")


def test_reply_to_an_unsubscribed_lead_is_blocked_by_policy(engine, dovecot, dovecot_user):
    seed_thread(engine, recipient="eve@example.com", message_id="<ours-u@outreach.test>")
    dovecot.append(dovecot_user, [unsubscribe(10, "eve@example.com", "<ours-u@outreach.test>")])
    asyncio.run(engine.poll_replies())
    (got,) = rows(engine, t.reply)
    outcome = asyncio.run(engine.reply_to(got.id, "Sorry to see you go"))
    assert outcome.status == "blocked"


# -- settling unknown sends from the Sent folder -------------------------------------------------


def sent_copy(message_id: str) -> bytes:
    return (
        f"From: {MAILBOX}\r\nTo: x@example.com\r\nSubject: Quick question\r\n"
        f"Message-ID: {message_id}\r\n\r\nhello\r\n"
    ).encode()


def test_unknown_send_found_in_sent_is_settled_as_sent_and_the_sequence_moves_on(
    engine, dovecot, dovecot_user
):
    ids = seed_thread(
        engine, recipient="fay@example.com", message_id="<u-1@outreach.test>", state="unknown"
    )
    dovecot.append(dovecot_user, [sent_copy("<u-1@outreach.test>")], folder="Sent")
    cycle = asyncio.run(engine.poll_replies())
    assert cycle.reconcile.sent == [ids["attempt"]]
    (attempt,) = rows(engine, t.attempt)
    assert attempt.state == "sent"
    counted = rows(engine, t.daily_counter, t.daily_counter.c.scope == "mailbox")
    assert [c.count for c in counted] == [1]
    assert rows(engine, t.lead)[0].status == "contacted"
    assert rows(engine, t.campaign_lead)[0].next_step == 2


def test_unknown_send_missing_from_a_sent_folder_that_keeps_mail_is_failed(
    engine, dovecot, dovecot_user
):
    seed_thread(engine, recipient="gus@example.com", message_id="<u-2@outreach.test>")
    lost = seed_thread(
        engine, recipient="hal@example.com", message_id="<u-3@outreach.test>", state="unknown"
    )
    dovecot.append(dovecot_user, [sent_copy("<u-2@outreach.test>")], folder="Sent")
    cycle = asyncio.run(engine.poll_replies())
    assert cycle.reconcile.failed == [lost["attempt"]]
    assert rows(engine, t.attempt, t.attempt.c.id == lost["attempt"])[0].state == "failed"


def test_unknown_send_stays_unknown_when_the_sent_folder_keeps_nothing(
    engine, dovecot, dovecot_user
):
    seed_thread(engine, recipient="ivy@example.com", message_id="<u-4@outreach.test>")
    lost = seed_thread(
        engine, recipient="jon@example.com", message_id="<u-5@outreach.test>", state="unknown"
    )
    cycle = asyncio.run(engine.poll_replies())
    again = asyncio.run(engine.poll_replies())
    assert cycle.reconcile.undecided == again.reconcile.undecided == [lost["attempt"]]
    assert rows(engine, t.attempt, t.attempt.c.id == lost["attempt"])[0].state == "unknown"
    said = rows(engine, t.event, t.event.c.subject_id == str(lost["attempt"]))
    assert len(said) == 1  # not repeated every cycle
