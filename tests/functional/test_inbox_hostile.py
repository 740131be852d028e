"""A hostile or broken IMAP server costs its own mailbox's cycle, never the others': the
poller reads a scripted server on loopback (tests/servers/hostile_imap.py) first and a real
Dovecot second, and the Dovecot mailbox's unsubscribe is applied whatever the first answered."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from outreach_tui.db import tables as t
from outreach_tui.mail.imap import ImapEndpoint, ImapProtocolError, ImapSession
from tests.functional.inbox_world import (
    IMAP_PASSWORD_ENV,
    MAILBOX,
    SMTP_PASSWORD_ENV,
    inbox_engine,
    rows,
    seed_thread,
)
from tests.servers.hostile_imap import HostileImapServer

HOSTILE_MAILBOX = "hostile@outreach.test"
OUR_ID = "<step1-hostile@outreach.test>"


def unsubscribe(date: str = "Mon, 02 Mar 2026 11:00:00 +0000") -> bytes:
    return (
        "From: Anna <anna@example.com>\r\nTo: sam@outreach.test\r\nSubject: Re: Quick question\r\n"
        f"Message-ID: <unsub-1@example.com>\r\nIn-Reply-To: {OUR_ID}\r\nDate: {date}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nPlease unsubscribe me from this list.\r\n"
    ).encode()


BIG = b"100000000000000000000"  # 10^20: past any integer column
HOSTILE_MESSAGE = b"From: x@example.org\r\nSubject: hi\r\n\r\nhello\r\n"

ANSWERS: dict[str, dict[str, bytes]] = {
    "a SEARCH answer that is no number": {
        "UID SEARCH": b"* SEARCH 1 abc\r\n{tag} OK done\r\n",
    },
    "a UID of 10^20": {
        "UID SEARCH": b"* SEARCH " + BIG + b"\r\n{tag} OK done\r\n",
        "UID FETCH": b"* 1 FETCH (UID " + BIG + b' INTERNALDATE "02-Mar-2026 11:00:00 +0000" '
        b"BODY[]<0> {%d}\r\n%s)\r\n{tag} OK done\r\n" % (len(HOSTILE_MESSAGE), HOSTILE_MESSAGE),
    },
    "a UIDVALIDITY of 10^20": {
        "EXAMINE": b"* 1 EXISTS\r\n* OK [UIDVALIDITY " + BIG + b"] x\r\n{tag} OK [READ-ONLY] x\r\n",
    },
    "a literal of 10^13 bytes": {
        "UID FETCH": b"* 1 FETCH (UID 1 BODY[]<0> {10000000000000}\r\nFrom: x@example.org\r\n",
    },
}


def two_mailboxes(hostile: HostileImapServer, dovecot: Any, user: Any) -> list[dict[str, Any]]:
    """The hostile server's mailbox first (polled first), then the Dovecot one."""

    def box(email: str, host: str, port: int, imap_user: str) -> dict[str, Any]:
        return {
            "email": email,
            "from_name": "Sam",
            "smtp_host": "127.0.0.1",
            "smtp_port": 9,
            "smtp_user": email,
            "smtp_password": f"env:{SMTP_PASSWORD_ENV}",
            "imap_host": host,
            "imap_port": port,
            "imap_security": "tls",
            "imap_user": imap_user,
            "imap_password": f"env:{IMAP_PASSWORD_ENV}",
        }

    return [
        box(HOSTILE_MAILBOX, hostile.host, hostile.port, "anyone"),
        box(MAILBOX, dovecot.host, dovecot.imaps_port, user.name),
    ]


