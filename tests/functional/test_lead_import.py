"""`outreach-tui leads import`: bad rows named by line, good rows kept, duplicates counted."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from outreach_tui.core.addresses import normalize_address
from outreach_tui.core.errors import InputError
from outreach_tui.db import tables as t
from outreach_tui.db.database import Database
from outreach_tui.db.session import read_tx, write_tx
from outreach_tui.engine.clock import SimulatedClock
from outreach_tui.engine.leads.ingest import fast_normalize_address, import_leads_csv
from tests.functional.conftest import run_cli as run

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def write_csv(tmp_path, text, name="leads.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def leads(db):
    with read_tx(db) as conn:
        rows = conn.execute(sa.select(t.lead).order_by(t.lead.c.id)).all()
    return {row.email: row for row in rows}


def create_campaign(db, name):
    with write_tx(db) as conn:
        conn.execute(sa.insert(t.campaign).values(name=name, window_days=[], created_at=NOW))
        return conn.execute(sa.select(t.campaign.c.id).where(t.campaign.c.name == name)).scalar()


def enrolments(db):
    with read_tx(db) as conn:
        return conn.execute(
            sa.select(t.lead.c.email, t.campaign_lead)
            .join(t.lead, t.lead.c.id == t.campaign_lead.c.lead_id)
            .order_by(t.lead.c.email)
        ).all()


BAD_ROWS_CSV = (
    "Email,First Name,Last Name,Company,Timezone,Job Title,Lead Score\n"  # 1
    "ok1@example.com,Ann,Lee,Acme,Europe/Berlin,CTO,\n"  # 2
    "not-an-address,Bob,,,,,\n"  # 3 invalid address
    ",Carl,,,,,\n"  # 4 empty email
    "ok2@example.com,Dora,,,Mars/Olympus,,\n"  # 5 invalid timezone
    '"ok3@example.com","Eve\nBcc: victim@example.com",,,,,\n'  # 6-7 embedded newline
    "ok4@example.com,Finn,,,,,,surplus\n"  # 8 too many cells
    "ok5@example.com,Gus\x00,,,,,\n"  # 9 NUL byte
    '"ok6@example.com",Hal,"Ro\rss",,,,\n'  # 10 embedded CR
    "OK7@Example.COM, Ivy ,Ito,Beta GmbH,,Founder,87\n"  # 11
)


def test_bad_rows_are_reported_by_line_and_every_good_row_is_kept(db_url, db, tmp_path):
    path = write_csv(tmp_path, BAD_ROWS_CSV)

    result = run(db_url, "leads", "import", str(path))

    assert result.exit_code == 0, result.output
    assert "imported 2, duplicates in file 0, already known 0, enrolled 0, rejected 7" in (
        result.stdout
    )
    expected = {
        3: "not a valid address",
        4: "empty email",
        5: "unknown timezone 'Mars/Olympus'",
        6: "first_name: contains a line break",
        8: "8 cells but the header has 7 columns",
        9: "first_name: contains a NUL character",
        10: "last_name: contains a line break",
    }
    errors = result.stderr.splitlines()
    assert len(errors) == len(expected)
    for line, reason in expected.items():
        assert any(e.startswith(f"{path}:{line}: ") and reason in e for e in errors), (line, errors)
    stored = leads(db)
    assert set(stored) == {"ok1@example.com", "ok7@example.com"}
    ann, ivy = stored["ok1@example.com"], stored["ok7@example.com"]
    assert (ann.first_name, ann.last_name, ann.company, ann.timezone) == (
        "Ann", "Lee", "Acme", "Europe/Berlin"
    )  # fmt: skip
    assert ann.custom == {"job_title": "CTO"}
    assert (ivy.first_name, ivy.domain, ivy.status) == ("Ivy", "example.com", "new")
    assert ivy.custom == {"job_title": "Founder", "lead_score": "87"}
    assert ivy.source == "csv:leads.csv"


def test_import_writes_one_audit_row_with_the_counts(db_url, db, tmp_path):
    path = write_csv(tmp_path, BAD_ROWS_CSV)
    run(db_url, "leads", "import", str(path))
    with read_tx(db) as conn:
        audits = conn.execute(
            sa.select(t.audit_log).where(t.audit_log.c.policy_result == "imported")
        ).all()
    assert len(audits) == 1
    assert "imported 2" in audits[0].reason and "rejected 7" in audits[0].reason


def test_duplicates_in_file_and_database_are_counted_not_reimported(db_url, db, tmp_path):
    first = write_csv(tmp_path, "email\nknown@example.com\n", "first.csv")
    assert run(db_url, "leads", "import", str(first)).exit_code == 0
    path = write_csv(
        tmp_path,
        "e-mail,firstname\nnew@example.com,A\nNEW@example.com,B\nknown@example.com,C\n"
        "other@example.com,D\n",
    )

    result = run(db_url, "leads", "import", str(path))

    assert "imported 2, duplicates in file 1, already known 1, enrolled 0, rejected 0" in (
        result.stdout
    )
    stored = leads(db)
    assert len(stored) == 3
    assert stored["new@example.com"].first_name == "A"  # the first occurrence wins
    assert stored["known@example.com"].first_name is None  # known leads are not updated
    again = run(db_url, "leads", "import", str(path))
    assert "imported 0, duplicates in file 1, already known 3" in again.stdout
    assert len(leads(db)) == 3


def test_duplicates_across_batches_count_as_duplicates_in_file(db, tmp_path):
    path = write_csv(tmp_path, "email\na@x.com\nb@x.com\na@x.com\nc@x.com\nb@x.com\n")
    report = import_leads_csv(
        Database(db), path, clock=SimulatedClock(NOW), operator_id="op", batch_size=2
    )
    assert (report.imported, report.duplicates_in_file, report.already_known) == (3, 2, 0)


def test_campaign_enrols_imported_and_known_leads_once(db_url, db, tmp_path):
    campaign_id = create_campaign(db, "spring")
    run(db_url, "leads", "import", str(write_csv(tmp_path, "email\nb@x.com\n", "old.csv")))
    path = write_csv(tmp_path, "email\nb@x.com\nc@x.com\nc@x.com\n")

    result = run(db_url, "leads", "import", str(path), "--campaign", "spring")

    assert "imported 1, duplicates in file 1, already known 1, enrolled 2" in result.stdout
    rows = enrolments(db)
    assert [r.email for r in rows] == ["b@x.com", "c@x.com"]
    for r in rows:
        assert (r.campaign_id, r.next_step, r.next_due_at, r.state) == (
            campaign_id,
            1,
            None,
            "active",
        )
        assert r.updated_at is not None
    again = run(db_url, "leads", "import", str(path), "--campaign", "spring")
    assert "imported 0, duplicates in file 1, already known 2, enrolled 0" in again.stdout
    assert len(enrolments(db)) == 2


def test_unknown_campaign_is_a_clear_error_and_nothing_is_written(db_url, db, tmp_path):
    path = write_csv(tmp_path, "email\na@x.com\n")

    result = run(db_url, "leads", "import", str(path), "--campaign", "nope")

    assert result.exit_code == 2
    assert "no campaign named nope" in result.stderr and "campaign create" in result.stderr
    assert "Traceback" not in result.output
    assert leads(db) == {}
    with read_tx(db) as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.audit_log)).scalar() == 0


def test_suppressed_address_or_domain_is_imported_as_suppressed(db_url, db, tmp_path):
    assert run(db_url, "suppression", "add", "blocked@x.com").exit_code == 0
    assert run(db_url, "suppression", "add", "spam.org").exit_code == 0
    path = write_csv(
        tmp_path, "email\nblocked@x.com\nfine@x.com\nbob@mail.spam.org\nann@spam.org\n"
    )

    result = run(db_url, "leads", "import", str(path))

    assert "imported 4" in result.stdout
    statuses = {email: row.status for email, row in leads(db).items()}
    assert statuses == {
        "blocked@x.com": "suppressed",
        "fine@x.com": "new",
        "bob@mail.spam.org": "suppressed",
        "ann@spam.org": "suppressed",
    }
    listed = run(db_url, "leads", "list", "--status", "suppressed").stdout.splitlines()
    assert len(listed) == 3 and all("\tsuppressed\t" in line for line in listed)


def test_non_utf8_file_is_refused_with_exit_2_and_no_traceback(db_url, db, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("email,first_name\njörg@example.com,Jörg\n".encode("latin-1"))

    result = run(db_url, "leads", "import", str(path))

    assert result.exit_code == 2
    assert str(path) in result.stderr and "not UTF-8" in result.stderr
    assert "line 2" in result.stderr
    assert "Traceback" not in result.output
    assert leads(db) == {}


def test_file_without_email_column_is_refused_with_exit_2(db_url, db, tmp_path):
    path = write_csv(tmp_path, "name,company\nBob,Acme\n")

    result = run(db_url, "leads", "import", str(path))

    assert result.exit_code == 2
    assert str(path) in result.stderr and "no email column" in result.stderr
    assert "Traceback" not in result.output


def test_only_the_first_50_errors_are_printed(db_url, db, tmp_path):
    path = write_csv(tmp_path, "email\n" + "bad\n" * 60 + "good@x.com\n")
    result = run(db_url, "leads", "import", str(path))
    assert result.exit_code == 0
    errors = result.stderr.splitlines()
    assert len(errors) == 51 and errors[-1] == "... and 10 more"
    assert "imported 1, duplicates in file 0, already known 0, enrolled 0, rejected 60" in (
        result.stdout
    )


def test_list_neutralises_formula_cells(db_url, db, tmp_path):
    path = write_csv(tmp_path, 'email,company\na@x.com,=HYPERLINK("http://evil")\n')
    run(db_url, "leads", "import", str(path))
    listed = run(db_url, "leads", "list").stdout
    assert "\t'=HYPERLINK" in listed


TRICKY = [
    "a@b.com", "A.B+tag@Example.COM", "a..b@x.com", ".a@x.com", "a.@x.com", "a@-x.com",
    "a@x-.com", "a@ab--cd.com", "a@xn--bcher-kva.com", "a@xn--zz.com", "a@1.2.3.4", "a@x.c0m",
    "a@x.c", "a@b.test", "a@x.local", "a@x.localhost", "a@x.onion", "a@x.arpa", "a@x.invalid",
    "a@example", "x" * 64 + "@x.com", "x" * 65 + "@x.com", "a@" + "b" * 63 + ".com",
    "a@" + "b" * 64 + ".com", "a@" + ".".join(["abcdefghi"] * 26) + ".com", "a b@x.com",
    "\"a\"@x.com", "a@[1.2.3.4]", "jörg@bücher.de", "a@bücher.de", "_@x.io", "-@x.io",
    "a@x.co.uk", "a@@x.com", "a@x..com", "a@x.com.", " a@x.com ", "a@x_y.com", "1@2.com",
]  # fmt: skip


def _outcome(fn, value):
    try:
        return fn(value)
    except InputError:
        return None


@pytest.mark.parametrize("address", TRICKY)
def test_fast_address_check_agrees_with_email_validator_on_edge_cases(address):
    assert _outcome(fast_normalize_address, address) == _outcome(normalize_address, address)


def test_fast_address_check_agrees_with_email_validator_on_a_random_sample():
    rng = random.Random(1234)
    alphabet = "abcXYZ019.-_+@"
    tails = ["com", "de", "c0m", "test", "local", "io", "x", "co.uk", ""]
    for _ in range(4000):
        local = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
        domain = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
        address = f"{local}@{domain}.{rng.choice(tails)}"
        assert _outcome(fast_normalize_address, address) == _outcome(normalize_address, address), (
            address
        )


def test_custom_columns_are_stored_as_the_same_json_the_orm_would_write(db, tmp_path):
    path = write_csv(tmp_path, 'email,Note,Größe\na@x.com,"say ""hi"" \\ there",42\n')
    import_leads_csv(Database(db), path, clock=SimulatedClock(NOW), operator_id="op")
    with read_tx(db) as conn:
        raw = conn.exec_driver_sql("SELECT CAST(custom AS TEXT) FROM lead").scalar()
    expected = {"note": 'say "hi" \\ there', "größe": "42"}
    assert raw == json.dumps(expected)
    assert leads(db)["a@x.com"].custom == expected


def import_file(db, path):
    return import_leads_csv(Database(db), path, clock=SimulatedClock(NOW), operator_id="op")


@pytest.mark.timeout(30)
def test_a_header_of_a_million_columns_is_refused_at_once(db, tmp_path):
    path = write_csv(tmp_path, "email," + ",".join(f"c{i}" for i in range(10**6)) + "\na@x.com\n")
    with pytest.raises(InputError) as err:
        import_file(db, path)
    assert str(err.value) == (
        f"{path}: the header has 1,000,001 columns; a lead list may have at most 1,000"
    )
    assert leads(db) == {}


@pytest.mark.timeout(30)
def test_a_column_twice_among_the_most_columns_allowed_is_found_in_one_pass(db, tmp_path):
    names = ["email", *(f"c{i}" for i in range(998)), "C5"]
    path = write_csv(tmp_path, ",".join(names) + "\na@x.com\n")
    with pytest.raises(InputError, match="column 'C5' appears twice in the header"):
        import_file(db, path)
    names[-1] = "c998"
    assert import_file(db, write_csv(tmp_path, ",".join(names) + "\na@x.com\n")).imported == 1


def test_an_unclosed_quote_is_reported_where_it_opened_with_the_lines_it_swallowed(db, tmp_path):
    path = write_csv(
        tmp_path,
        "email,first_name,company\n"  # 1
        "ann@example.com,Ann,Acme\n"  # 2
        'bob@example.com,Bob,"Bob & Sons\n'  # 3: the quote never closes
        "cy@example.com,Cy,Beta\n"  # 4
        "dee@example.com,Dee,Gamma\n"  # 5
        "eve@example.com,Eve,Delta\n",  # 6
    )
    report = import_file(db, path)
    assert (report.imported, report.rejected) == (1, 1)
    assert report.errors == [
        f"{path}:3: a quote opened on line 3 is never closed: the 3 lines after it, to the end "
        "of the file, were read as one cell and none of them was imported (close the quote "
        "and import again)"
    ]
    assert set(leads(db)) == {"ann@example.com"}


def test_a_quote_closed_many_lines_later_is_reported_with_the_lines_it_swallowed(db, tmp_path):
    swallowed = "".join(f"p{i}@example.com,P{i}\n" for i in range(12))  # lines 4-15
    path = write_csv(
        tmp_path,
        'email,first_name\nann@example.com,Ann\n"bob@example.com,Bob\n'
        + swallowed
        + '"cy@example.com",Cy\ndee@example.com,Dee\n',  # line 16 closes it; 17 is read
    )
    report = import_file(db, path)
    assert report.errors == [
        f"{path}:3: a quoted cell runs from line 3 to line 16: a quote left open swallows the "
        "lines up to the next quote, and none of the 13 lines after line 3 was imported "
        "(close the quote and import again)"
    ]
    assert set(leads(db)) == {"ann@example.com", "dee@example.com"}


def test_a_quoted_cell_over_two_lines_at_the_end_of_the_file_is_refused_as_before(db, tmp_path):
    path = write_csv(tmp_path, 'email,first_name\nann@example.com,Ann\nbob@example.com,"B\nob"\n')
    report = import_file(db, path)
    assert report.errors == [f"{path}:3: first_name: contains a line break"]
    assert set(leads(db)) == {"ann@example.com"}


def test_a_cell_with_a_terminal_control_is_refused_naming_the_line_column_and_character(
    db_url, db, tmp_path
):
    path = write_csv(
        tmp_path,
        "email,first_name,company\n"  # 1
        "ok@example.com,Ann,Acme\n"  # 2
        "osc@example.com,\x1b]52;c;aGk=\x07,Acme\n"  # 3 OSC 52: writes the clipboard
        "csi@example.com,Bo,\x9b2JCorp\n"  # 4 C1 CSI: clears the screen
        "bel@example.com,Bel\x07,Acme\n"  # 5 BEL
        "del@example.com,D\x7fel,Acme\n"  # 6 DEL
        "tab@example.com,T\tab,Acme\n"  # 7 a tab is text
        "rtl@example.com,\u202bAli\u202c,Acme\n",  # 8 bidi: kept, replaced where shown
    )

    result = run(db_url, "leads", "import", str(path))

    assert result.exit_code == 0, result.output
    assert "imported 3, duplicates in file 0, already known 0, enrolled 0, rejected 4" in (
        result.stdout
    )
    assert result.stderr.splitlines() == [
        f"{path}:3: first_name: contains a control character (ESC, U+001B)",
        f"{path}:4: company: contains a control character (CSI, U+009B)",
        f"{path}:5: first_name: contains a control character (BEL, U+0007)",
        f"{path}:6: first_name: contains a control character (DEL, U+007F)",
    ]
    assert set(leads(db)) == {"ok@example.com", "tab@example.com", "rtl@example.com"}


def test_a_header_with_a_terminal_control_is_refused_whole(db, tmp_path):
    path = write_csv(tmp_path, "email,\x1b[2Jname\nok@example.com,Ann\n")
    with pytest.raises(InputError) as err:
        import_leads_csv(Database(db), path, clock=SimulatedClock(NOW), operator_id="op")
    assert str(err.value) == f"{path}:1: a header cell contains a control character (ESC, U+001B)"
    assert leads(db) == {}
