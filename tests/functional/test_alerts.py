"""Alerts: an `alert` event always; Telegram and Slack through real HTTP servers on loopback
(pytest-httpserver) with retries (2/4/8 s scaled down, 429 retry_after honoured, 5xx retried,
other 4xx given up); the same key is quiet for `quiet_minutes`, across restarts; the token
and the webhook URL reach neither the event rows nor the logs."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from sqlalchemy import select

from outreach_tui.config import load_settings
from outreach_tui.core.states import Severity
from outreach_tui.db import tables as t
from outreach_tui.db.database import Database
from outreach_tui.db.session import read_tx
from outreach_tui.engine.clock import SimulatedClock
from outreach_tui.engine.context import EngineContext
from outreach_tui.engine.guard.alerts import Alert, Alerter
from tests.functional.helpers import START

TOKEN = "424242:AAH-secret-bot-token-Zx81"
CHAT = "-100987654321"
HOOK_PATH = "/services/T0001/B0002/hooksecretXYZ123"
BACKOFF = 0.05  # the 2 s base, scaled down: waits 0.05, 0.1, 0.2 stand for 2, 4, 8 s
SEND_PATH = f"/bot{TOKEN}/sendMessage"


@pytest.fixture(autouse=True)
def secrets_in_env(monkeypatch):
    monkeypatch.setenv("TG_TOKEN", TOKEN)
    monkeypatch.setenv("TG_CHAT", CHAT)


def make_settings(db_url: str, httpserver: Any, **alerts: Any):
    values: dict[str, Any] = {
        "telegram_bot_token": "env:TG_TOKEN",
        "telegram_chat_id": "env:TG_CHAT",
        "telegram_api_base": httpserver.url_for("/").rstrip("/"),
        "backoff_seconds": BACKOFF,
        "timeout_seconds": 5,
    }
    values.update(alerts)
    return load_settings(None, database_url=db_url, alerts=values)


def context(db, settings, clock) -> EngineContext:
    return EngineContext(
        db=Database(db), settings=settings, clock=clock, operator_id="tester", holder="test"
    )


class RecordingSleep:
    """Records each backoff wait, then really waits it (the schedule is what is tested)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(seconds)


def paused_alert(**changes: Any) -> Alert:
    values: dict[str, Any] = {
        "severity": Severity.CRITICAL,
        "key": "mailbox_paused:ana@sales.test",
        "title": "ana@sales.test paused: bounce rate 6.2 % over 80 sends",
        "subject_type": "mailbox",
        "subject_id": "7",
        "mailbox": "ana@sales.test",
        "rate": 0.062,
        "campaigns": ("Spring launch", "Follow-ups"),
        "action_taken": "paused until 2026-03-03 10:00 UTC; out of rotation",
    }
    values.update(changes)
    return Alert(**values)


def send(alerter: Alerter, alert: Alert) -> bool:
    async def scenario() -> bool:
        sent = await alerter.send(alert)
        await alerter.drain()
        return sent

    return asyncio.run(scenario())


def alert_events(db, kind: str = "alert") -> list[Any]:
    with read_tx(db) as conn:
        return list(conn.execute(select(t.event).where(t.event.c.kind == kind)))


def test_telegram_429_then_502_then_200_is_delivered_on_the_third_try(db, db_url, httpserver):
    httpserver.expect_ordered_request(SEND_PATH, method="POST").respond_with_json(
        {"ok": False, "error_code": 429, "parameters": {"retry_after": 1}}, status=429
    )
    httpserver.expect_ordered_request(SEND_PATH, method="POST").respond_with_data(
        "Bad Gateway", status=502
    )
    httpserver.expect_ordered_request(SEND_PATH, method="POST").respond_with_json(
        {"ok": True, "result": {"message_id": 1}}
    )
    sleep = RecordingSleep()
    alerter = Alerter(
        context(db, make_settings(db_url, httpserver), SimulatedClock(START)), sleep=sleep
    )

    assert send(alerter, paused_alert())

    [result] = alerter.results
    assert (result.channel, result.delivered, result.tries) == ("telegram", True, 3)
    # The 429 asked for 1 s (more than the first backoff step): honoured. Then the 502 waits
    # the second step of the schedule (4 s scaled).
    assert sleep.waits == [1.0, 2 * BACKOFF]
    assert len(httpserver.log) == 3
    body = json.loads(httpserver.log[-1][0].get_data())
    assert body["chat_id"] == CHAT
    text = body["text"]
    assert text.startswith("[CRITICAL] ana@sales.test paused")
    assert "Mailbox: ana@sales.test" in text
    assert "Rate: 6.2%" in text
    assert "Campaigns: Spring launch, Follow-ups" in text
    assert "Already done: paused until 2026-03-03 10:00 UTC" in text
    assert alert_events(db, "alert_delivery") == []


