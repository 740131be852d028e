"""`outreach-tui mailboxes import|list`: config's column names, secrets only as references."""

from __future__ import annotations

import sqlalchemy as sa

from outreach_tui.db import tables as t
from outreach_tui.db.session import read_tx
from tests.functional.conftest import run_cli as run

LITERAL = "Hunter2-literal-Xq93"  # recognisable: the test searches every file for it


MAILBOXES_CSV = (
    "email,from_name,smtp_host,smtp_port,smtp_user,smtp_password,imap_host,imap_port,"
    "imap_password,daily_limit,warmup_started,smtp_security,verify_tls\n"
    "Alex@Brand-One.com,Alex,smtp.brand-one.com,587,,env:ALEX_PW,imap.brand-one.com,993,,"
    "40,2026-02-01,,true\n"  # 2
    f"sam@brand-two.com,Sam,smtp.brand-two.com,465,,{LITERAL},,,,,,,\n"  # 3: literal password
    "kim@brand-two.com,Kim,smtp.brand-two.com,465,,keyring:outreach/kim,,,file:/run/kim,,,"
    "tls,false\n"  # 4
    "lee@brand-two.com,Lee,smtp.brand-two.com,abc,,env:LEE,,,,-5,,,\n"  # 5: port, limit
)


def test_good_rows_land_and_a_literal_password_is_refused_without_echo(db_url, db, tmp_path):
    path = tmp_path / "boxes.csv"
    path.write_text(MAILBOXES_CSV, encoding="utf-8")

    result = run(db_url, "mailboxes", "import", str(path))

    assert result.exit_code == 0, result.output
    assert "imported 2, rejected 2" in result.stdout
    assert f"{path}:3: smtp_password: must be a secret reference" in result.stderr
    assert f"{path}:5: smtp_port:" in result.stderr
    assert f"{path}:5: daily_limit:" in result.stderr
    with read_tx(db) as conn:
        boxes = {
            row.email: row
            for row in conn.execute(
                sa.select(t.mailbox, t.sending_domain.c.name.label("domain_name")).join(
                    t.sending_domain, t.sending_domain.c.id == t.mailbox.c.domain_id
                )
            )
        }
        domains = set(conn.execute(sa.select(t.sending_domain.c.name)).scalars())
    assert set(boxes) == {"alex@brand-one.com", "kim@brand-two.com"}
    assert domains == {"brand-one.com", "brand-two.com"}
    alex, kim = boxes["alex@brand-one.com"], boxes["kim@brand-two.com"]
    assert (alex.domain_name, alex.source, alex.smtp_security, alex.daily_limit) == (
        "brand-one.com", "csv", "starttls", 40
    )  # fmt: skip
    assert (alex.smtp_password_ref, alex.imap_password_ref) == ("env:ALEX_PW", "env:ALEX_PW")
    assert (kim.smtp_security, kim.verify_tls, kim.imap_password_ref) == (
        "tls", False, "file:/run/kim"
    )  # fmt: skip

    listed = run(db_url, "mailboxes", "list").stdout
    assert "alex@brand-one.com\tHEALTHY\t40\tsmtp.brand-one.com:587\tverify_tls=on" in listed
    assert "kim@brand-two.com\tHEALTHY\twarmup\tsmtp.brand-two.com:465\tverify_tls=OFF" in listed
    assert "env:" not in listed and "keyring:" not in listed

    db.dispose()
    assert LITERAL not in result.output
    for file in tmp_path.rglob("*"):
        if file.is_file() and file != path:
            assert LITERAL.encode() not in file.read_bytes(), file


def test_reimport_updates_connection_settings(db_url, db, tmp_path):
    path = tmp_path / "boxes.csv"
    path.write_text("email,smtp_host,smtp_password\na@b.com,old.host,env:A\n")
    assert "imported 1" in run(db_url, "mailboxes", "import", str(path)).stdout
    path.write_text("email,smtp_host,smtp_password\na@b.com,new.host,env:A\n")
    assert "imported 1" in run(db_url, "mailboxes", "import", str(path)).stdout
    assert "a@b.com\tHEALTHY\twarmup\tnew.host:587" in run(db_url, "mailboxes", "list").stdout


def test_unknown_column_or_non_utf8_file_is_refused_with_exit_2(db_url, db, tmp_path):
    path = tmp_path / "boxes.csv"
    path.write_text("email,smtp_host,smtp_pass\na@b.com,h,env:A\n")
    result = run(db_url, "mailboxes", "import", str(path))
    assert result.exit_code == 2 and "unknown column 'smtp_pass'" in result.stderr
    path.write_bytes("email,smtp_host,smtp_password\nä@b.com,h,env:A\n".encode("latin-1"))
    result = run(db_url, "mailboxes", "import", str(path))
    assert result.exit_code == 2 and "not UTF-8" in result.stderr
    assert "Traceback" not in result.output


def test_a_value_with_a_terminal_control_is_refused_naming_the_line_and_column(
    db_url, db, tmp_path
):
    path = tmp_path / "boxes.csv"
    path.write_text(
        "email,from_name,smtp_host,smtp_password\n"
        "ok@brand.com,Ok,smtp.brand.com,env:OK_PW\n"
        "esc@brand.com,\x1b]0;owned\x07,smtp.brand.com,env:ESC_PW\n"
        "c1@brand.com,C1,smtp\x9b2J.brand.com,env:C1_PW\n",
        encoding="utf-8",
    )

    result = run(db_url, "mailboxes", "import", str(path))

    assert result.exit_code == 0, result.output
    assert "imported 1, rejected 2" in result.stdout
    assert result.stderr.splitlines() == [
        f"{path}:3: from_name: contains a control character (ESC, U+001B)",
        f"{path}:4: smtp_host: contains a control character (CSI, U+009B)",
    ]
