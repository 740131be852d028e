"""Text that looks like an RFC 2047 encoded word (from a template or lead data) reaches the
recipient as written: the message carries it encoded, so a mail client shows the literal text
instead of decoding it into something else. Sent through the pipeline to aiosmtpd on loopback."""

from __future__ import annotations

import asyncio
import email
import email.policy
from datetime import UTC, datetime

import pytest

from outreach_tui.engine.clock import SimulatedClock
from outreach_tui.engine.sending.pipeline import SendRequest
from outreach_tui.mail.message import OutgoingMessage, build_message
from tests.functional.helpers import PASSWORD, PASSWORD_ENV, SENDER, START, make_engine

LOOKALIKES = [
    "Your invoice =?utf-8?q?=E2=9C=93_paid?=",
    "=?UTF-8?B?QWNjb3VudCBzdXNwZW5kZWQ=?= Anna",
    "50% off =?iso-8859-1?q?caf=E9?= today, really",
]


@pytest.mark.parametrize("subject", LOOKALIKES)
def test_a_subject_that_looks_encoded_is_shown_as_written(tmp_path, smtp_server, pki, monkeypatch,
                                                         subject):  # fmt: skip
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    server = smtp_server(security="starttls", users={SENDER: PASSWORD})
    engine = make_engine(tmp_path, server, pki, SimulatedClock(START))

    async def run():
        try:
            return await engine.send(SendRequest(SENDER, "anna@firma.de", subject, "Hello.\n"))
        finally:
            await engine.transport.close()

    try:
        outcome = asyncio.run(run())
    finally:
        asyncio.run(engine.aclose())

    assert outcome.sent, outcome
    (received,) = server.received
    assert received.parsed()["Subject"] == subject


def test_a_sender_name_that_looks_encoded_is_shown_as_written():
    name = "Sam =?utf-8?q?from_IT_Support?="
    message = OutgoingMessage(
        sender_email="sam@outreach.test", sender_name=name, recipient_email="anna@firma.de",
        subject="Hi", body="Hello.\n", message_id="<m1@outreach.test>",
        date=datetime(2026, 3, 2, tzinfo=UTC),
    )  # fmt: skip

    parsed = email.message_from_bytes(build_message(message), policy=email.policy.default)
    assert parsed["From"].addresses[0].display_name == name