def test_backoff_follows_the_2_4_8_schedule_then_gives_up(db, db_url, httpserver):
    for _ in range(4):
        httpserver.expect_ordered_request(SEND_PATH, method="POST").respond_with_data(
            "Service Unavailable", status=503
        )
    sleep = RecordingSleep()
    alerter = Alerter(
        context(db, make_settings(db_url, httpserver), SimulatedClock(START)), sleep=sleep
    )

    assert send(alerter, paused_alert())

    assert sleep.waits == [BACKOFF, 2 * BACKOFF, 4 * BACKOFF]
    [result] = alerter.results
    assert (result.delivered, result.tries) == (False, 4)
    [failure] = alert_events(db, "alert_delivery")
    assert failure.message.startswith("telegram: alert not delivered after 4 tries (HTTP 503)")
    # The console still has the alert itself.
    assert len(alert_events(db)) == 1


def test_other_4xx_is_not_retried(db, db_url, httpserver):
    httpserver.expect_ordered_request(SEND_PATH, method="POST").respond_with_json(
        {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}, status=400
    )
    sleep = RecordingSleep()
    alerter = Alerter(
        context(db, make_settings(db_url, httpserver), SimulatedClock(START)), sleep=sleep
    )

    send(alerter, paused_alert())

    assert sleep.waits == []
    assert len(httpserver.log) == 1
    assert alerter.results[0].tries == 1 and not alerter.results[0].delivered


def slack_settings(db_url: str, httpserver: Any):
    return make_settings(
        db_url,
        httpserver,
        telegram_bot_token=None,
        telegram_chat_id=None,
        slack_webhook_url="env:SLACK_HOOK",
    )


def test_slack_webhook_200_delivers_the_message(db, db_url, httpserver, monkeypatch):
    monkeypatch.setenv("SLACK_HOOK", httpserver.url_for(HOOK_PATH))
    httpserver.expect_ordered_request(HOOK_PATH, method="POST").respond_with_data("ok")
    alerter = Alerter(context(db, slack_settings(db_url, httpserver), SimulatedClock(START)))

    send(alerter, paused_alert())

    assert [(r.channel, r.delivered, r.tries) for r in alerter.results] == [("slack", True, 1)]
    body = json.loads(httpserver.log[0][0].get_data())
    assert "Mailbox: ana@sales.test" in body["text"]


def test_slack_500_then_200_is_retried(db, db_url, httpserver, monkeypatch):
    monkeypatch.setenv("SLACK_HOOK", httpserver.url_for(HOOK_PATH))
    httpserver.expect_ordered_request(HOOK_PATH, method="POST").respond_with_data(
        "server_error", status=500
    )
    httpserver.expect_ordered_request(HOOK_PATH, method="POST").respond_with_data("ok")
    sleep = RecordingSleep()
    alerter = Alerter(
        context(db, slack_settings(db_url, httpserver), SimulatedClock(START)), sleep=sleep
    )

    send(alerter, paused_alert())

    assert [(r.delivered, r.tries) for r in alerter.results] == [(True, 2)]
    assert sleep.waits == [BACKOFF]


