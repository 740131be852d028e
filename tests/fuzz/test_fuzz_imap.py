"""Fuzzing the IMAP client against a hostile server on loopback (tests/servers/hostile_imap.py,
implicit TLS with the run-time test CA): whatever one command is answered with, the client
raises nothing but its own `ImapError`s, returns only values the protocol allows (UIDs and
UIDVALIDITY in 1..2^32-1, messages within the size cap, only the UIDs asked for), and never
hangs past its bounds."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outreach_tui.mail.imap import ImapEndpoint, ImapError, ImapSession
from outreach_tui.mail.imap_wire import UID_MAX
from tests.servers.hostile_imap import HostileImapServer

CAP = 64 * 1024
TIMEOUT = 0.5
#: A session's worst case: a few commands, each bounded by the socket timeout.
SESSION_BOUND = 10.0
MESSAGE = b"From: anna@example.com\r\nSubject: hi\r\nMessage-ID: <m@x>\r\n\r\nhello\r\n"

COMMANDS = ["GREETING", "CAPABILITY", "LOGIN", "EXAMINE", "UID SEARCH", "UID FETCH", "LIST"]

numbers = st.one_of(
    st.integers(min_value=0, max_value=2**32 + 5).map(lambda n: str(n).encode()),
    st.sampled_from([b"0", b"4294967295", b"4294967296", b"100000000000000000000", b"-1",
                     b"abc", b"1e3", b"", b"9" * 5000, b"\xff", b"0x10"]),
)  # fmt: skip
text = st.binary(max_size=30).map(lambda b: b.replace(b"\n", b" ").replace(b"\r", b" "))
dates = st.sampled_from([b"02-Mar-2026 11:00:00 +0000", b"31-Dec-9999 23:00:00 -0500",
                         b"99-Foo-0000 99:99:99 +9999", b""])  # fmt: skip


@st.composite
def literal(draw: st.DrawFn) -> bytes:
    data = draw(st.binary(max_size=200))
    size = draw(
        st.one_of(
            st.just(len(data)),
            st.integers(min_value=0, max_value=len(data) + 20),
            st.sampled_from([CAP + 1, 10**13, 2**63]),
        )
    )
    return b"{%d}\r\n" % size + data


@st.composite
def untagged(draw: st.DrawFn) -> bytes:
    n = draw(numbers)
    kind = draw(st.integers(min_value=0, max_value=9))
    if kind == 0:
        return b"* SEARCH " + b" ".join(draw(st.lists(numbers, max_size=5)))
    if kind == 1:
        return b"* " + n + b" EXISTS"
    if kind == 2:
        return b"* OK [UIDVALIDITY " + n + b"] " + draw(text)
    if kind == 3:
        return b"* OK [UIDNEXT " + n + b"] x"
    if kind == 4:
        return (
            b"* 1 FETCH (UID " + n + b' INTERNALDATE "' + draw(dates) + b'" BODY[]<0> '
            + draw(literal()) + b")"
        )  # fmt: skip
    if kind == 5:
        return b"* LIST (" + draw(text) + b') "/" ' + draw(text)
    if kind == 6:
        return b"* CAPABILITY " + draw(text)
    if kind == 7:
        return b"* " + draw(text) + b" " + draw(literal())
    if kind == 8:
        return b"+ " + draw(text)
    return draw(text)


completion = st.sampled_from(
    [b"{tag} OK done", b"{tag} NO no", b"{tag} BAD bad", b"{tag} OK", b"X999 OK other tag",
     b"* BYE going away", b""]
)  # fmt: skip


@st.composite
def answer(draw: st.DrawFn) -> bytes:
    lines = [*draw(st.lists(untagged(), max_size=4)), draw(completion)]
    ending = draw(st.sampled_from([b"\r\n", b"\n"]))
    return b"".join(line + ending for line in lines if line)


@pytest.fixture(scope="module")
def server(pki) -> Iterator[HostileImapServer]:
    with HostileImapServer(pki, messages={1: MESSAGE, 7: MESSAGE}) as running:
        yield running


def endpoint(server: HostileImapServer, ca_file) -> ImapEndpoint:
    return ImapEndpoint(
        host=server.host,
        port=server.port,
        username="anyone",
        password=lambda: "secret",
        ca_file=ca_file,
        timeout=TIMEOUT,
        max_message_bytes=CAP,
        command_seconds=2.0,
    )


def one_session(session: ImapSession) -> None:
    session.open()
    state = session.examine("INBOX")
    assert 1 <= state.uidvalidity <= UID_MAX and 0 <= state.exists <= UID_MAX
    uids = session.uids_after(0)
    assert all(1 <= u <= UID_MAX for u in uids) and uids == sorted(set(uids))
    wanted = uids[:3]
    for fetched in session.fetch(wanted):
        assert fetched.uid in wanted and len(fetched.raw) <= CAP
    session.sent_folder("Sent")
    assert all(1 <= u <= UID_MAX for u in session.search_header("Message-ID", "m@x"))


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(command=st.sampled_from(COMMANDS), reply=answer())
def test_a_hostile_answer_to_any_command_is_an_imap_error_never_another_exception(
    server, pki, command, reply
):
    server.answers = {command: reply}
    session = ImapSession(endpoint(server, pki.ca_file))
    started = time.monotonic()
    try:
        one_session(session)
    except ImapError:
        pass  # the only failure the poller expects: it costs this mailbox's cycle
    finally:
        session.close()
    assert time.monotonic() - started < SESSION_BOUND
