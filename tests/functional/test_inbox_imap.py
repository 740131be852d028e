"""The IMAP client against a real Dovecot: pinned TLS both ways, verified certificates, and no
data-built argument that can inject a command (asserted on what Dovecot received: its rawlog)."""

from __future__ import annotations

import asyncio
import re

import pytest

from outreach_tui.config import load_settings
from outreach_tui.db import tables as t
from outreach_tui.engine import build_engine
from outreach_tui.engine.clock import SimulatedClock
from outreach_tui.mail.imap import (
    ImapArgumentError,
    ImapClient,
    ImapEndpoint,
    ImapTlsError,
)
from outreach_tui.secrets import secret_getter
from tests.functional.helpers import START
from tests.functional.inbox_world import (
    CORPUS,
    IMAP_PASSWORD_ENV,
    MAILBOX,
    inbox_engine,
    rows,
    seed_thread,
)

MESSAGE = (
    b"From: Anna <anna@example.com>\r\nTo: sam@outreach.test\r\nSubject: Re: hi\r\n"
    b"Message-ID: <plain-1@example.com>\r\n\r\nYes please, send details.\r\n"
)


def commands(raw: bytes) -> list[bytes]:
    """The command lines Dovecot's rawlog recorded (timestamps stripped)."""
    lines = [re.sub(rb"^\d+\.\d+ ", b"", line) for line in raw.split(b"\r\n")]
    return [line for line in lines if re.match(rb"^[A-Za-z0-9]+ [A-Z]", line)]


def endpoint(server, user, pki, *, security="tls", ca=True, monkeypatch=None) -> ImapEndpoint:
    monkeypatch.setenv(IMAP_PASSWORD_ENV, user.password)
    return ImapEndpoint(
        host=server.host,
        port=server.imaps_port if security == "tls" else server.imap_port,
        username=user.name,
        password=secret_getter(f"env:{IMAP_PASSWORD_ENV}", key="imap_password"),
        security=security,
        ca_file=server.pki.ca_file if ca else None,
        timeout=10,
    )


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_replies_are_read_over_imaps_and_over_starttls(
    tmp_path, monkeypatch, dovecot, dovecot_user, pki, security
):
    dovecot.append(dovecot_user, [MESSAGE])
    engine = inbox_engine(tmp_path, monkeypatch, dovecot, dovecot_user, pki, security=security)
    try:
        cycle = asyncio.run(engine.poll_replies())
        assert cycle.poll.errors == []
        assert cycle.poll.applied == 1
    finally:
        asyncio.run(engine.aclose())
    sent = commands(dovecot.rawlog(dovecot_user))
    # Read-only and never marking: EXAMINE and BODY.PEEK[], no STORE/EXPUNGE/SELECT.
    assert any(b" EXAMINE INBOX" in c for c in sent)
    assert any(b"BODY.PEEK[]" in c for c in sent)
    assert not [c for c in sent if re.search(rb" (STORE|EXPUNGE|SELECT|DELETE|COPY|MOVE) ", c)]


def test_a_server_without_starttls_is_refused_before_any_login(
    tmp_path, monkeypatch, dovecot_factory, pki
):
    server = dovecot_factory(tls="none")
    user = server.add_user("plain@example.test")
    engine = inbox_engine(tmp_path, monkeypatch, server, user, pki, security="starttls")
    try:
        cycle = asyncio.run(engine.poll_replies())
    finally:
        asyncio.run(engine.aclose())
    assert "does not offer STARTTLS" in cycle.poll.errors[0]
    assert "Login: user=" not in server.log_tail(200)
    assert server.rawlog(user) == b""  # no session of this user ever existed


@pytest.mark.parametrize("cert", ["wrong_host", "untrusted", "expired"])
def test_a_certificate_that_does_not_verify_fails_clearly(monkeypatch, dovecot_factory, pki, cert):
    server = dovecot_factory(cert=cert)
    user = server.add_user()
    with pytest.raises(ImapTlsError, match="secure connection failed"):
        asyncio.run(_open(endpoint(server, user, pki, monkeypatch=monkeypatch)))


def test_the_test_ca_is_not_trusted_without_ca_file(monkeypatch, dovecot, dovecot_user, pki):
    with pytest.raises(ImapTlsError):
        asyncio.run(_open(endpoint(dovecot, dovecot_user, pki, ca=False, monkeypatch=monkeypatch)))


async def _open(ep: ImapEndpoint) -> None:
    async with ImapClient(ep) as imap:
        await imap.examine("INBOX")


