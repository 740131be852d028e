"""Leads posted over HTTP and the same leads imported from a CSV file land identically: the
same rows, the same fields, the same enrollments and the same rejections (one ingestion
function behind both, engine/leads/ingest.py)."""

from __future__ import annotations

import csv

from sqlalchemy import select

from outreach_tui.db import tables as t
from outreach_tui.engine import load_campaign_file
from tests.functional.campaign_helpers import write_campaign

CAMPAIGN = """
name = "Spring"
approval = "manual"
[[steps]]
subject = "Hello"
body = "Hi."
delay_days = 0
"""

HEADER = ["email", "first_name", "last_name", "company", "website", "timezone", "role"]
ROWS = [
    ["Anna@Firma.de", "Anna", "Schmidt", "Firma GmbH", "firma.de", "Europe/Berlin", "CEO"],
    ["ben@studio.fr", "Ben", "", "Studio", "", "", ""],
    ["not-an-address", "X", "", "", "", "", ""],
    ["carla@shop.it", "Carla", "", "Shop", "", "Mars/Olympus", ""],
    ["anna@firma.de", "Anna again", "", "", "", "", ""],
    ["dora@suppressed.example", "Dora", "", "", "", "", "CTO"],
    ["", "Nobody", "", "", "", "", ""],
]


def landed(engine):
    with engine.db.connect() as conn:
        leads = conn.execute(
            select(t.lead.c.email, t.lead.c.domain, t.lead.c.first_name, t.lead.c.last_name,
                   t.lead.c.company, t.lead.c.website, t.lead.c.timezone, t.lead.c.custom,
                   t.lead.c.status).order_by(t.lead.c.email)
        ).all()  # fmt: skip
        enrolled = conn.execute(
            select(t.lead.c.email)
            .join(t.campaign_lead, t.campaign_lead.c.lead_id == t.lead.c.id)
            .order_by(t.lead.c.email)
        ).all()
    return leads, enrolled


def prepare(api, tmp_path):
    tmp_path.mkdir(exist_ok=True)
    api.engine.campaigns.create(load_campaign_file(write_campaign(tmp_path, CAMPAIGN)))
    api.engine.suppression.add("suppressed.example", kind="domain", reason="test")


def test_leads_over_http_and_from_a_csv_land_identically(api_world, tmp_path):
    over_http = api_world()
    prepare(over_http, tmp_path / "a")
    with over_http.client("n8n") as client:
        response = client.post(
            "/leads",
            json={"leads": [dict(zip(HEADER, row, strict=True)) for row in ROWS],
                  "campaign": "Spring"},
        ).json()  # fmt: skip

    from_csv = api_world(database_url=f"sqlite:///{tmp_path / 'csv.db'}")
    prepare(from_csv, tmp_path / "b")
    path = tmp_path / "leads.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(ROWS)
    report = from_csv.engine.import_leads(path, campaign="Spring")

    assert landed(over_http.engine) == landed(from_csv.engine)
    leads, enrolled = landed(over_http.engine)
    assert [lead.email for lead in leads] == [
        "anna@firma.de", "ben@studio.fr", "dora@suppressed.example"
    ]  # fmt: skip
    assert leads[0].custom == {"role": "CEO"} and leads[2].status == "suppressed"
    assert len(enrolled) == 3
    assert (response["imported"], response["duplicates"], response["rejected"]) == (
        report.imported, report.duplicates_in_file, report.rejected
    )  # fmt: skip
    # The same reasons, the location told the source's way (row N of the request, the
    # CSV's line N + 1 after its header).
    http_reasons = [(e["row"], e["error"]) for e in response["errors"]]
    csv_reasons = [(int(e.split(":")[1]) - 1, e.split(": ", 1)[1]) for e in report.errors]
    assert http_reasons == csv_reasons
