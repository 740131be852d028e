"""Outbound webhooks from the durable outbox: events the engine records (a mailbox paused and
resumed through the API, a one-click unsubscribe, a provider's bounce and complaint) are
delivered, signed, to a pytest-httpserver receiver that fails for a while; nothing is lost,
nothing is delivered twice, the failures show as events in the console's journal, and a
receiver that never recovers is given up after `give_up_hours`."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
from collections import Counter

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select
from werkzeug import Request, Response

from outreach_tui.core.provider_events import ProviderEvent
from outreach_tui.core.unsubscribe_token import sign
from outreach_tui.db import tables as t
from tests.api.conftest import UNSUBSCRIBE_KEY

SECRET = "whsec-Zq8-unique-6"


class FlakyReceiver:
    """Answers 503 to the first `failures` requests, then 200; keeps what it was sent."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.seen: list[tuple[int, dict[str, str], bytes]] = []

    def __call__(self, request: Request) -> Response:
        status = 503 if len(self.seen) < self.failures else 200
        self.seen.append((status, dict(request.headers), request.get_data()))
        return Response("ok" if status == 200 else "down", status=status)


def run_pass(api) -> tuple[int, int]:
    return asyncio.run(api.engine.automation.run_outbox())


def journal(api, kind: str) -> list[str]:
    with api.engine.db.connect() as conn:
        return [m for (m,) in conn.execute(select(t.event.c.message).where(t.event.c.kind == kind))]


def make_events(api) -> None:
    """A mailbox paused and resumed (API, scope write), a one-click unsubscribe, a provider's
    hard bounce and complaint about messages the pipeline sent."""
    with api.client() as client:
        (mailbox,) = client.get("/mailboxes").json()
        assert client.post(f"/mailboxes/{mailbox['id']}/pause").json()["changed"]
        assert client.post(f"/mailboxes/{mailbox['id']}/resume").json()["changed"]
    automation = api.engine.automation
    claim = automation.unsubscribe_claim(sign(UNSUBSCRIBE_KEY.encode(), "eve@leaving.org", "<m@x>"))
    assert claim is not None and automation.honour_unsubscribe(claim)
    for address in ("dead@gone.example", "angry@spam.example"):
        assert api.send(address).sent
    message_ids = [m.parsed()["Message-ID"] for m in api.smtp.received]
    outcome = automation.apply_provider_events([
        ProviderEvent("mailgun", "bounce", "dead@gone.example", message_ids[0], "mg:1",
                      bounce_class="hard", delivery_status="failed", status_code="5.1.1"),
        ProviderEvent("mailgun", "complaint", "angry@spam.example", message_ids[1], "mg:2"),
    ])  # fmt: skip
    assert outcome.applied == 2


@pytest.fixture
def outbox_api(api_world, httpserver: HTTPServer, monkeypatch):
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)

    def start(failures: int, **webhooks):
        receiver = FlakyReceiver(failures)
        httpserver.expect_request("/hook", method="POST").respond_with_handler(receiver)
        api = api_world(
            api={"deliver_webhooks": False},  # the test makes the passes itself
            sending={"unsubscribe_url": "https://u.example/unsubscribe/{token}",
                     "unsubscribe_key": "env:UNSUBSCRIBE_KEY"},
            webhooks={"endpoints": [{"name": "crm", "url": httpserver.url_for("/hook"),
                                     "secret": "env:WEBHOOK_SECRET"}],
                      "first_delay_seconds": 30, "max_delay_seconds": 600, **webhooks},
        )  # fmt: skip
        assert run_pass(api) == (0, 0)  # the first pass starts the cursors at "now"
        return api, receiver

    return start


EXPECTED = Counter({"mailbox.paused": 1, "mailbox.resumed": 1, "lead.unsubscribed": 1,
                    "lead.bounced": 1, "lead.complaint": 1})  # fmt: skip


def test_a_receiver_down_for_a_while_loses_nothing_and_gets_each_event_once(outbox_api):
    api, receiver = outbox_api(failures=8)
    make_events(api)
    delivered_at = {}
    for step in range(12):
        run_pass(api)
        for status, headers, _ in receiver.seen:
            if status == 200:
                delivered_at.setdefault(headers["X-Outreach-Delivery"], step)
        api.engine.clock.advance(seconds=60)
    ok = [(h, b) for status, h, b in receiver.seen if status == 200]
    events = Counter(json.loads(b)["event"] for _, b in ok)
    assert events == EXPECTED
    assert len({h["X-Outreach-Delivery"] for h, _ in ok}) == len(ok)  # each once
    assert any(status == 503 for status, _, _ in receiver.seen)
    for headers, body in ok:
        stamp = headers["X-Outreach-Timestamp"]
        mac = hmac.new(SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
        assert headers["X-Outreach-Signature"] == f"v1={mac}"
        payload = json.loads(body)
        assert payload["id"] == headers["X-Outreach-Delivery"]
        assert headers["X-Outreach-Event"] == payload["event"]
    by_event = {json.loads(b)["event"]: json.loads(b)["data"] for _, b in ok}
    assert by_event["lead.bounced"]["email"] == "dead@gone.example"
    assert by_event["lead.complaint"]["email"] == "angry@spam.example"
    assert by_event["lead.unsubscribed"]["email"] == "eve@leaving.org"
    assert by_event["mailbox.paused"]["to"] == "PAUSED"
    assert journal(api, "webhook_failed"), "failures are events in the console"
    health = api.engine.automation.health().outbox
    assert health is not None and (health.pending, health.abandoned) == (0, 0)


def test_retries_back_off_and_a_dead_receiver_is_given_up(outbox_api):
    api, receiver = outbox_api(failures=10_000, give_up_hours=0.5)
    make_events(api)
    tries_at: list[int] = []
    for minute in range(0, 40):
        before = len(receiver.seen)
        run_pass(api)
        if len(receiver.seen) > before:
            tries_at.append(minute)
        api.engine.clock.advance(seconds=60)
    # 30 s, 60 s, 120 s, 240 s, 480 s, then at most max_delay_seconds (600 s) apart.
    assert tries_at[:6] == [0, 1, 2, 4, 8, 16]
    assert all(b - a <= 10 for a, b in itertools.pairwise(tries_at))
    (abandoned,) = journal(api, "webhook_abandoned")
    assert "webhook crm: 5 deliveries abandoned" in abandoned
    assert SECRET not in abandoned
    health = api.engine.automation.health().outbox
    assert health is not None and (health.pending, health.abandoned) == (0, 5)


def test_nothing_is_queued_without_receivers(api):
    assert run_pass(api) == (0, 0)
    assert api.engine.automation.health().outbox is None
