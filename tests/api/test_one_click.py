"""One-click unsubscribe (RFC 8058) end to end: a message the pipeline really sent to an SMTP
sink on loopback carries the signed link; the link, taken from the delivered message, is
followed against the API served over HTTPS by uvicorn. GET only shows a button; POST with
`List-Unsubscribe=One-Click` suppresses at once through the suppression service (audited),
and the lead's sequences stop. An altered link changes nothing."""

from __future__ import annotations

import email
import email.policy
import re

import httpx
import pytest
from sqlalchemy import select

from outreach_tui.config import load_settings
from outreach_tui.core.errors import ConfigError
from outreach_tui.db import tables as t
from outreach_tui.engine import load_campaign_file
from tests.api.server import free_port
from tests.functional.campaign_helpers import write_campaign
from tests.functional.helpers import SENDER

CAMPAIGN = """
name = "Spring"
approval = "auto"
[window]
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
start = "00:00"
end = "24:00"
[[steps]]
subject = "Quick question"
body = "Hi {{first_name|there}}, a quick idea."
delay_days = 0
[[steps]]
subject = "Re: Quick question"
body = "Following up."
delay_days = 3
"""


@pytest.fixture
def world(api_world, pki, tmp_path):
    """The API over HTTPS (the test CA's certificate for localhost), and an engine whose
    messages carry https://localhost:PORT/unsubscribe/{token}."""
    port = free_port()
    certfile = tmp_path / "server.pem"
    pki.certs["good"].private_key_and_cert_chain_pem.write_to_path(str(certfile))
    api = api_world(
        certfile=certfile,
        port=port,
        sending={
            "unsubscribe_url": f"https://localhost:{port}/unsubscribe/{{token}}",
            "unsubscribe_key": "env:UNSUBSCRIBE_KEY",
            "min_gap_seconds": 0,
            "max_gap_seconds": 0,
        },
        operator={"timezone": "Europe/Berlin"},
    )
    api.engine.campaigns.create(load_campaign_file(write_campaign(tmp_path, CAMPAIGN)))
    with api.client(verify=pki.client_context()) as client:
        response = client.post(
            "/leads",
            json={"leads": [{"email": "anna@firma.de", "first_name": "Anna",
                             "last_name": "Schmidt"}], "campaign": "Spring"},
        )  # fmt: skip
        assert response.json()["enrolled"] == 1
    api.engine.plan()
    api.send_due = lambda: _dispatch(api)  # type: ignore[attr-defined]
    return api


def _dispatch(api):
    import asyncio

    async def run():
        try:
            return await api.engine.dispatch()
        finally:
            await api.engine.transport.close()

    return asyncio.run(run())


def delivered(api):
    (message,) = api.smtp.received
    return message.data, message.parsed()


def lead_state(api):
    with api.engine.db.connect() as conn:
        status = conn.execute(select(t.lead.c.status)).scalar_one()
        enrollment = conn.execute(select(t.campaign_lead.c.state)).scalar_one()
        suppressed = conn.execute(
            select(t.suppression.c.value, t.suppression.c.source, t.suppression.c.created_by)
        ).all()
    return status, enrollment, suppressed


def test_the_sent_message_carries_a_signed_https_link_in_a_clients_shape(world):
    assert world.send_due().sent == 1
    raw, message = delivered(world)
    head = raw.split(b"\r\n\r\n", 1)[0].decode()
    names = [line.split(":", 1)[0] for line in head.split("\r\n") if not line[:1].isspace()]
    assert names == ["From", "To", "Subject", "Date", "Message-ID", "List-Unsubscribe",
                     "List-Unsubscribe-Post", "MIME-Version", "Content-Type",
                     "Content-Transfer-Encoding"]  # fmt: skip
    assert message["To"] == "Anna Schmidt <anna@firma.de>"
    assert message["Date"].endswith("+0100")  # Europe/Berlin in March
    assert message["Content-Transfer-Encoding"] == "7bit"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = [u.strip(" <>") for u in message["List-Unsubscribe"].split(",")]
    assert re.fullmatch(rf"https://localhost:{world.server.port}/unsubscribe/[\w-]+\.[\w-]+", https)
    assert mailto == f"mailto:{SENDER}?subject=unsubscribe"
    assert https in message.get_content()  # the footer's link is the same one


