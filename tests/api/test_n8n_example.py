"""The n8n example (examples/n8n/outreach-leads.json) against the real API: every HTTP node
calls an endpoint the API documents, with the method it serves, and the workflow's steps
(load a CSV, validate, keep the good rows, add them, tell Telegram) work as the nodes do
them."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from pytest_httpserver import HTTPServer

from tests.api.conftest import TELEGRAM_TOKEN

WORKFLOW = Path(__file__).resolve().parents[2] / "examples" / "n8n" / "outreach-leads.json"


def http_nodes() -> list[tuple[str, str]]:
    nodes = json.loads(WORKFLOW.read_text())["nodes"]
    calls = []
    for node in nodes:
        if node["type"] == "n8n-nodes-base.httpRequest":
            path = re.sub(r"^=\{\{ \$env\.OUTREACH_API \}\}", "", node["parameters"]["url"])
            calls.append((node["parameters"]["method"].lower(), path))
    return calls


def test_every_http_node_calls_a_documented_endpoint(api):
    with api.client(token=None) as client:
        paths = client.get("/openapi.json").json()["paths"]
    assert http_nodes() == [("post", "/validate"), ("post", "/leads"), ("post", "/telegram/send")]
    for method, path in http_nodes():
        assert method in paths[path], (method, path)
    workflow = json.loads(WORKFLOW.read_text())
    names = {node["name"] for node in workflow["nodes"]}
    for source, outputs in workflow["connections"].items():
        assert source in names
        assert all(link["node"] in names for branch in outputs["main"] for link in branch)


def test_the_workflows_steps_run_against_the_api(api_world, httpserver: HTTPServer, tmp_path):
    httpserver.expect_request(f"/bot{TELEGRAM_TOKEN}/sendMessage").respond_with_json({"ok": True})
    api = api_world(alerts={
        "telegram_bot_token": "env:TELEGRAM_TOKEN", "telegram_chat_id": "env:TELEGRAM_CHAT",
        "telegram_api_base": httpserver.url_for("/"),
    })  # fmt: skip
    leads = tmp_path / "leads.csv"
    with leads.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["email", "first_name", "company"])
        writer.writerows([["not-an-address", "X", ""], ["someone@mailinator.com", "Y", ""]])
    with leads.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    with api.client("n8n") as client:
        validated = client.post(
            "/validate", json={"emails": [r["email"] for r in rows], "smtp": False}
        ).json()
        ok = {r["email"] for r in validated["results"] if r["health"] != "RED"}
        good = [r for r in rows if r["email"] in ok]
        rejected = len(validated["results"]) - len(good)
        added = client.post("/leads", json={"leads": good or [{"email": ""}], "campaign": None})
        summary = added.json()
        message = (f"Leads: {summary['imported']} imported, {summary['already_known']} known, "
                   f"{summary['rejected']} refused; {rejected} failed validation.")  # fmt: skip
        told = client.post("/telegram/send", json={"message": message})
    assert told.status_code == 200 and told.json()["delivered"]
    sent = httpserver.log[-1][0].get_json()["text"]
    assert sent == "Leads: 0 imported, 0 known, 1 refused; 2 failed validation."