def test_same_alert_is_quiet_for_the_quiet_period_even_after_a_restart(db, db_url, httpserver):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json({"ok": True})
    clock = SimulatedClock(START)
    settings = make_settings(db_url, httpserver, quiet_minutes=60)
    alerter = Alerter(context(db, settings, clock))

    assert send(alerter, paused_alert())
    clock.advance(minutes=30)
    assert not send(alerter, paused_alert())
    # A new process (a restart) reads the quiet period from the event table.
    assert not send(Alerter(context(db, settings, clock)), paused_alert())
    # Another key is not affected.
    assert send(alerter, paused_alert(key="mailbox_paused:bo@sales.test"))
    assert len(httpserver.log) == 2
    clock.advance(minutes=31)
    assert send(alerter, paused_alert())

    assert len(httpserver.log) == 3
    assert [e.data["key"] for e in alert_events(db)] == [
        "mailbox_paused:ana@sales.test",
        "mailbox_paused:bo@sales.test",
        "mailbox_paused:ana@sales.test",
    ]


def test_alert_event_is_recorded_for_the_console_without_channels(db, db_url):
    settings = load_settings(None, database_url=db_url)
    alerter = Alerter(context(db, settings, SimulatedClock(START)))

    assert send(alerter, paused_alert(severity=Severity.WARNING, data={"bounces": 5}))

    [event] = alert_events(db)
    assert (event.severity, event.subject_type, event.subject_id) == ("warning", "mailbox", "7")
    assert "ana@sales.test paused" in event.message
    assert "Spring launch" in event.message
    assert event.data["rate"] == 0.062
    assert event.data["campaigns"] == ["Spring launch", "Follow-ups"]
    assert event.data["bounces"] == 5
    assert alerter.results == []


def test_channel_min_severity_filters_what_is_sent(db, db_url, httpserver):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json({"ok": True})
    alerter = Alerter(context(db, make_settings(db_url, httpserver), SimulatedClock(START)))

    send(alerter, paused_alert(severity=Severity.INFO, key="info-only"))

    assert len(httpserver.log) == 0
    assert len(alert_events(db)) == 1


def test_submit_from_a_thread_without_a_loop_delivers_in_the_background(db, db_url, httpserver):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json({"ok": True})
    alerter = Alerter(context(db, make_settings(db_url, httpserver), SimulatedClock(START)))

    assert alerter.submit(paused_alert())
    alerter.join_threads(10)

    assert [r.delivered for r in alerter.results] == [True]


def test_secrets_reach_neither_events_nor_logs(db, db_url, httpserver, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("SLACK_HOOK", httpserver.url_for(HOOK_PATH))
    # The two channels deliver concurrently: one-shot handlers, matched in order per path.
    httpserver.expect_oneshot_request(SEND_PATH, method="POST").respond_with_data("", status=502)
    httpserver.expect_oneshot_request(SEND_PATH, method="POST").respond_with_json({"ok": True})
    httpserver.expect_oneshot_request(HOOK_PATH, method="POST").respond_with_data("", status=404)
    settings = make_settings(db_url, httpserver, slack_webhook_url="env:SLACK_HOOK")
    alerter = Alerter(context(db, settings, SimulatedClock(START)))

    send(alerter, paused_alert())

    assert {(r.channel, r.delivered) for r in alerter.results} == {
        ("telegram", True),
        ("slack", False),
    }
    # The loopback HTTP server (werkzeug) logs the paths it served: that is the test's
    # server, not this program, so its records are left out.
    ours = [r for r in caplog.records if not r.name.startswith("werkzeug")]
    text = "\n".join(r.getMessage() for r in ours)
    assert "alert delivery to telegram failed" in text
    assert "HTTP Request" in text  # httpx did log its requests...
    for secret in (TOKEN, "hooksecretXYZ123", CHAT):
        assert secret not in text  # ...with the secrets masked
    rows = alert_events(db) + alert_events(db, "alert_delivery")
    assert len(rows) == 2
    dumped = json.dumps([(r.message, r.data) for r in rows])
    for secret in (TOKEN, "hooksecretXYZ123", CHAT):
        assert secret not in dumped