@pytest.mark.parametrize(
    "hostile",
    [
        "<a@x>\r\nA1 DELETE INBOX",
        "<a@x>\nA1 DELETE INBOX",
        "<a@x>\rA1 DELETE INBOX",
        "<a\x00b@x> A1 DELETE INBOX",
    ],
)
def test_a_message_id_with_a_line_break_or_nul_never_reaches_the_server(
    monkeypatch, dovecot, dovecot_user, pki, hostile
):
    async def search() -> None:
        async with ImapClient(
            endpoint(dovecot, dovecot_user, pki, monkeypatch=monkeypatch)
        ) as imap:
            await imap.examine("INBOX")
            with pytest.raises(ImapArgumentError):
                await imap.search_header("Message-ID", hostile)

    asyncio.run(search())
    raw = dovecot.rawlog(dovecot_user)
    assert b"DELETE" not in raw
    assert not [c for c in commands(raw) if b"SEARCH" in c]


def test_imap_syntax_in_a_message_id_travels_as_a_literal(monkeypatch, dovecot, dovecot_user, pki):
    dovecot.append(dovecot_user, [MESSAGE])
    hostile = '<x") OR HEADER Message-ID "" {5} A1 LOGOUT@outreach.test>'

    async def search() -> list[int]:
        async with ImapClient(
            endpoint(dovecot, dovecot_user, pki, monkeypatch=monkeypatch)
        ) as imap:
            await imap.examine("INBOX")
            return await imap.search_header("Message-ID", hostile)

    assert asyncio.run(search()) == []  # matched nothing: the OR never became syntax
    sent = commands(dovecot.rawlog(dovecot_user))
    searches = [c for c in sent if b"SEARCH" in c]
    assert len(searches) == 1
    assert searches[0].endswith(b"UID SEARCH HEADER Message-ID {%d}" % len(hostile))
    assert not [c for c in sent if b" LOGOUT@" in c or c.split(b" ")[1:2] == [b"OR"]]


def test_the_corpus_hostile_message_is_stored_and_nothing_of_it_goes_to_the_wire(
    tmp_path, monkeypatch, dovecot, dovecot_user, pki
):
    raw = (CORPUS / "hostile_message_id.eml").read_bytes()
    dovecot.append(dovecot_user, [raw])
    engine = inbox_engine(tmp_path, monkeypatch, dovecot, dovecot_user, pki)
    try:
        asyncio.run(engine.poll_replies())
    finally:
        asyncio.run(engine.aclose())
    (stored,) = rows(engine, t.reply)
    assert "\x00" not in (stored.message_id or "")
    appending, polling = dovecot.rawlog_sessions(dovecot_user)  # the test's APPEND, the poll
    assert b"LOGOUT@" in appending
    assert b"LOGOUT@" not in polling and b"evil.example" not in polling
    assert [c.split(b" ")[1] for c in commands(polling)] == [
        b"EXAMINE",
        b"UID",
        b"UID",
        b"CLOSE",
        b"LOGOUT",
    ]


def test_reconciling_a_hostile_message_id_refuses_it(
    tmp_path, monkeypatch, dovecot, dovecot_user, pki
):
    engine = inbox_engine(tmp_path, monkeypatch, dovecot, dovecot_user, pki)
    try:
        ids = seed_thread(
            engine,
            recipient="anna@example.com",
            message_id="<a@x>\r\nA9 DELETE Sent",
            state="unknown",
        )
        cycle = asyncio.run(engine.poll_replies())
    finally:
        asyncio.run(engine.aclose())
    assert cycle.reconcile.undecided == [ids["attempt"]]
    assert b"DELETE" not in dovecot.rawlog(dovecot_user)
    (attempt,) = rows(engine, t.attempt, t.attempt.c.id == ids["attempt"])
    assert attempt.state == "unknown"


def test_single_mailbox_from_imap_environment_variables(
    monkeypatch, tmp_path, dovecot, dovecot_user, pki
):
    dovecot.append(dovecot_user, [MESSAGE.replace(b"plain-1", b"env-%d" % n) for n in range(3)])
    for name, value in {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": "9",
        "SMTP_USER": MAILBOX,
        "SMTP_PASS": "x",
        "IMAP_HOST": dovecot.host,
        "IMAP_PORT": str(dovecot.imap_port),
        "IMAP_USER": dovecot_user.name,
        "IMAP_PASS": dovecot_user.password,
        "IMAP_FETCH_LIMIT": "2",
    }.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(
        None,
        database_url=f"sqlite:///{tmp_path / 'env.db'}",
        tls={"ca_file": str(dovecot.pki.ca_file)},
        logging={"file": str(tmp_path / "env.log")},
    )
    engine = build_engine(settings, headless=True, clock=SimulatedClock(START))
    try:
        (box,) = rows(engine, t.mailbox)
        assert (box.imap_security, box.imap_password_ref) == ("starttls", "env:IMAP_PASS")
        first = asyncio.run(engine.poll_replies())
        second = asyncio.run(engine.poll_replies())
    finally:
        asyncio.run(engine.aclose())
    assert (first.poll.fetched, first.poll.mailboxes[0].more) == (2, True)
    assert second.poll.fetched == 1
    assert len(rows(engine, t.reply)) == 3
