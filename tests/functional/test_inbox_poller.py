"""The reply inbox against a real Dovecot: the corpus classified and applied, exactly once,
through crashes, restarts and UIDVALIDITY changes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from outreach_tui.core.states import CounterScope
from outreach_tui.db import tables as t
from outreach_tui.db.session import read_tx
from tests.functional.inbox_world import (
    MAILBOX,
    corpus,
    inbox_engine,
    poll_until_idle,
    rows,
    seed_thread,
)


@pytest.fixture
def engine(tmp_path, monkeypatch, dovecot, dovecot_user, pki):
    eng = inbox_engine(tmp_path, monkeypatch, dovecot, dovecot_user, pki)
    yield eng
    asyncio.run(eng.aclose())


def reply(
    n: int,
    *,
    subject: str = "Re: Quick question",
    in_reply_to: str = "",
    sender: str = "anna@example.com",
    body: str = "Sounds good, call me Tuesday.",
) -> bytes:
    irt = f"In-Reply-To: {in_reply_to}\r\n" if in_reply_to else ""
    return (
        f"From: Anna <{sender}>\r\nTo: {MAILBOX}\r\nSubject: {subject}\r\n"
        f"Message-ID: <reply-{n}@example.com>\r\n{irt}Date: Mon, 02 Mar 2026 11:00:00 +0000\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


def counter(engine, scope: str) -> int:
    with read_tx(engine.db) as conn:
        return int(
            conn.execute(
                select(func.coalesce(func.sum(t.daily_counter.c.count), 0)).where(
                    t.daily_counter.c.scope == scope, t.daily_counter.c.key == MAILBOX
                )
            ).scalar()
        )


def suppressed(engine, email: str) -> list:
    return rows(engine, t.suppression, t.suppression.c.value == email.lower())


def test_corpus_is_classified_and_each_effect_applied(engine, dovecot, dovecot_user):
    cases = corpus()
    assert len(cases) >= 40
    seeded: dict[str, dict[str, int]] = {}
    for case in cases:
        spec = case.spec
        our_id = spec.get("original_message_id") or spec.get("in_reply_to")
        recipient = (spec.get("bounced") or [None])[0] or spec.get("from_email")
        # (Our Message-IDs never hold control characters: the hostile case is not ours.)
        if our_id and recipient and our_id.isprintable():
            seeded[case.file] = seed_thread(engine, recipient=recipient, message_id=f"<{our_id}>")
    uids = dovecot.append(dovecot_user, [c.raw for c in cases])
    assert len(uids) == len(cases)

    cycles = asyncio.run(poll_until_idle(engine))
    # IMAP_FETCH_LIMIT (50) per cycle: the corpus takes two.
    assert cycles[0].poll.fetched == 50
    assert sum(c.poll.applied for c in cycles) == len(cases)

    stored = {r.uid: r for r in rows(engine, t.reply)}
    wrong, missing_effect = [], []
    for uid, case in zip(uids, cases, strict=True):
        got = stored[uid]
        assert got.raw is not None and got.digest
        if got.classification != case.kind:
            wrong.append(f"{case.file}: {got.classification} (expected {case.kind})")
            continue
        ids = seeded.get(case.file)
        if ids is None:
            continue
        if got.attempt_id != ids["attempt"]:
            missing_effect.append(f"{case.file}: not threaded to its attempt")
        enrollment = rows(engine, t.campaign_lead, t.campaign_lead.c.id == ids["enrollment"])[0]
        lead = rows(engine, t.lead, t.lead.c.id == ids["lead"])[0]
        kind = case.kind
        human = ("interested", "not_interested", "unsubscribe", "wrong_person", "other")
        if kind in human and enrollment.state != "stopped":
            missing_effect.append(f"{case.file}: sequence not stopped")
        if kind in ("not_interested", "unsubscribe") and not suppressed(engine, lead.email):
            missing_effect.append(f"{case.file}: sender not suppressed")
        if kind == "out_of_office":
            if enrollment.state != "active":
                missing_effect.append(f"{case.file}: out-of-office stopped the sequence")
            if case.spec.get("return_date"):
                back = datetime.fromisoformat(str(case.spec["return_date"])).replace(tzinfo=UTC)
                if enrollment.next_due_at < back + timedelta(days=1):
                    missing_effect.append(f"{case.file}: next step not after the return date")
        if (
            kind == "bounce_hard"
            and not case.spec.get("sender_at_fault")
            and (not suppressed(engine, lead.email) or lead.status != "bounced")
        ):
            missing_effect.append(f"{case.file}: hard bounce not suppressed/bounced")
        if kind == "bounce_soft" and suppressed(engine, lead.email):
            missing_effect.append(f"{case.file}: soft bounce suppressed")
        if kind == "complaint" and not suppressed(engine, lead.email):
            missing_effect.append(f"{case.file}: complainant not suppressed")
    assert not wrong, "misclassified:\n" + "\n".join(wrong)
    assert not missing_effect, "\n".join(missing_effect)

    def matched(kind: str, at_fault: bool | None = None) -> int:
        """Reports of `kind` about one of our sends (the seeded ones): only those count."""
        return sum(
            1
            for c in cases
            if c.kind == kind
            and c.file in seeded
            and (at_fault is None or bool(c.spec.get("sender_at_fault")) == at_fault)
        )

    # Each report counted once, in its class's counter, and never as an attempt (a DSN is
    # about a send counted when the server accepted it: `mailbox_bounce` is SMTP time only).
    # The corpus's soft bounces are all delay notices: stored, nothing counted. Reports that
    # match no send of ours (the unseeded ones) count nothing.
    assert counter(engine, CounterScope.MAILBOX_BOUNCE) == 0
    assert counter(engine, CounterScope.MAILBOX_BOUNCE_REPORT) == matched("bounce_hard", False)
    assert counter(engine, CounterScope.MAILBOX_POLICY_REPORT) == matched("bounce_hard", True)
    assert counter(engine, CounterScope.MAILBOX_SOFT_BOUNCE) == 0
    assert counter(engine, CounterScope.MAILBOX_COMPLAINT) == matched("complaint")
    # Every suppression names the reply it came from, and each effect has its audit row.
    for entry in rows(engine, t.suppression, t.suppression.c.source.like("reply:%")):
        assert entry.reason
    audit = rows(engine, t.audit_log, t.audit_log.c.policy_result == "reply")
    assert len(audit) == len(cases)
    # Nothing on the server changed: no \Seen, nothing deleted.
    assert dovecot.message_count(dovecot_user) == len(cases)
    conn = dovecot.client(dovecot_user)
    try:
        conn.select("INBOX", readonly=True)
        _, data = conn.search(None, "UNSEEN")
        assert len(data[0].split()) == len(cases)
    finally:
        conn.logout()


def test_polling_again_applies_nothing_twice(engine, dovecot, dovecot_user):
    seed_thread(engine, recipient="anna@example.com", message_id="<ours-1@outreach.test>")
    dovecot.append(dovecot_user, [reply(1, in_reply_to="<ours-1@outreach.test>")])
    first = asyncio.run(engine.poll_replies())
    second = asyncio.run(engine.poll_replies())
    assert first.poll.applied == 1
    assert second.poll.fetched == 0
    assert len(rows(engine, t.reply)) == 1
    assert len(rows(engine, t.audit_log, t.audit_log.c.policy_result == "sequence_stopped")) == 1


def test_reply_without_in_reply_to_is_threaded_by_sender_and_subject(engine, dovecot, dovecot_user):
    ids = seed_thread(
        engine,
        recipient="anna@example.com",
        message_id="<ours-2@outreach.test>",
        subject="Guest post for Acme",
    )
    dovecot.append(dovecot_user, [reply(2, subject="AW: Guest post for Acme")])
    asyncio.run(engine.poll_replies())
    (got,) = rows(engine, t.reply)
    assert got.attempt_id == ids["attempt"]
    assert rows(engine, t.campaign_lead)[0].state == "stopped"


def test_uidvalidity_change_rescans_without_applying_twice(engine, dovecot, dovecot_user):
    seed_thread(engine, recipient="anna@example.com", message_id="<ours-3@outreach.test>")
    dovecot.append(
        dovecot_user,
        [reply(3, in_reply_to="<ours-3@outreach.test>"), reply(4, sender="bob@example.com")],
    )
    asyncio.run(engine.poll_replies())
    new_validity = dovecot.change_uidvalidity(dovecot_user)
    dovecot.append(dovecot_user, [reply(5, sender="carol@example.com")])
    cycle = asyncio.run(engine.poll_replies())
    assert cycle.poll.mailboxes[0].uidvalidity_changed
    assert cycle.poll.applied == 1  # only the new one
    assert cycle.poll.mailboxes[0].duplicates == 2
    stored = rows(engine, t.reply)
    assert len(stored) == 3
    assert {r.uidvalidity for r in stored} == {new_validity}
    assert rows(engine, t.event, t.event.c.kind == "uidvalidity_changed")
    (cursor,) = rows(engine, t.imap_cursor)
    assert (cursor.uidvalidity, cursor.last_uid) == (new_validity, 3)


def test_broken_mime_and_unknown_charset_are_stored_and_shown(engine, dovecot, dovecot_user):
    broken = (
        b"From: Dora <dora@example.com>\r\nTo: sam@outreach.test\r\n"
        b"Subject: =?x-klingon?q?qapla?=\r\n"
        b"Message-ID: <broken-1@example.com>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="never-closed"\r\n\r\n'
        b"--never-closed\r\nContent-Type: text/plain; charset=x-klingon\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\nnuqneH =ZZ =C3\xff\xfe\r\n"
    )
    dovecot.append(dovecot_user, [broken])
    asyncio.run(engine.poll_replies())
    (got,) = rows(engine, t.reply)
    assert got.raw.replace(b"\r\n", b"\n") == broken.replace(b"\r\n", b"\n")
    shown = engine.queries.replies()
    assert [r.id for r in shown] == [got.id]
    assert shown[0].from_email == "dora@example.com"


def test_dovecot_down_is_an_event_and_the_next_cycle_recovers(
    tmp_path, monkeypatch, dovecot_factory, pki
):
    server = dovecot_factory()
    user = server.add_user("down@example.test")
    eng = inbox_engine(tmp_path, monkeypatch, server, user, pki)
    try:
        server.append(user, [reply(6)])
        server.stop()
        down = asyncio.run(eng.poll_replies())
        assert down.poll.errors and "cannot connect" in down.poll.errors[0]
        assert rows(eng, t.event, t.event.c.kind == "imap_error")
        server.start()
        up = asyncio.run(eng.poll_replies())
        assert up.poll.errors == [] and up.poll.applied == 1
        assert rows(eng, t.event, t.event.c.kind == "imap_recovered")
    finally:
        asyncio.run(eng.aclose())


def test_dovecot_restarted_during_a_poll_recovers_next_cycle(
    tmp_path, monkeypatch, dovecot_factory, pki
):
    """The server goes away between the UID search and the fetch of a batch."""
    server = dovecot_factory()
    user = server.add_user("restart@example.test")
    eng = inbox_engine(tmp_path, monkeypatch, server, user, pki)
    server.append(user, [reply(n, sender=f"p{n}@example.com") for n in range(10, 15)])
    imap_module = __import__("outreach_tui.mail.imap", fromlist=["ImapSession"])
    original = imap_module.ImapSession.fetch
    restarted = []

    def fetch_after_restart(self, uids):
        if not restarted:
            restarted.append(True)
            server.restart()
        return original(self, uids)

    monkeypatch.setattr(imap_module.ImapSession, "fetch", fetch_after_restart)
    try:
        broken = asyncio.run(eng.poll_replies())
        assert broken.poll.errors and broken.poll.applied == 0
        recovered = asyncio.run(eng.poll_replies())
        assert recovered.poll.errors == [] and recovered.poll.applied == 5
        assert len(rows(eng, t.reply)) == 5
    finally:
        asyncio.run(eng.aclose())


def test_out_of_office_postpones_and_any_reply_later_still_stops(engine, dovecot, dovecot_user):
    ids = seed_thread(engine, recipient="anna@example.com", message_id="<ours-7@outreach.test>")
    ooo = reply(
        7,
        subject="Automatic reply: Quick question",
        in_reply_to="<ours-7@outreach.test>",
        body="I am out of the office until 20 March 2026 with limited access to email.",
    )
    ooo = ooo.replace(b"Content-Type", b"Auto-Submitted: auto-replied\r\nContent-Type", 1)
    dovecot.append(dovecot_user, [ooo])
    asyncio.run(engine.poll_replies())
    (enrollment,) = rows(engine, t.campaign_lead, t.campaign_lead.c.id == ids["enrollment"])
    assert enrollment.state == "active"
    assert enrollment.next_due_at >= datetime(2026, 3, 21, tzinfo=UTC)
    dovecot.append(dovecot_user, [reply(8, in_reply_to="<ours-7@outreach.test>")])
    asyncio.run(engine.poll_replies())
    (enrollment,) = rows(engine, t.campaign_lead, t.campaign_lead.c.id == ids["enrollment"])
    assert enrollment.state == "stopped"
