"""The optional model fallback, against a real HTTP server on loopback (pytest-httpserver)
that answers like an OpenAI-compatible /chat/completions endpoint."""

from __future__ import annotations

import json

import pytest

from outreach_tui.config import RepliesSettings
from outreach_tui.engine.inbox.reply_model import classifier_from_settings
from outreach_tui.mail.inbound import analyse
from outreach_tui.mail.reply_llm import LlmClassifier, parse_label, refine

OTHER_REPLY = (
    b"Message-ID: <q.1@mail.example.com>\r\n"
    b"In-Reply-To: <20261117100000.l01@outreach.test>\r\n"
    b"Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n"
    b"From: Quinn <quinn@example.com>\r\n"
    b"Subject: Re: Quick question\r\n"
    b"\r\n"
    b"Hmm. Maybe after the budget meeting in Q1?\r\n"
)


def completion(content: str) -> dict[str, object]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
    }


def classifier(httpserver, monkeypatch, **overrides) -> LlmClassifier:
    monkeypatch.setenv("TEST_LLM_KEY", "sk-test-123")
    settings = RepliesSettings(
        llm_base_url=httpserver.url_for("/v1"),
        llm_model="tiny-model",
        llm_api_key="env:TEST_LLM_KEY",
        llm_timeout_seconds=overrides.pop("timeout", 5),
    )
    made = classifier_from_settings(settings)
    assert made is not None
    return made


@pytest.mark.asyncio
async def test_model_label_replaces_other_and_is_recorded(httpserver, monkeypatch):
    httpserver.expect_request(
        "/v1/chat/completions",
        method="POST",
        headers={"Authorization": "Bearer sk-test-123"},
    ).respond_with_json(completion("interested"))
    analysis = analyse(OTHER_REPLY)
    assert analysis.kind == "other"

    refined = await refine(analysis, classifier(httpserver, monkeypatch))

    assert (refined.kind, refined.classified_by) == ("interested", "llm")
    assert refined.reason.startswith("model tiny-model: interested")
    sent = json.loads(httpserver.log[0][0].get_data())
    assert sent["model"] == "tiny-model"
    assert "budget meeting" in sent["messages"][1]["content"]
    httpserver.check_assertions()


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "answer",
    [
        "The sender seems interested.",
        '{"kind": "interested"}',
        "bounce_hard",
        "complaint",
        "",
        "interested\nunsubscribe",
    ],
)
async def test_malformed_or_foreign_answer_leaves_other(httpserver, monkeypatch, answer):
    httpserver.expect_request("/v1/chat/completions").respond_with_json(completion(answer))

    refined = await refine(analyse(OTHER_REPLY), classifier(httpserver, monkeypatch))

    assert (refined.kind, refined.classified_by) == ("other", "rules")


@pytest.mark.asyncio
async def test_broken_response_body_leaves_other(httpserver, monkeypatch):
    httpserver.expect_request("/v1/chat/completions").respond_with_data(
        "not json at all", content_type="application/json"
    )

    refined = await refine(analyse(OTHER_REPLY), classifier(httpserver, monkeypatch))

    assert refined.kind == "other"


@pytest.mark.asyncio
async def test_server_error_leaves_other(httpserver, monkeypatch):
    httpserver.expect_request("/v1/chat/completions").respond_with_data("busy", status=503)

    refined = await refine(analyse(OTHER_REPLY), classifier(httpserver, monkeypatch))

    assert refined.kind == "other"


@pytest.mark.asyncio
async def test_slow_model_times_out_and_leaves_other(httpserver, monkeypatch):
    import time

    def slow(request):
        time.sleep(0.5)
        from werkzeug import Response

        return Response(json.dumps(completion("interested")), content_type="application/json")

    httpserver.expect_request("/v1/chat/completions").respond_with_handler(slow)

    refined = await refine(analyse(OTHER_REPLY), classifier(httpserver, monkeypatch, timeout=0.1))

    assert refined.kind == "other"


@pytest.mark.asyncio
async def test_rule_decisions_and_bounces_are_never_sent_to_the_model(httpserver, monkeypatch):
    model = classifier(httpserver, monkeypatch)
    interested = analyse(OTHER_REPLY.replace(b"Hmm. Maybe", b"Interested, maybe"))

    assert await refine(interested, model) is interested
    assert httpserver.log == []


@pytest.mark.asyncio
async def test_no_base_url_means_no_classifier():
    assert classifier_from_settings(RepliesSettings()) is None
    analysis = analyse(OTHER_REPLY)
    assert await refine(analysis, None) is analysis


def test_unset_key_reference_sends_without_authorization(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    made = classifier_from_settings(RepliesSettings(llm_base_url="http://127.0.0.1:9/v1/"))

    assert made is not None
    assert (made.api_key, made.base_url) == (None, "http://127.0.0.1:9/v1")


@pytest.mark.parametrize(
    ("answer", "label"),
    [
        ("interested", "interested"),
        ("  Not_Interested.\n", "not_interested"),
        ('"unsubscribe"', "unsubscribe"),
        ("out of office", None),
        ("wrong person", None),
        (None, None),
        (42, None),
    ],
)
def test_answers_are_parsed_strictly(answer, label):
    assert parse_label(answer) == label
