"""Fuzzing the SMTP transport against a hostile server on loopback (tests/servers/hostile_smtp.py,
implicit TLS with the run-time test CA): whatever one stage is answered with, `deliver` returns
a `DeliveryResult` (never raises), and its class follows the stage rules (core/smtp_reply.py):

    the stage's own success code   the delivery goes on (and is accepted: the rest is correct)
    4xx                            a retry (transient), at that stage
    5xx                            a refusal, at that stage
    anything else, unreadable      a retry before the final "."; unknown after it (the server
                                   had the whole message); never a refusal or a hard bounce
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outreach_tui.core.smtp_reply import Stage
from outreach_tui.core.states import ErrorClass
from outreach_tui.mail.smtp import DeliveryResult, SmtpEndpoint, SmtpTransport
from tests.servers.aio import run_async
from tests.servers.hostile_smtp import HostileSmtpServer, reply_code

MESSAGE = b"From: sam@outreach.test\r\nTo: anna@firma.de\r\nSubject: Hi\r\n\r\nHello\r\n"
TIMEOUT = 1.0
#: One delivery's worst case: a handful of replies, each bounded by the timeout.
DELIVERY_BOUND = 10.0

#: Transaction stages: the server's name → (the client's stage, the codes that go on).
TRANSACTION = {
    "MAIL": (Stage.MAIL, {250}),
    "RCPT": (Stage.RCPT, {250, 251}),
    "DATA": (Stage.DATA_START, {354}),
    "END": (Stage.DATA_END, {250}),
}
SETUP = ("GREETING", "EHLO", "AUTH")
PERMANENT = {ErrorClass.HARD_BOUNCE, ErrorClass.REJECTED_MESSAGE, ErrorClass.SENDER_REFUSED}

codes = st.one_of(
    st.sampled_from([b"250", b"251", b"354", b"220", b"235", b"221", b"334", b"421", b"450",
                     b"451", b"452", b"500", b"550", b"553", b"554", b"535", b"199", b"999",
                     b"000", b"-12", b"2_5", b" 25", b"+25", b"abc", b"2500", b"25"]),
    st.binary(max_size=4).map(lambda b: b.replace(b"\n", b"")),
)  # fmt: skip
line_text = st.one_of(
    st.binary(max_size=40).map(lambda b: b.replace(b"\n", b" ")),
    st.sampled_from([b"5.1.1 User unknown", b"5.7.1 Policy refusal", b"4.7.1 Greylisted",
                     b"2.0.0 Ok: queued", b"AUTH PLAIN LOGIN", b"\x1b[2J\x1b]52;c;eHg=\x07"]),
    st.integers(min_value=8000, max_value=12000).map(lambda n: b"x" * n),
)  # fmt: skip


@st.composite
def reply(draw: st.DrawFn) -> bytes:
    """One reply as a server might send it: continuation lines (three-byte code and "-"),
    then a last line; complete, so the client never waits for more of it."""
    ending = draw(st.sampled_from([b"\r\n", b"\n"]))
    middle = draw(st.lists(st.tuples(codes, line_text), max_size=3))
    lines = [code[:3].ljust(3, b"0") + b"-" + text for code, text in middle]
    sep = draw(st.sampled_from([b" ", b"", b"\t"]))
    lines.append(draw(codes) + sep + draw(line_text))
    out = b"".join(line + ending for line in lines)
    if reply_code(out) is None:  # the last line reads as "more to come": end it
        out += b"250 end" + ending
    return out


@pytest.fixture(scope="module")
def server(pki) -> Iterator[HostileSmtpServer]:
    with HostileSmtpServer(pki) as running:
        yield running


def deliver(server: HostileSmtpServer, ca_file) -> DeliveryResult:
    endpoint = SmtpEndpoint(
        host=server.host,
        port=server.port,
        security="tls",
        username="sam@outreach.test",
        password=lambda: "secret",
        ca_file=ca_file,
        timeout=TIMEOUT,
    )

    async def run() -> DeliveryResult:
        transport = SmtpTransport(reuse_connections=False)
        try:
            return await transport.deliver(endpoint, "sam@outreach.test", "anna@firma.de", MESSAGE)
        finally:
            await transport.close()

    return run_async(run)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(stage=st.sampled_from([*TRANSACTION, *SETUP]), answer=reply())
def test_any_reply_at_any_stage_gives_a_result_whose_class_follows_the_stage_rules(
    server, pki, stage, answer
):
    server.replies = {stage: answer}
    started = time.monotonic()

    result = deliver(server, pki.ca_file)

    assert time.monotonic() - started < DELIVERY_BOUND
    assert isinstance(result, DeliveryResult)
    assert result.accepted == (result.error_class is None)
    if stage in SETUP:
        # Setting up: the server's trouble or a refused login, never the recipient's.
        assert result.accepted or result.error_class in {
            ErrorClass.CONNECTION, ErrorClass.TLS, ErrorClass.AUTH, ErrorClass.TRANSIENT,
        }  # fmt: skip
        return
    client_stage, goes_on = TRANSACTION[stage]
    code = reply_code(answer)
    assert code is not None
    if code in goes_on:
        assert result.accepted, result
        return
    assert not result.accepted and result.stage is client_stage, result
    if 400 <= code < 500:
        assert result.error_class is ErrorClass.TRANSIENT
    elif 500 <= code < 600:
        assert result.error_class in PERMANENT
    elif client_stage is Stage.DATA_END:
        assert result.error_class is ErrorClass.UNKNOWN_OUTCOME, result
    else:
        assert result.error_class is ErrorClass.TRANSIENT, result
