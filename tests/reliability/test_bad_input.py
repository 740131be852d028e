"""Bad input from outside, through the `outreach-tui` command as an operator types it: CSV leads,
config files, campaign files, addresses. Each gets a clear message naming where (file:line or
the key), no traceback reaches the operator, good rows are kept and nothing is half-written.

(Reply messages: broken MIME, huge attachments, deep nesting are the reply inbox's tests.)
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select

from outreach_tui.cli import cli
from outreach_tui.db import tables as t


def run(*args: str, db: str | None = None):
    """The command in-process; an exception escaping it fails the test (no traceback path)."""
    argv = (["--db", db] if db else []) + list(args)
    result = CliRunner().invoke(cli, argv, catch_exceptions=False)
    assert "Traceback" not in result.output
    return result


def lead_emails(db_url: str) -> list[str]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return sorted(conn.execute(select(t.lead.c.email)).scalars())
    finally:
        engine.dispose()


@pytest.fixture
def db(tmp_path):
    return f"sqlite:///{tmp_path / 'bad.db'}"


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# --- CSV leads -------------------------------------------------------------------------------

GOOD = b"good@example.com,Good\n"


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("latin1.csv", "email,first_name\nanna@firma.de,José\n".encode("latin-1") + GOOD,
         "latin1.csv: not UTF-8 text (line 2"),
        ("utf16.csv", "email,first_name\nanna@firma.de,Anna\n".encode("utf-16"),
         "utf16.csv: not UTF-8 text (line 1"),
        ("noheader.csv", b"anna@firma.de,Anna\n" + GOOD, "noheader.csv: no email column"),
        ("empty.csv", b"", "empty.csv: the file is empty"),
        ("twice.csv", b"email,Email\n" + GOOD, "column 'Email' appears twice"),
    ],
    ids=["latin-1", "utf-16", "missing header", "empty", "column twice"],
)  # fmt: skip
def test_unreadable_lead_file_is_refused_whole_naming_file_and_line(
    tmp_path, db, name, data, message
):
    result = run("leads", "import", str(write(tmp_path / name, data)), db=db)
    assert result.exit_code == 2
    assert message in result.output
    assert lead_emails(db) == []  # nothing half-written


def test_bom_is_ignored(tmp_path, db):
    path = write(tmp_path / "bom.csv", b"\xef\xbb\xbfemail,first_name\n" + GOOD)
    result = run("leads", "import", str(path), db=db)
    assert result.exit_code == 0 and "imported 1" in result.output
    assert lead_emails(db) == ["good@example.com"]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (b"big@example.com," + b"a" * 1_000_000 + b"\n", "bad.csv:2: a cell is longer than"),
        (b"nul@example.com,A\x00B\n", "bad.csv:2: first_name: contains a NUL character"),
        (b"not-an-address,X\n", "bad.csv:2: 'not-an-address' is not a valid address"),
        (b"a@" + b"x" * 300 + b".com,X\n", "bad.csv:2:"),
        (b"too@example.com,a,b,c\n", "bad.csv:2: 4 cells but the header has 2 columns"),
    ],
    ids=["1 MB field", "embedded NUL", "no @", "320+ characters", "extra cells"],
)
def test_bad_lead_row_is_named_by_line_and_the_good_rows_are_kept(tmp_path, db, row, message):
    path = write(tmp_path / "bad.csv", b"email,first_name\n" + row + GOOD)
    result = run("leads", "import", str(path), db=db)
    assert result.exit_code == 0, result.output
    assert message in result.output
    assert "imported 1" in result.output and "rejected 1" in result.output
    assert lead_emails(db) == ["good@example.com"]


def test_formula_cells_are_stored_as_text_and_exported_neutralised(tmp_path, db):
    path = write(
        tmp_path / "formula.csv",
        b'email,first_name,company\nf@example.com,=HYPERLINK("http://x"),+SUM(A1)\n',
    )
    assert run("leads", "import", str(path), db=db).exit_code == 0
    out = tmp_path / "leads-out.csv"
    assert run("export", "leads", "-o", str(out), db=db).exit_code == 0
    (row,) = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert row["first_name"] == '\'=HYPERLINK("http://x")' and row["company"] == "'+SUM(A1)"


def test_full_width_and_blank_led_formula_cells_are_exported_neutralised(tmp_path, db):
    path = tmp_path / "formula.csv"
    path.write_text(
        "email,first_name,last_name,company\n"
        'w@example.com,\uff1dHYPERLINK("http://x"),\uff20SUM(A1), =1+1\n',
        encoding="utf-8",
    )
    assert run("leads", "import", str(path), db=db).exit_code == 0
    out = tmp_path / "leads-out.csv"
    assert run("export", "leads", "-o", str(out), db=db).exit_code == 0
    (row,) = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert row["first_name"] == '\'\uff1dHYPERLINK("http://x")'
    assert row["last_name"] == "'\uff20SUM(A1)"
    assert row["company"].startswith("'") and row["company"].endswith("=1+1")


def test_idn_address_is_kept_and_quoted_local_part_with_space_is_refused(tmp_path, db):
    path = tmp_path / "addr.csv"
    path.write_text(
        'email,first_name\nbücher@müller.de,B\n"""a b""@example.com",Q\n' + GOOD.decode(),
        encoding="utf-8",
    )
    result = run("leads", "import", str(path), db=db)
    assert result.exit_code == 0, result.output
    assert "addr.csv:3:" in result.output
    assert "imported 2" in result.output and "rejected 1" in result.output
    emails = lead_emails(db)
    assert "good@example.com" in emails and any("@" in e and "ller" in e for e in emails)