def test_get_shows_a_button_and_changes_nothing_post_unsubscribes_at_once(world, pki):
    world.send_due()
    _, message = delivered(world)
    url = message["List-Unsubscribe"].split(",")[0].strip(" <>")
    with httpx.Client(verify=pki.client_context()) as client:
        page = client.get(url)
        assert page.status_code == 200
        assert "anna@firma.de" in page.text and 'method="post"' in page.text
        assert page.headers["cache-control"] == "no-store"
        assert lead_state(world) == ("contacted", "active", [])
        # What Gmail's one-click sends (RFC 8058 §3.2).
        response = client.post(
            url, content="List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )  # fmt: skip
        assert response.status_code == 200 and "no more mail" in response.text
        assert lead_state(world) == (
            "unsubscribed", "stopped", [("anna@firma.de", "one-click", "one-click")]
        )  # fmt: skip
        again = client.post(url, data={"List-Unsubscribe": "One-Click"})  # the page's button
        assert again.status_code == 200
    with world.engine.db.connect() as conn:
        audits = conn.execute(
            select(t.audit_log.c.user_id, t.audit_log.c.policy_result).where(
                t.audit_log.c.lead_email == "anna@firma.de",
                t.audit_log.c.policy_result == "suppressed",
            )
        ).all()
        events = conn.execute(select(t.event.c.kind).where(t.event.c.kind == "unsubscribed")).all()
    assert audits == [("one-click", "suppressed")]
    assert len(events) == 1
    # The sequence's follow-up is never sent.
    world.clock.advance(days=4)
    world.engine.plan()
    assert world.send_due().sent == 0


def test_an_altered_or_foreign_link_is_refused_and_changes_nothing(world, pki):
    world.send_due()
    _, message = delivered(world)
    url = message["List-Unsubscribe"].split(",")[0].strip(" <>")
    payload, mac = url.rsplit("/", 1)[1].split(".")
    other = "YmVuQHN0dWRpby5mcgpmb28"  # "ben@studio.fr\nfoo" with anna's MAC
    base = url.rsplit("/", 1)[0]
    with httpx.Client(verify=pki.client_context()) as client:
        for token in (f"{other}.{mac}", f"{payload}.{mac[:-2]}AA", "x.y", payload):
            for method in ("GET", "POST"):
                response = client.request(
                    method, f"{base}/{token}", content="List-Unsubscribe=One-Click",
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                )  # fmt: skip
                assert response.status_code in (404, 422), (token, method)
        no_body = client.post(url)
        assert no_body.status_code == 400
    assert lead_state(world) == ("contacted", "active", [])


def test_health_says_one_click_is_on(world, pki):
    with world.client(token=None, verify=pki.client_context()) as client:
        assert client.get("/health").json()["one_click_unsubscribe"] == "on"


@pytest.mark.parametrize(
    "url",
    ["http://u.example/unsubscribe/{token}", "ftp://u.example/{email}", "https:///{email}",
     "https://u.example/{user}"],
)  # fmt: skip
def test_a_one_click_url_that_is_not_https_is_refused_at_config_load(url):
    with pytest.raises(ConfigError, match="unsubscribe_url"):
        load_settings(None, sending={"unsubscribe_url": url, "unsubscribe_key": "env:K"})


def test_a_token_url_without_a_key_is_refused_at_config_load():
    with pytest.raises(ConfigError, match="unsubscribe_key"):
        load_settings(None, sending={"unsubscribe_url": "https://u.example/u/{token}"})


def test_the_message_parses_as_the_sink_received_it(world):
    world.send_due()
    raw, _ = delivered(world)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed.get_content_charset() == "utf-8"
    assert "Hi Anna, a quick idea." in parsed.get_content()
