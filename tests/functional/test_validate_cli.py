"""`outreach-tui validate` against the loopback world: text, CSV and standard input; CSV
and JSON lines out; resume without probing again; --no-smtp; the summary."""

from __future__ import annotations

import csv
import json

import pytest

from outreach_tui.core.verification import FIELDS
from tests.functional.conftest import run_cli
from tests.functional.verify_world import build

EXPECT = {
    "ann@valid.vworld.net": "VALID",
    "nobody@valid.vworld.net": "MAILBOX_NOT_FOUND",
    "ann@catchall.vworld.net": "CATCH_ALL",
    "ann@nowhere.vworld.net": "NO_MX",
    "not-an-address": "INVALID_SYNTAX",
}


@pytest.fixture
def world(probe_world, probe_dns):
    return build(probe_world, probe_dns)


@pytest.fixture
def config(world, tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(world.config_toml() + f'[logging]\nfile = "{tmp_path / "o.log"}"\n')
    return path


def validate(db_url, config, *args, input=None):
    return run_cli(db_url, "--config", str(config), "validate", *args, input=input)


def test_text_file_to_jsonl_with_a_summary(db_url, config, tmp_path):
    source = tmp_path / "list.txt"
    source.write_text("\n".join(EXPECT) + "\n\n")
    out = tmp_path / "out.jsonl"

    result = validate(db_url, config, str(source), "-o", str(out), "--format", "jsonl")

    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(list(row) == list(FIELDS) for row in rows)
    assert {row["email"]: row["status"] for row in rows} == EXPECT
    assert "summary: 5 verified" in result.stderr
    assert "VALID 1" in result.stderr and "INVALID_SYNTAX 1" in result.stderr


def test_csv_with_an_email_column_to_csv_on_stdout_with_cells_neutralised(db_url, config, tmp_path):
    source = tmp_path / "leads.csv"
    source.write_text(
        "name,email,company\nAnn,ann@valid.vworld.net,Valid\nEvil,=cmd@valid.vworld.net,X\n"
    )

    result = validate(db_url, config, str(source), "--rate-limit", "0.01", "--concurrency", "2")

    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(result.stdout.splitlines()))
    assert list(rows[0]) == list(FIELDS)
    by_email = {row["email"]: row for row in rows}
    assert by_email["ann@valid.vworld.net"]["status"] == "VALID"
    assert by_email["ann@valid.vworld.net"]["health"] == "GREEN"
    assert by_email["'=cmd@valid.vworld.net"]["status"] == "MAILBOX_NOT_FOUND"


def test_standard_input(db_url, config):
    result = validate(db_url, config, "-", "--format", "jsonl", input="ann@valid.vworld.net\n")

    assert result.exit_code == 0, result.stderr
    (row,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert (row["email"], row["status"], row["smtp_code"]) == ("ann@valid.vworld.net", "VALID", 250)


def test_a_csv_without_an_email_column_is_named_with_its_line(db_url, config, tmp_path):
    source = tmp_path / "bad.csv"
    source.write_text("name,company\nAnn,Valid\n")

    result = validate(db_url, config, str(source))

    assert result.exit_code == 2
    assert f"{source}:1" in result.stderr and "email" in result.stderr
    assert "Traceback" not in result.output


def test_an_interrupted_run_resumes_without_probing_the_done_addresses_again(
    db_url, config, world, tmp_path
):
    addresses = [f"user{i}@valid.vworld.net" for i in range(8)] + ["ann@valid.vworld.net"]
    source = tmp_path / "list.txt"
    source.write_text("\n".join(addresses) + "\n")
    out = tmp_path / "out.csv"
    assert validate(db_url, config, str(source), "-o", str(out)).exit_code == 0
    # The run "was interrupted" after four results, in the middle of writing the fifth.
    lines = out.read_text().splitlines(keepends=True)
    done = [row["email"] for row in csv.DictReader(lines[:5])]
    out.write_text("".join(lines[:5]) + lines[5][:7])
    world.world.wait_idle()
    world.world.reset_counters()

    result = validate(db_url, config, str(source), "-o", str(out))

    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert sorted(row["email"] for row in rows) == sorted(addresses)
    asked = world.world.stats("mx.valid.vworld.net").recipients
    assert not any(asked[email] for email in done)
    assert all(asked[email] == 1 for email in set(addresses) - set(done))
    assert "4 already in" in result.stderr


def test_no_smtp_checks_syntax_disposable_and_mx_only(db_url, config, world, tmp_path):
    source = tmp_path / "list.txt"
    source.write_text("ann@valid.vworld.net\nann@nowhere.vworld.net\nann@mailinator.com\n")

    result = validate(db_url, config, str(source), "--no-smtp", "--format", "jsonl")

    assert result.exit_code == 0, result.stderr
    rows = {r["email"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert rows["ann@valid.vworld.net"]["status"] == "UNKNOWN"
    assert rows["ann@valid.vworld.net"]["mx_host"] == "mx.valid.vworld.net"
    assert rows["ann@nowhere.vworld.net"]["status"] == "NO_MX"
    assert rows["ann@mailinator.com"]["status"] == "DISPOSABLE"
    assert world.world.total().sessions_opened == 0
