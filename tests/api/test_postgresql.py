"""The API on PostgreSQL (several workers and API processes share one database): health,
leads, the policy check and the suppression list, over uvicorn."""

from __future__ import annotations

from tests.functional.helpers import SENDER


def test_the_api_serves_from_postgresql(pg_database, api_world):
    api = api_world(database_url=pg_database)
    with api.client() as client:
        health = client.get("/health").json()
        assert health["backend"] == "postgresql" and health["database"] == "reachable"
        assert health["processes"] and health["processes"][0]["heartbeat_age_seconds"] >= 0
        leads = client.post(
            "/leads", json={"leads": [{"email": "anna@firma.de"}, {"email": "bad"}]}
        ).json()
        assert (leads["imported"], leads["rejected"]) == (1, 1)
        assert client.post("/suppression", json={"value": "firma.de"}).json()["changed"]
        decision = client.post(
            "/policy/validate", json={"to": "anna@firma.de", "from": SENDER, "subject": "Hi"}
        ).json()
        assert decision["allowed"] is False
        page = client.get("/suppression").json()
        assert [e["value"] for e in page["items"]] == ["firma.de"]
