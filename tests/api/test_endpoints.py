"""Every endpoint of the API over a real uvicorn on loopback, with good input and bad: what it
answers, what it changes, and what it refuses (401 unknown token, 403 missing scope, 413 too
large, 422 naming the field, 429 with Retry-After), never a traceback or a secret."""

from __future__ import annotations

import time

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from outreach_tui.db import tables as t
from outreach_tui.engine import load_campaign_file
from tests.api.conftest import TELEGRAM_TOKEN, TOKENS, ApiWorld
from tests.functional.campaign_helpers import write_campaign
from tests.functional.helpers import SENDER

CAMPAIGN = """
name = "Spring"
approval = "manual"
[window]
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
start = "00:00"
end = "24:00"
[[steps]]
subject = "Hello {{company|there}}"
body = "Hi {{first_name|there}}."
delay_days = 0
"""


def audit_users(api: ApiWorld, result: str) -> list[str]:
    with api.engine.db.connect() as conn:
        rows = conn.execute(
            select(t.audit_log.c.user_id).where(t.audit_log.c.policy_result == result)
        )
        return [r[0] for r in rows]


# -- health and the contract -----------------------------------------------------------------


def test_health_needs_no_token_and_says_one_click_is_off(api):
    with api.client(token=None) as client:
        response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] in ("ok", "degraded") and body["service"] == "outreach-tui"
    assert body["database"] == "reachable" and body["backend"] == "sqlite"
    assert body["one_click_unsubscribe"] == "off"
    assert "unsubscribe_url is not set" in body["one_click_detail"]
    assert body["scheduler_heartbeat_age_seconds"] is not None  # the API's own heartbeat


def test_openapi_documents_every_model(api):
    with api.client(token=None) as client:
        schema = client.get("/openapi.json").json()
    paths = set(schema["paths"])
    for path in ("/health", "/validate", "/validate/{job}", "/policy/validate", "/suppression",
                 "/leads", "/leads/enrichment", "/telegram/send", "/campaigns", "/mailboxes",
                 "/replies", "/queue", "/leads/{email}/why", "/campaigns/{name}/{verb}",
                 "/mailboxes/{mailbox_id}/{verb}", "/domains/{domain_id}/{verb}",
                 "/attempts/approve", "/attempts/reject", "/unsubscribe/{token}",
                 "/webhooks/ses", "/webhooks/sendgrid", "/webhooks/mailgun"):  # fmt: skip
        assert path in paths, path
    for name, model in schema["components"]["schemas"].items():
        if name in ("HTTPValidationError", "ValidationError"):
            continue  # FastAPI's own, not served (errors.py answers with ValidationProblem)
        assert model.get("description"), f"{name} has no description"


# -- tokens, scopes, limits ------------------------------------------------------------------


def test_no_token_or_an_unknown_one_is_401_and_a_missing_scope_403(api):
    with api.client(token=None) as client:
        assert client.get("/campaigns").status_code == 401
        response = client.get("/campaigns", headers={"Authorization": "Bearer not-a-token"})
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
    with api.client("reader") as client:
        assert client.get("/campaigns").status_code == 200
        response = client.post("/suppression", json={"value": "x@y.com"})
        assert response.status_code == 403
        assert "suppression" in response.json()["detail"]


def test_a_token_over_its_rate_gets_429_with_retry_after(api_world):
    api = api_world(api={"rate_limit_per_minute": 6, "rate_limit_burst": 2})
    with api.client("reader") as client:
        codes = [client.get("/campaigns").status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        limited = client.get("/campaigns")
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["retry-after"]) <= 10
    with api.client("admin") as client:  # another token has its own bucket
        assert client.get("/campaigns").status_code == 200