_cell = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.tuples(_cell, _cell), max_size=8))
def test_any_csv_content_is_imported_or_refused_with_a_location_never_a_traceback(
    tmp_path_factory, rows
):
    tmp = tmp_path_factory.mktemp("fuzz")
    db = f"sqlite:///{tmp / 'f.db'}"
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["email", "first_name"])
    writer.writerows(rows)
    writer.writerow(["good@example.com", "Good"])
    path = tmp / "fuzz.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")

    result = run("leads", "import", str(path), db=db)

    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 0:
        assert "good@example.com" in lead_emails(db)
        for line in result.output.splitlines():
            assert line.startswith((f"{path}:", "imported", "... and")), line
    else:
        assert result.output.startswith(f"error: {path}")


# --- config files ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[policy]\ndaily_usr_cap = 5\n", "policy.daily_usr_cap: unknown key"),
        ('[policy]\ndaily_user_cap = "lots"\n', "policy.daily_user_cap: Input should be"),
        ("[policy\n", "not valid TOML"),
        ("[[mailboxes]]\nemail = \"a@b.com\"\nsmtp_host = \"h\"\nsmtp_password = \"hunter2\"\n",
         "mailboxes"),
    ],
    ids=["unknown key", "wrong type", "broken TOML", "password not a reference"],
)  # fmt: skip
def test_bad_config_is_refused_naming_the_key(tmp_path, text, message):
    config = tmp_path / "config.toml"
    config.write_text(f'database_url = "sqlite:///{tmp_path / "c.db"}"\n' + text)
    result = run("--config", str(config), "mailboxes", "list")
    assert result.exit_code == 2
    assert message in result.output and "config.toml" in result.output
    assert "hunter2" not in result.output
    assert not (tmp_path / "c.db").exists()  # nothing written on a config it refused


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("env:OUTREACH_TEST_NOT_SET", "environment variable OUTREACH_TEST_NOT_SET is not set"),
        ("file:{tmp}/missing-secret", "cannot read secret file"),
    ],
    ids=["env variable not set", "file missing"],
)
def test_missing_secret_target_is_named_by_key_when_the_worker_starts(tmp_path, reference, message):
    config = tmp_path / "config.toml"
    config.write_text(
        f'database_url = "sqlite:///{tmp_path / "c.db"}"\n'
        "[verify]\nrequired = false\n[dns]\nhealth_checks = false\n"
        '[[mailboxes]]\nemail = "a@b.com"\nsmtp_host = "127.0.0.1"\nsmtp_port = 9\n'
        f'smtp_password = "{reference.format(tmp=tmp_path)}"\n'
    )
    result = run("--config", str(config), "worker", "--once")
    assert result.exit_code == 0, result.output
    assert "mailboxes[a@b.com].smtp_password" in result.output and message in result.output


