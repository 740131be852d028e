"""A reply the client cannot read is never a refusal: a retry before the final ".", unknown
after it. Against a scripted server on loopback (tests/servers/hostile_smtp.py) that answers
one stage with a line aiosmtplib reports as code -1 (a 9,000-byte line, or no code at all)."""

from __future__ import annotations

import pytest

from outreach_tui.core.smtp_reply import Stage
from outreach_tui.core.states import ErrorClass
from outreach_tui.mail.smtp import DeliveryResult, SmtpEndpoint, SmtpTransport
from tests.servers.aio import run_async
from tests.servers.hostile_smtp import HostileSmtpServer

MESSAGE = b"From: sam@outreach.test\r\nTo: anna@firma.de\r\nSubject: Hi\r\n\r\nHello\r\n"
LONG_250 = b"250 2.0.0 " + b"x" * 9000 + b"\r\n"
NO_CODE = b"queued as 4AbC\r\n"

#: server stage → (the client's stage, the class it must come to)
BEFORE_THE_DOT = {
    "MAIL": Stage.MAIL,
    "RCPT": Stage.RCPT,
    "DATA": Stage.DATA_START,
}


def deliver(server: HostileSmtpServer, pki) -> DeliveryResult:
    endpoint = SmtpEndpoint(
        host=server.host,
        port=server.port,
        security="tls",
        username="sam@outreach.test",
        password=lambda: "secret",
        ca_file=pki.ca_file,
        timeout=5,
    )

    async def run() -> DeliveryResult:
        transport = SmtpTransport()
        try:
            return await transport.deliver(endpoint, "sam@outreach.test", "anna@firma.de", MESSAGE)
        finally:
            await transport.close()

    return run_async(run)


@pytest.mark.parametrize("reply", [LONG_250, NO_CODE], ids=["9000-byte line", "no code"])
@pytest.mark.parametrize("stage", list(BEFORE_THE_DOT))
def test_an_unreadable_reply_before_the_final_dot_is_a_retry_never_a_refusal(pki, stage, reply):
    with HostileSmtpServer(pki, replies={stage: reply}) as server:
        result = deliver(server, pki)

    assert not result.accepted
    assert result.stage is BEFORE_THE_DOT[stage]
    assert result.error_class is ErrorClass.TRANSIENT
    assert server.received == []


@pytest.mark.parametrize("reply", [LONG_250, NO_CODE], ids=["9000-byte line", "no code"])
def test_an_unreadable_reply_after_the_final_dot_is_unknown_never_refused(pki, reply):
    with HostileSmtpServer(pki, replies={"END": reply}) as server:
        result = deliver(server, pki)

    assert not result.accepted
    assert result.stage is Stage.DATA_END
    assert result.error_class is ErrorClass.UNKNOWN_OUTCOME
    assert len(server.received) == 1  # the server has the message: a resend would duplicate it
    assert "QUIT" not in server.stages  # out of step: closed, not spoken to again


def test_a_reply_other_than_354_to_data_is_a_retry(pki):
    with HostileSmtpServer(pki, replies={"DATA": b"250 2.0.0 Ok\r\n"}) as server:
        result = deliver(server, pki)

    assert (result.stage, result.error_class) == (Stage.DATA_START, ErrorClass.TRANSIENT)