@pytest.mark.parametrize("answer", list(ANSWERS))
def test_a_hostile_imap_server_costs_only_its_own_mailboxs_cycle(
    tmp_path, monkeypatch, dovecot, dovecot_user, pki, answer
):
    dovecot.append(dovecot_user, [unsubscribe()])
    with HostileImapServer(pki, messages={1: HOSTILE_MESSAGE}, answers=ANSWERS[answer]) as bad:
        engine = inbox_engine(
            tmp_path, monkeypatch, dovecot, dovecot_user, pki,
            mailboxes=two_mailboxes(bad, dovecot, dovecot_user),
        )  # fmt: skip
        try:
            seed_thread(engine, recipient="anna@example.com", message_id=OUR_ID)
            cycle = asyncio.run(engine.poll_replies())
        finally:
            asyncio.run(engine.aclose())

    first, second = cycle.poll.mailboxes
    assert first.mailbox == HOSTILE_MAILBOX and first.error and first.applied == 0
    assert second.mailbox == MAILBOX and second.error is None and second.applied == 1
    assert rows(engine, t.suppression, t.suppression.c.value == "anna@example.com")
    events = rows(engine, t.event, t.event.c.kind == "imap_error")
    assert [e.message for e in events if HOSTILE_MAILBOX in e.message]
    (stored,) = rows(engine, t.reply)  # the Dovecot mailbox's reply, nothing of the other
    assert stored.message_id == "<unsub-1@example.com>"


@pytest.mark.parametrize("uidvalidity", [b"0", b"4294967296", b"-5", b"1" * 5000])
def test_a_uidvalidity_outside_rfc_3501s_range_is_a_protocol_error(pki, uidvalidity):
    examine = b"* OK [UIDVALIDITY " + uidvalidity + b"] x\r\n{tag} OK [READ-ONLY] x\r\n"
    with HostileImapServer(pki, answers={"EXAMINE": examine}) as bad:
        session = ImapSession(endpoint(bad, pki))
        session.open()
        try:
            with pytest.raises(ImapProtocolError, match="UIDVALIDITY"):
                session.examine("INBOX")
        finally:
            session.close()


def test_a_literal_over_the_size_cap_is_refused_before_it_is_read(pki):
    # 3 MiB announced and sent: the cap is 1 MiB, so not a byte of it is read.
    big = 3 * 1024 * 1024
    fetch = b"* 1 FETCH (UID 1 BODY[]<0> {%d}\r\n" % big + b"x" * big + b")\r\n{tag} OK done\r\n"
    with HostileImapServer(pki, messages={1: HOSTILE_MESSAGE}, answers={"UID FETCH": fetch}) as bad:
        session = ImapSession(endpoint(bad, pki, max_message_bytes=1024 * 1024))
        session.open()
        try:
            session.examine("INBOX")
            with pytest.raises(ImapProtocolError, match="literal of 3145728 bytes"):
                session.fetch([1])
        finally:
            session.close()
    # The fetch asked for no more than the cap: a longer message comes as its head.
    assert any(b"BODY.PEEK[]<0.1048576>" in line for line in bad.commands)


def test_a_reply_dated_in_year_9999_with_a_negative_offset_is_applied_at_its_arrival(
    tmp_path, monkeypatch, dovecot, dovecot_user, pki
):
    dovecot.append(dovecot_user, [unsubscribe(date="Fri, 31 Dec 9999 23:00:00 -0500")])
    engine = inbox_engine(tmp_path, monkeypatch, dovecot, dovecot_user, pki)
    try:
        seed_thread(engine, recipient="anna@example.com", message_id=OUR_ID)
        cycle = asyncio.run(engine.poll_replies())
    finally:
        asyncio.run(engine.aclose())

    assert cycle.poll.errors == [] and cycle.poll.applied == 1
    (reply,) = rows(engine, t.reply)
    assert reply.classification == "unsubscribe" and reply.received_at.year < 9999
    assert rows(engine, t.suppression, t.suppression.c.value == "anna@example.com")


def endpoint(server: HostileImapServer, pki: Any, **extra: Any) -> ImapEndpoint:
    return ImapEndpoint(
        host=server.host,
        port=server.port,
        username="anyone",
        password=lambda: "secret",
        ca_file=pki.ca_file,
        timeout=5,
        **extra,
    )