def test_a_secret_file_that_is_not_utf8_is_named_by_key_and_nothing_connects(
    tmp_path, smtp_server, pki
):
    server = smtp_server(security="starttls", users={"a@b.com": "pässword"})
    secret = write(tmp_path / "smtp-password", "pässword\n".encode("latin-1"))
    config = tmp_path / "config.toml"
    config.write_text(
        f'database_url = "sqlite:///{tmp_path / "c.db"}"\n'
        f'[tls]\nca_file = "{pki.ca_file}"\n'
        "[verify]\nrequired = false\n[dns]\nhealth_checks = false\n"
        f'[[mailboxes]]\nemail = "a@b.com"\nsmtp_host = "{server.host}"\n'
        f'smtp_port = {server.port}\nsmtp_password = "file:{secret}"\n'
    )
    unreadable = f"secret file {secret} is not UTF-8 text (line 1)"

    result = run("--config", str(config), "worker", "--once")
    assert result.exit_code == 0, result.output
    assert "mailboxes[a@b.com].smtp_password" in result.output and unreadable in result.output

    body = write(tmp_path / "body.txt", b"Hello")
    result = run("--config", str(config), "send", "--from", "a@b.com", "--to",
                 "lead@example.org", "--subject", "Hi", "--body-file", str(body))  # fmt: skip
    assert result.exit_code == 1
    assert "not sent: the mailbox's password cannot be read" in result.output
    assert "SMTP password of a@b.com" in result.output and unreadable in result.output
    assert "unknown" not in result.output
    assert server.connections_accepted == 0


# --- campaign files --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ('subject = "Hi {a|b"\nbody = "x"', "steps[1].subject: template syntax error"),
        ('subject = "Hi"\nbody = "x {{first_name"', "steps[1].body: template syntax error"),
        ('subject = "Hi"\nbody = "x"\nbogus = 1', "steps.0.bogus"),
        ('body = "no subject"', "the first step needs a subject"),
    ],
    ids=["broken spintax", "unclosed variable", "unknown key", "no subject"],
)
def test_bad_campaign_file_is_refused_naming_the_step(tmp_path, db, step, message):
    path = tmp_path / "campaign.toml"
    path.write_text(f'name = "C"\n[[steps]]\n{step}\n')
    result = run("campaign", "create", "--from", str(path), db=db)
    assert result.exit_code == 2
    assert "campaign.toml" in result.output
    assert message in result.output.replace("steps[1].bogus", "steps.0.bogus")


def test_unknown_template_variable_is_warned_about_naming_the_step(tmp_path, db):
    path = tmp_path / "campaign.toml"
    path.write_text('name = "C"\n[[steps]]\nsubject = "Hi {{compnay}}"\nbody = "x"\n')
    result = run("campaign", "create", "--from", str(path), db=db)
    assert result.exit_code == 0
    assert "warning: " in result.output and "steps[1].subject uses {{compnay}}" in result.output


# --- addresses -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    ["a" * 321 + "@example.com", "two@@example.com", "x@-bad-.com", "line\nbreak@example.com"],
    ids=["321+ characters", "double @", "bad domain", "line break"],
)
def test_bad_address_on_the_command_line_gets_a_sentence(db, address):
    result = run("suppression", "add", address, db=db)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ")
