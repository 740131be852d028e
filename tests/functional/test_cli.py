"""The `outreach-tui` command as an operator uses it (contracts from DESIGN.md)."""

from __future__ import annotations

import csv
import json

from click.testing import CliRunner

from outreach_tui.cli import cli
from tests.functional.conftest import run_cli as run


def test_policy_check_prints_the_json_contract_and_exits_0_when_allowed(db_url):
    result = run(
        db_url,
        "policy",
        "check",
        "--to",
        "anna@firma.de",
        "--from",
        "me@brand.com",
        "--subject",
        "Hello",
    )
    assert result.exit_code == 0, result.output
    decision = json.loads(result.stdout)
    assert decision == {
        "allowed": True,
        "reason": "allowed",
        "legal_basis": "consent",
        "daily_user_count": 0,
        "daily_user_limit": 100,
        "daily_domain_count": 0,
        "daily_domain_limit": 20,
        "region": "EU",
    }


def test_policy_check_exits_1_when_blocked(db_url):
    assert run(db_url, "suppression", "add", "firma.de", "--reason", "asked").exit_code == 0
    result = run(
        db_url,
        "policy",
        "check",
        "--to",
        "anna@firma.de",
        "--from",
        "me@brand.com",
        "--subject",
        "Hello",
    )
    assert result.exit_code == 1
    decision = json.loads(result.stdout)
    assert decision["allowed"] is False and "firma.de" in decision["reason"]


def test_invalid_address_is_a_clear_error_without_traceback(db_url):
    result = run(
        db_url,
        "policy",
        "check",
        "--to",
        "not an address",
        "--from",
        "me@brand.com",
        "--subject",
        "Hello",
    )
    assert result.exit_code == 2
    assert "not a valid address" in result.stderr and "Traceback" not in result.output


def test_suppression_add_list_remove(db_url):
    assert "added" in run(db_url, "suppression", "add", "Bob@Example.com").stdout
    assert "already" in run(db_url, "suppression", "add", "bob@example.com").stdout
    assert "bob@example.com" in run(db_url, "suppression", "list").stdout
    assert run(db_url, "suppression", "remove", "bob@example.com").exit_code == 0
    assert run(db_url, "suppression", "list").stdout == ""
    assert run(db_url, "suppression", "remove", "bob@example.com").exit_code == 1


def test_suppression_import_reports_bad_rows_by_line_and_keeps_good_ones(db_url, tmp_path):
    path = tmp_path / "sup.csv"
    path.write_text(
        "email,reason\nok1@example.com,asked\nnot-an-address,x\n"
        "ok2@example.com,\n,empty\nbad@@x.com,y\n",
        encoding="utf-8",
    )
    result = run(db_url, "suppression", "import", str(path))
    assert result.exit_code == 0
    assert "imported 2, already present 0, rejected 3" in result.stdout
    for line in (3, 5, 6):
        assert f"sup.csv:{line}:" in result.stderr
    listed = run(db_url, "suppression", "list").stdout
    assert "ok1@example.com" in listed and "ok2@example.com" in listed


def test_suppression_import_without_a_usable_column_is_refused(db_url, tmp_path):
    path = tmp_path / "sup.csv"
    path.write_text("name\nBob\n")
    result = run(db_url, "suppression", "import", str(path))
    assert result.exit_code == 2 and "needs an email, domain or value column" in result.stderr


def test_exports_neutralise_formula_cells(db_url, tmp_path):
    run(db_url, "suppression", "add", "evil@example.com", "--reason", "=cmd()|' /C calc'!A0")
    run(db_url, "suppression", "add", "x@example.com", "--reason", "+SUM(1)")
    out = tmp_path / "sup.csv"
    assert run(db_url, "export", "suppression", "-o", str(out)).exit_code == 0
    reasons = [row["reason"] for row in csv.DictReader(out.read_text().splitlines())]
    assert reasons == ["'=cmd()|' /C calc'!A0", "'+SUM(1)"]
    audit = tmp_path / "audit.csv"
    assert run(db_url, "export", "audit", "-o", str(audit)).exit_code == 0
    cells = [c for row in csv.reader(audit.read_text().splitlines()) for c in row]
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)


def test_bad_config_file_names_file_and_key_without_traceback(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("[policy]\ndaily_user_cap = 'lots'\n")
    result = CliRunner().invoke(
        cli,
        [
            "--config",
            str(config),
            "policy",
            "check",
            "--to",
            "a@b.com",
            "--from",
            "c@d.com",
            "--subject",
            "s",
        ],
    )
    assert result.exit_code == 2
    assert str(config) in result.stderr and "policy.daily_user_cap" in result.stderr
    assert "Traceback" not in result.output


def test_help_lists_the_console_the_demo_and_every_command_group():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in ("--no-scheduler", "demo", "worker", "campaign", "leads", "forecast", "policy"):
        assert name in result.stdout, name
