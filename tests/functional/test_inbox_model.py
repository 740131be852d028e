"""The optional model in the poller: a reply the rules leave as "other" is labelled by an
OpenAI-compatible endpoint (pytest-httpserver on loopback) and its effects follow the label;
a slow endpoint costs the cycle at most its timeout and leaves the reply "other"."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from werkzeug import Request, Response

from outreach_tui.db import tables as t
from tests.functional.inbox_world import MAILBOX, inbox_engine, rows, seed_thread

MODEL_KEY_ENV = "TEST_MODEL_KEY"


def undecided(n: int, in_reply_to: str) -> bytes:
    """A reply no rule decides (the rules say "other")."""
    return (
        f"From: Quinn <quinn{n}@example.com>\r\nTo: {MAILBOX}\r\nSubject: Re: Quick question\r\n"
        f"Message-ID: <undecided-{n}@example.com>\r\nIn-Reply-To: {in_reply_to}\r\n"
        f"Date: Mon, 02 Mar 2026 12:00:00 +0000\r\n\r\n"
        f"Hmm. Maybe after the budget meeting in Q1?\r\n"
    ).encode()


def completion(content: str) -> dict[str, object]:
    return {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}


def model_engine(tmp_path, monkeypatch, dovecot, dovecot_user, pki, httpserver, timeout: float):
    monkeypatch.setenv(MODEL_KEY_ENV, "sk-test-model")
    return inbox_engine(
        tmp_path,
        monkeypatch,
        dovecot,
        dovecot_user,
        pki,
        replies={
            "imap_timeout_seconds": 10,
            "reconcile_min_age_minutes": 0,
            "llm_base_url": httpserver.url_for("/v1"),
            "llm_model": "tiny-model",
            "llm_api_key": f"env:{MODEL_KEY_ENV}",
            "llm_timeout_seconds": timeout,
        },
    )


def test_reply_the_rules_leave_as_other_is_labelled_by_the_model_and_applied(
    tmp_path, monkeypatch, dovecot, dovecot_user, pki, httpserver
):
    httpserver.expect_oneshot_request(
        "/v1/chat/completions",
        method="POST",
        headers={"Authorization": "Bearer sk-test-model"},
    ).respond_with_json(completion("unsubscribe"))
    engine = model_engine(tmp_path, monkeypatch, dovecot, dovecot_user, pki, httpserver, 5)
    try:
        ids = seed_thread(
            engine, recipient="quinn1@example.com", message_id="<ours-model-1@outreach.test>"
        )
        # An interested reply (decided by the rules) goes with it: the model is asked about
        # the undecided one only.
        dovecot.append(
            dovecot_user,
            [
                undecided(1, "<ours-model-1@outreach.test>"),
                (
                    f"From: Ann <ann@example.com>\r\nTo: {MAILBOX}\r\nSubject: Re: Hi\r\n"
                    "Message-ID: <decided-1@example.com>\r\n\r\nYes, interested. Call me.\r\n"
                ).encode(),
            ],
        )

        cycle = asyncio.run(engine.poll_replies())

        assert cycle.poll.errors == [] and cycle.poll.applied == 2
        httpserver.check_assertions()
        assert len(httpserver.log) == 1
        asked = json.loads(httpserver.log[0][0].get_data())
        assert asked["model"] == "tiny-model"
        assert "budget meeting" in asked["messages"][1]["content"]
        stored = {r.from_email: r for r in rows(engine, t.reply)}
        labelled = stored["quinn1@example.com"]
        assert (labelled.classification, labelled.classified_by) == ("unsubscribe", "llm")
        assert labelled.reason.startswith("model tiny-model: unsubscribe")
        assert stored["ann@example.com"].classified_by == "rules"
        # The model's label has the label's effects: suppressed, lead unsubscribed, stopped.
        assert rows(engine, t.suppression, t.suppression.c.value == "quinn1@example.com")
        (lead,) = rows(engine, t.lead, t.lead.c.id == ids["lead"])
        assert lead.status == "unsubscribed"
        (enrollment,) = rows(engine, t.campaign_lead, t.campaign_lead.c.id == ids["enrollment"])
        assert enrollment.state == "stopped"
        audit = rows(engine, t.audit_log, t.audit_log.c.policy_result == "reply")
        assert any("unsubscribe (llm:" in a.reason for a in audit)
    finally:
        asyncio.run(engine.aclose())


def test_slow_model_costs_the_cycle_at_most_its_timeout_and_the_reply_stays_other(
    tmp_path, monkeypatch, dovecot, dovecot_user, pki, httpserver
):
    released = threading.Event()

    def slow(_request: Request) -> Response:
        released.wait(5)
        return Response(json.dumps(completion("interested")), content_type="application/json")

    httpserver.expect_request("/v1/chat/completions").respond_with_handler(slow)
    engine = model_engine(tmp_path, monkeypatch, dovecot, dovecot_user, pki, httpserver, 0.5)
    try:
        seed_thread(
            engine, recipient="quinn2@example.com", message_id="<ours-model-2@outreach.test>"
        )
        seed_thread(
            engine, recipient="quinn3@example.com", message_id="<ours-model-3@outreach.test>"
        )
        dovecot.append(
            dovecot_user,
            [
                undecided(2, "<ours-model-2@outreach.test>"),
                undecided(3, "<ours-model-3@outreach.test>"),
            ],
        )

        started = time.monotonic()
        cycle = asyncio.run(engine.poll_replies())
        took = time.monotonic() - started

        assert cycle.poll.errors == [] and cycle.poll.applied == 2
        assert took < 2.0, f"the cycle waited {took:.1f} s for a model with a 0.5 s timeout"
        assert {(r.classification, r.classified_by) for r in rows(engine, t.reply)} == {
            ("other", "rules")
        }
    finally:
        released.set()  # the server's handler returns before the fixture stops the server
        asyncio.run(engine.aclose())


@pytest.fixture(autouse=True)
def _no_leftover_expectations(httpserver):
    yield
    httpserver.clear()
