"""What the CLI prints never acts on the operator's terminal: a lead's name, a campaign's name,
a suppression reason, a server's answer or an error quoting a file name reach standard output
and standard error with their terminal controls replaced by a visible mark (U+FFFD), and JSON
stays JSON. (A raw OSC 52 writes the clipboard, `ESC[2J` clears the screen, a CR rewrites
the line already shown.)"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

import sqlalchemy as sa

from outreach_tui.db import tables as t
from outreach_tui.db.session import write_tx
from outreach_tui.engine.views.explain import Explainer
from outreach_tui.engine.views.forecast import ForecastRow
from outreach_tui.logsetup import configure_logging
from tests.functional.conftest import run_cli as run

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
MARK = "\ufffd"
EVIL = (
    "[/] \x1b]52;c;aGVsbG8=\x07 \x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\ "
    "\x1b[2Jclear \x9b31m\u202eevil\rfake"
)
#: What a terminal acts on: C0 but tab and line feed, DEL, C1, the bidi controls.
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def assert_terminal_safe(text: str) -> None:
    assert not UNSAFE.findall(text), [m.group() for m in UNSAFE.finditer(text)]
    assert MARK in text, "the hostile data should be shown, marked"


def insert(db, table, **values):
    with write_tx(db) as conn:
        return conn.execute(sa.insert(table).values(**values)).inserted_primary_key[0]


def test_suppression_list_prints_a_hostile_reason_with_its_controls_replaced(db_url):
    assert run(db_url, "suppression", "add", "bob@example.com", "--reason", EVIL).exit_code == 0

    result = run(db_url, "suppression", "list")

    assert result.exit_code == 0
    assert_terminal_safe(result.stdout)
    (line,) = result.stdout.splitlines()
    assert line.startswith("address\tbob@example.com\t[/] ")


def test_campaign_list_prints_a_hostile_name_on_one_line(db_url, db):
    insert(db, t.campaign, name=EVIL, window_days=[], created_at=NOW)

    result = run(db_url, "campaign", "list")

    assert result.exit_code == 0
    assert_terminal_safe(result.stdout)
    assert len(result.stdout.splitlines()) == 2  # the header and the campaign


def test_leads_list_and_leads_why_print_hostile_names_and_reasons_cleaned(db_url, db):
    lead_id = insert(
        db, t.lead, email="ann@example.com", domain="example.com", first_name=EVIL,
        last_name="\x07", company=EVIL, status="new", created_at=NOW,
    )  # fmt: skip
    campaign_id = insert(
        db, t.campaign, name=EVIL, status="paused", paused_reason=EVIL,
        window_days=["mon", "tue", "wed", "thu", "fri"], created_at=NOW,
    )  # fmt: skip
    insert(db, t.sequence_step, campaign_id=campaign_id, position=1, subject="Hi", body="Hi")
    insert(
        db, t.campaign_lead, campaign_id=campaign_id, lead_id=lead_id, state="stopped",
        stop_reason=EVIL,
    )  # fmt: skip

    listed = run(db_url, "leads", "list")
    why = run(db_url, "leads", "why", "ann@example.com")

    assert listed.exit_code == 0 and why.exit_code == 0, why.output
    assert_terminal_safe(listed.stdout)
    assert len(listed.stdout.splitlines()) == 1
    assert_terminal_safe(why.stdout)
    assert "campaign is paused" in why.stdout and "sequence stopped" in why.stdout


def test_mailboxes_list_prints_a_hostile_server_name_cleaned(db_url, db):
    insert(
        db, t.mailbox, email="me@brand.example", smtp_host=EVIL, source="csv", created_at=NOW,
    )  # fmt: skip

    result = run(db_url, "mailboxes", "list")

    assert result.exit_code == 0
    assert_terminal_safe(result.stdout)
    assert result.stdout.startswith("me@brand.example\t")


def test_forecast_prints_hostile_addresses_and_names_one_line_each(db_url, monkeypatch):
    row = ForecastRow(NOW, f"{EVIL}@a.example", f"{EVIL}@b.example", EVIL, 1, EVIL, True)
    monkeypatch.setattr(Explainer, "forecast", lambda self, hours, limit=5000: [row, row])

    result = run(db_url, "forecast")

    assert result.exit_code == 0, result.output
    assert_terminal_safe(result.stdout)
    assert len(result.stdout.splitlines()) == 3


def test_an_error_quoting_a_hostile_file_name_is_printed_cleaned(db_url, tmp_path):
    path = tmp_path / "leads\x1b]0;owned\x07\x1b[2J.csv"
    path.write_bytes(b"email\n\xff\xfe\n")

    result = run(db_url, "leads", "import", str(path))

    assert result.exit_code == 2
    assert_terminal_safe(result.stderr)
    assert result.stderr.startswith("error: ") and "not UTF-8" in result.stderr


def test_validate_prints_results_on_standard_output_cleaned_and_jsonl_stays_json(db_url):
    text = "bad\x1b[2J@example.com\nzoë\x9b31m@example.com\n"

    as_csv = run(db_url, "validate", "-", "--no-smtp", input=text)
    as_jsonl = run(db_url, "validate", "-", "--no-smtp", "--format", "jsonl", input=text)

    assert as_csv.exit_code == 0 and as_jsonl.exit_code == 0, as_csv.output
    assert_terminal_safe(as_csv.stdout)
    assert not UNSAFE.search(as_jsonl.stdout)
    emails = {json.loads(line)["email"] for line in as_jsonl.stdout.splitlines()}
    assert emails == {"bad\x1b[2J@example.com", "zoë\x9b31m@example.com"}  # the same data


def test_policy_check_json_carries_a_hostile_subject_escaped(db_url):
    result = run(
        db_url, "policy", "check", "--to", "anna@firma.de", "--from", "me@brand.com",
        "--subject", EVIL,
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert not UNSAFE.search(result.stdout)
    assert json.loads(result.stdout)["allowed"] is True


def test_the_workers_log_on_stderr_is_cleaned_and_the_log_file_keeps_the_data(tmp_path, capsys):
    log_file = tmp_path / "worker.log"
    configure_logging("INFO", log_file, stderr=True)
    try:
        logging.getLogger("outreach_tui.test").warning("server said %s", EVIL)
    finally:
        for handler in logging.getLogger().handlers:
            handler.flush()
        configure_logging("INFO", tmp_path / "after.log")  # the stderr handler goes

    assert_terminal_safe(capsys.readouterr().err)
    assert EVIL in log_file.read_bytes().decode("utf-8")