def test_a_body_over_the_limit_is_413_declared_or_streamed(api_world):
    api = api_world(api={"max_body_bytes": 2048})
    rows = [{"email": f"lead{i}@example.com", "company": "C" * 40} for i in range(200)]
    with api.client() as client:
        assert client.post("/leads", json={"leads": rows}).status_code == 413

        def chunks():
            yield b'{"leads": ['
            for i in range(200):
                yield b'{"email": "lead%d@example.com", "company": "%s"},' % (i, b"C" * 40)
            yield b'{"email": "last@example.com"}]}'

        streamed = client.post(
            "/leads", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert streamed.status_code == 413
    with api.engine.db.connect() as conn:
        assert conn.execute(select(t.lead.c.id)).first() is None


def test_bad_input_is_422_naming_the_field_without_echoing_it(api):
    secret = "sk-live-Zq8#do-not-echo"
    with api.client() as client:
        response = client.post("/policy/validate", json={"to": secret, "subject": "Hi", "from": 12})
        assert response.status_code == 422
        fields = [tuple(e["loc"]) for e in response.json()["detail"]]
        assert ("body", "from") in fields
        assert secret not in response.text
        unknown = client.post("/suppression", json={"value": "a@b.com", "kinds": "domain"})
        assert unknown.status_code == 422
        assert ("body", "kinds") in [tuple(e["loc"]) for e in unknown.json()["detail"]]
        bad_path = client.post("/mailboxes/abc/pause")
        assert bad_path.status_code == 422


def test_an_unexpected_error_is_a_500_without_traceback_or_secret(api, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError(f"token {TOKENS['admin'][1]} in a message")

    monkeypatch.setattr(api.engine.automation, "check_policy", explode)
    with api.client() as client:
        response = client.post(
            "/policy/validate", json={"to": "a@b.de", "from": SENDER, "subject": "Hi"}
        )
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error (details in the server's log)"}
    assert "Traceback" not in response.text and TOKENS["admin"][1] not in response.text


# -- checks --------------------------------------------------------------------------------


def test_policy_validate_gives_the_policy_check_fields(api):
    with api.client("n8n") as client:
        response = client.post(
            "/policy/validate",
            json={"lead_email": "Anna@Firma.de", "sender_email": SENDER, "subject": "Hi"},
        )
    assert response.status_code == 200
    assert response.json() == {
        "allowed": True, "reason": "allowed", "legal_basis": "consent",
        "daily_user_count": 0, "daily_user_limit": 100, "daily_domain_count": 0,
        "daily_domain_limit": 20, "region": "EU",
    }  # fmt: skip
    api.engine.suppression.add("firma.de", kind="domain", reason="test")
    with api.client("n8n") as client:
        blocked = client.post(
            "/policy/validate", json={"to": "anna@firma.de", "from": SENDER, "subject": "Hi"}
        ).json()
        assert blocked["allowed"] is False and "suppress" in blocked["reason"]
        bad = client.post(
            "/policy/validate", json={"to": "not an address", "from": SENDER, "subject": "Hi"}
        )
        assert bad.status_code == 422


#: Verdicts that need no DNS (syntax, the disposable list): the test stays on loopback.
OFFLINE = ["not-an-address", "someone@mailinator.com", "two@@signs.com", "x@guerrillamail.com"]


def test_validate_answers_a_short_list_at_once(api):
    with api.client("n8n") as client:
        response = client.post("/validate", json={"emails": OFFLINE[:2], "smtp": False})
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 2
    assert [(r["email"], r["status"], r["valid"], r["health"]) for r in body["results"]] == [
        ("not-an-address", "INVALID_SYNTAX", False, "RED"),
        ("someone@mailinator.com", "DISPOSABLE", False, "RED"),
    ]
    with api.client("reader") as client:
        assert client.post("/validate", json={"emails": OFFLINE}).status_code == 403
    with api.client("n8n") as client:
        assert client.post("/validate", json={"emails": []}).status_code == 422
        negative = client.post("/validate", json={"emails": OFFLINE, "rate_limit": -1})
        assert negative.status_code == 422


def test_validate_runs_a_long_list_as_a_job(api_world):
    api = api_world(api={"validate_inline_max": 2})
    emails = OFFLINE * 5
    with api.client("n8n") as client:
        started = client.post("/validate", json={"emails": emails, "smtp": False})
        assert started.status_code == 202
        job = started.json()
        assert job["total"] == len(emails) and job["status_url"] == f"/validate/{job['job']}"
        deadline = time.monotonic() + 30
        while True:
            state = client.get(job["status_url"], params={"limit": 8}).json()
            if state["status"] != "running" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert state["status"] == "done" and state["done"] == len(emails)
        assert [r["email"] for r in state["results"]] == emails[:8]
        assert state["next_offset"] == 8
        rest = client.get(job["status_url"], params={"offset": 8, "limit": 100}).json()
        assert [r["email"] for r in rest["results"]] == emails[8:]
        assert rest["next_offset"] is None
        assert client.get("/validate/no-such-job").status_code == 404


# -- suppression -------------------------------------------------------------------------------


def test_suppression_add_page_remove_audited_under_the_token(api):
    with api.client() as client:
        added = client.post("/suppression", json={"value": "Bob@Example.com", "reason": "asked"})
        assert added.json() == {"changed": True, "kind": "address", "value": "bob@example.com"}
        again = client.post("/suppression", json={"value": "bob@example.com"})
        assert again.json()["changed"] is False
        domain = client.post("/suppression", json={"value": "spam.test", "kind": "domain"})
        assert domain.json()["kind"] == "domain"
        first = client.get("/suppression", params={"limit": 1}).json()
        assert [e["value"] for e in first["items"]] == ["bob@example.com"]
        assert first["items"][0]["source"] == "api:admin"
        rest = client.get("/suppression", params={"after_id": first["next_after_id"]}).json()
        assert [e["value"] for e in rest["items"]] == ["spam.test"]
        assert rest["next_after_id"] is None
        removed = client.delete("/suppression", params={"value": "bob@example.com"})
        assert removed.json()["changed"] is True
        assert client.delete("/suppression", params={"value": "bob@example.com"}).json() == {
            "changed": False, "kind": "address", "value": "bob@example.com"
        }  # fmt: skip
        assert client.post("/suppression", json={"value": "a b@c"}).status_code == 422
        assert client.delete("/suppression").status_code == 422
    assert audit_users(api, "suppressed") == ["admin", "admin"]
    assert audit_users(api, "unsuppressed") == ["admin"]


# -- leads -------------------------------------------------------------------------------------


def test_leads_are_ingested_with_per_row_errors_and_idempotent_by_address(api, tmp_path):
    api.engine.campaigns.create(load_campaign_file(write_campaign(tmp_path, CAMPAIGN)))
    leads = [
        {"email": "Anna@Firma.de", "first_name": "Anna", "company": "Firma", "score": 87},
        {"email": "not-an-address"},
        {"email": "ben@studio.fr", "timezone": "Mars/Base"},
        {"email": "anna@firma.de"},
        {"first_name": "No address"},
    ]
    with api.client("n8n") as client:
        response = client.post("/leads", json={"leads": leads, "campaign": "Spring"})
        assert response.status_code == 200
        body = response.json()
        assert (body["imported"], body["duplicates"], body["enrolled"], body["rejected"]) == (
            1, 1, 1, 3
        )  # fmt: skip
        assert [e["row"] for e in body["errors"]] == [2, 3, 5]
        assert "timezone" in body["errors"][1]["error"]
        again = client.post("/leads", json={"leads": leads[:1]}).json()
        assert (again["imported"], again["already_known"]) == (0, 1)
        unknown = client.post("/leads", json={"leads": leads[:1], "campaign": "Nope"})
        assert unknown.status_code == 422 and "Nope" in unknown.json()["detail"]
        assert client.post("/leads", json={"leads": []}).status_code == 422
        assert client.post("/leads", json={"leads": [{"email": {"x": 1}}]}).status_code == 422
    with api.engine.db.connect() as conn:
        row = conn.execute(
            select(t.lead.c.email, t.lead.c.first_name, t.lead.c.custom, t.lead.c.source)
        ).one()
    assert row == ("anna@firma.de", "Anna", {"score": "87"}, "api:n8n")


def test_an_enrichment_webhook_maps_through_the_field_map(api_world):
    api = api_world(api={"lead_field_map": {"person.email": "email", "person.first": "first_name",
                                            "org.name": "company"}})  # fmt: skip
    record = {"person": {"email": "Carla@Shop.it", "first": "Carla", "title": "CEO"},
              "org": {"name": "Shop", "size": 12}}  # fmt: skip
    with api.client("n8n") as client:
        one = client.post("/leads/enrichment", json=record)
        assert one.status_code == 200 and one.json()["imported"] == 1
        many = client.post("/leads/enrichment", json=[record, {"person": {"first": "x"}}])
        assert many.json()["already_known"] == 1 and many.json()["errors"][0]["row"] == 2
    with api.engine.db.connect() as conn:
        lead = conn.execute(
            select(t.lead.c.email, t.lead.c.first_name, t.lead.c.company, t.lead.c.custom)
        ).one()
    assert lead == ("carla@shop.it", "Carla", "Shop", {"person.title": "CEO", "org.size": "12"})


# -- Telegram ----------------------------------------------------------------------------------


def test_telegram_send_retries_like_the_alert_channel(api_world, httpserver: HTTPServer):
    path = f"/bot{TELEGRAM_TOKEN}/sendMessage"
    httpserver.expect_ordered_request(path, method="POST").respond_with_data("busy", status=502)
    httpserver.expect_ordered_request(path, method="POST").respond_with_json({"ok": True})
    api = api_world(alerts={
        "telegram_bot_token": "env:TELEGRAM_TOKEN", "telegram_chat_id": "env:TELEGRAM_CHAT",
        "telegram_api_base": httpserver.url_for("/"), "backoff_seconds": 0.01,
    })  # fmt: skip
    with api.client("n8n") as client:
        response = client.post("/telegram/send", json={"message": "42 leads validated"})
        assert response.status_code == 200
        assert response.json() == {"delivered": True, "tries": 2, "detail": ""}
        assert client.post("/telegram/send", json={"message": ""}).status_code == 422
    sent = httpserver.log[-1][0].get_json()
    assert sent == {"chat_id": "4242", "text": "42 leads validated",
                    "disable_web_page_preview": True}  # fmt: skip
    assert TELEGRAM_TOKEN not in response.text


def test_telegram_not_configured_is_409_and_a_refusal_502(api_world, httpserver: HTTPServer):
    api = api_world()
    with api.client("n8n") as client:
        assert client.post("/telegram/send", json={"message": "x"}).status_code == 409
    httpserver.expect_request(f"/bot{TELEGRAM_TOKEN}/sendMessage").respond_with_data(
        "no", status=403
    )
    api = api_world(alerts={
        "telegram_bot_token": "env:TELEGRAM_TOKEN", "telegram_chat_id": "env:TELEGRAM_CHAT",
        "telegram_api_base": httpserver.url_for("/"),
    })  # fmt: skip
    with api.client("n8n") as client:
        refused = client.post("/telegram/send", json={"message": "x"})
    assert refused.status_code == 502
    assert refused.json() == {"delivered": False, "tries": 1, "detail": "HTTP 403"}


# -- reads and actions ---------------------------------------------------------------------------


def test_reads_and_actions_audited_under_the_token(api, tmp_path):
    api.engine.campaigns.create(load_campaign_file(write_campaign(tmp_path, CAMPAIGN)))
    with api.client() as client:
        leads = [{"email": "anna@firma.de", "first_name": "Anna"}, {"email": "ben@studio.fr"}]
        client.post("/leads", json={"leads": leads, "campaign": "Spring"})
    api.engine.plan()
    with api.client("reader") as client:
        campaigns = client.get("/campaigns").json()
        assert [(c["name"], c["status"], c["leads"]) for c in campaigns] == [
            ("Spring", "active", 2)
        ]
        (mailbox,) = client.get("/mailboxes").json()
        assert mailbox["email"] == SENDER and mailbox["phase"] == "HEALTHY"
        queue = client.get("/queue").json()
        assert sorted(q["recipient"] for q in queue) == ["anna@firma.de", "ben@studio.fr"]
        assert client.get("/replies").json() == []
        why = client.get("/leads/Anna@Firma.de/why").json()
        assert why["email"] == "anna@firma.de" and why["lines"]
        assert client.get("/leads/nobody/why").status_code == 422
        assert client.post("/campaigns/Spring/pause").status_code == 403
    ids = {q["recipient"]: q["attempt_id"] for q in queue}
    with api.client() as client:
        assert client.post("/campaigns/Spring/pause", json={"reason": "review"}).json() == {
            "changed": True
        }
        assert client.post("/campaigns/Spring/pause").json() == {"changed": False}
        assert client.post("/campaigns/Nope/pause").status_code == 404
        assert client.post("/campaigns/Spring/resume").json() == {"changed": True}
        assert client.post("/campaigns/Spring/archive").status_code == 422
        mid = mailbox["id"]
        assert client.post(f"/mailboxes/{mid}/pause").json() == {"changed": True}
        assert client.get("/mailboxes").json()[0]["phase"] == "PAUSED"
        assert client.post(f"/mailboxes/{mid}/resume").json() == {"changed": True}
        assert client.post("/mailboxes/999/pause").status_code == 404
        assert client.post("/domains/999/pause").status_code == 404
        approve = client.post("/attempts/approve", json={"ids": [ids["anna@firma.de"]]})
        assert approve.json() == {"count": 1}
        reject = client.post(
            "/attempts/reject", json={"ids": [ids["ben@studio.fr"]], "reason": "not a fit"}
        )
        assert reject.json() == {"count": 1}
        assert client.post("/attempts/approve", json={"ids": []}).status_code == 422
    assert audit_users(api, "campaign_paused") == ["admin"]
    assert audit_users(api, "approved") == ["admin"]
    assert audit_users(api, "rejected") == ["admin"]
    assert audit_users(api, "mailbox_paused") == ["admin"]


@pytest.mark.parametrize("path", ["/replies", "/queue", "/suppression"])
def test_read_endpoints_refuse_bad_query_values(api, path):
    with api.client() as client:
        assert client.get(path, params={"limit": 0}).status_code == 422
        response = client.get(path, params={"limit": "many"})
        assert response.status_code == 422
        assert ["query", "limit"] in [e["loc"] for e in response.json()["detail"]]
