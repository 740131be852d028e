"""Fuzzing the lead import (engine/leads/csv_source.py, ingest.py) with hostile CSV files: rows,
headers and raw text. Whatever the file holds, the import returns a report or raises
`InputError` naming the file, never anything else; every refused row is reported at the line
it starts on; every good row is kept; a refused file writes nothing.

One migrated SQLite database per test; each example writes addresses of its own (a counter),
so what one example wrote never decides what the next one expects."""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outreach_tui.core.errors import InputError
from outreach_tui.db import migrate
from outreach_tui.db import tables as t
from outreach_tui.db.database import Database
from outreach_tui.db.session import make_engine
from outreach_tui.engine.clock import SimulatedClock
from outreach_tui.engine.leads.ingest import LeadImportReport, import_leads_csv
from tests.functional.helpers import START

FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_numbers = itertools.count()
LOCATION = re.compile(r"^(?P<path>.+):(?P<line>\d+): (?P<reason>.+)$", re.S)


@pytest.fixture
def world(tmp_path) -> Iterator[tuple[Database, Path]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'fuzz.db'}")
    migrate.upgrade(engine)
    yield Database(engine), tmp_path
    engine.dispose()


def stored(db: Database) -> set[str]:
    with db.engine.connect() as conn:
        return set(conn.execute(sa.select(t.lead.c.email)).scalars())


def unique_address() -> str:
    return f"lead{next(_numbers)}@fuzz{next(_numbers)}.example"


def import_file(db: Database, path: Path) -> LeadImportReport:
    return import_leads_csv(db, path, clock=SimulatedClock(START), operator_id="fuzz")


def lines_of(text: str) -> int:
    """Lines as the csv module counts them (the file is read with newline="")."""
    return sum(1 for _ in io.StringIO(text, newline=""))


def located(report: LeadImportReport, path: Path, last_line: int) -> dict[int, str]:
    """Each refused row's line → reason; every error names this file and a line in it."""
    found: dict[int, str] = {}
    for error in report.errors:
        match = LOCATION.match(error)
        assert match is not None and match["path"] == str(path), error
        line = int(match["line"])
        assert 2 <= line <= last_line, error
        found[line] = match["reason"]
    assert report.rejected == len(report.errors)  # fewer than the 50 kept here
    return found


# --- rows: written by a CSV writer, so where each one starts is known -------------------------

cell_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
BAD_ADDRESSES = ["nope", "a@@b.com", "x" * 65 + "@x.com", "a@b..com", "a@-b.com", "a b@c.com", ""]
ROW_KINDS = ("good", "formula", "bad_address", "too_many", "control", "blank", "any", "again")
CONTROLS = ["a\x00b", "a\nb", "a\r\nb", "\x1b[2J", "\x1b]52;c;eHg=\x07", "x\x9b31m", "\x7f",
            "line\n" * 12]  # fmt: skip


@st.composite
def lead_rows(draw: st.DrawFn) -> list[tuple[str, list[str]]]:
    rows: list[tuple[str, list[str]]] = []
    for kind in draw(st.lists(st.sampled_from(ROW_KINDS), max_size=12)):
        address = unique_address()
        if kind == "good":
            cells = [address, draw(st.sampled_from(["Ann", "Jörg", "李", "O'Brien", 'say "hi"']))]
        elif kind == "formula":
            cells = [address, draw(st.sampled_from(["=1+1", "+SUM(A1)", "\uff1dx", " @x", "-2"]))]
        elif kind == "bad_address":
            cells = [draw(st.sampled_from(BAD_ADDRESSES)), "Bad"]
        elif kind == "too_many":
            cells = [address, "A", "B", "C"]
        elif kind == "control":
            cells = [address, draw(st.sampled_from(CONTROLS))]
        elif kind == "blank":
            cells = []
        elif kind == "again":
            earlier = [cells for k, cells in rows if k == "good"]
            if not earlier:
                continue
            cells = [draw(st.sampled_from(earlier))[0].upper(), "Again"]
        else:
            cells = [address, draw(cell_text)]
        rows.append((kind, cells))
    return rows


@FUZZ
@given(
    rows=lead_rows(),
    ending=st.sampled_from(["\n", "\r\n"]),
    bom=st.booleans(),
    header=st.sampled_from([["email", "first_name"], ["E-mail", "First Name"],
                            [" Email Address ", "firstname"]]),
)  # fmt: skip
def test_every_row_is_kept_or_refused_at_its_own_line(world, rows, ending, bom, header):
    db, tmp = world
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator=ending)
    writer.writerow(header)
    starts: list[int] = []
    line = 2
    for _, cells in rows:
        before = buffer.tell()
        writer.writerow(cells)
        starts.append(line)
        line += lines_of(buffer.getvalue()[before:])
    path = tmp / f"rows{next(_numbers)}.csv"
    path.write_text(("\ufeff" if bom else "") + buffer.getvalue(), encoding="utf-8", newline="")
    before_import = stored(db)

    report = import_file(db, path)

    refused = located(report, path, line)
    after = stored(db)
    new = after - before_import
    assert len(new) == report.imported
    for (kind, cells), start in zip(rows, starts, strict=True):
        address = cells[0].lower() if cells else ""
        if kind in ("good", "formula"):
            assert address in new and start not in refused, (kind, cells, refused)
        elif kind in ("bad_address", "too_many", "control"):
            assert start in refused, (kind, cells, report.errors)
            if kind != "bad_address":
                assert address not in after  # nothing of a refused row is written
        elif kind == "any":
            assert (address in new) != (start in refused), (cells, report.errors)
        elif kind in ("blank", "again"):
            assert start not in refused
    duplicates = sum(kind == "again" for kind, _ in rows)
    assert report.duplicates_in_file == duplicates


# --- headers ------------------------------------------------------------------------------------

header_cell = st.one_of(
    cell_text,
    st.sampled_from(["email", "Email", "E-mail", "email address", "first_name", "First Name",
                     "", " ", "email\n", '"email"', "\x1b[2Jemail", "timezone", "=cmd()"]),
)  # fmt: skip


@FUZZ
@given(
    header=st.lists(header_cell, min_size=1, max_size=8),
    extra_columns=st.sampled_from([0, 0, 0, 995, 1001]),
)
def test_any_header_is_accepted_or_refused_naming_the_file_never_half_written(
    world, header, extra_columns
):
    db, tmp = world
    header = header + [f"extra{i}" for i in range(extra_columns)]
    address = unique_address()
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerow([address if h.strip().lower() in ("email", "e-mail") else "x" for h in header])
    path = tmp / f"header{next(_numbers)}.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    before = stored(db)

    try:
        report = import_file(db, path)
    except InputError as exc:
        assert str(exc).startswith(f"{path}"), str(exc)
        assert stored(db) == before  # a refused file writes nothing
        return
    assert len(header) <= 1000
    located(report, path, lines_of(buffer.getvalue()) + 1)
    assert len(stored(db) - before) == report.imported


# --- raw text: quotes left open, stray quotes, controls, anything -------------------------------

raw_line = st.one_of(
    st.text(alphabet=',"\r\n ab@.x\x00\x1b=;\t\'', max_size=30),
    st.sampled_from(['"', 'a@b.example,"open', '"a@b.example,x', 'x,"y"z', '""', '"""',
                     "\n" * 15, "a@b.example," + "x" * 200_000]),
    cell_text,
)  # fmt: skip


@FUZZ
@given(lines=st.lists(raw_line, max_size=12), ending=st.sampled_from(["\n", "\r\n", "\r"]))
def test_any_text_after_a_good_row_is_reported_by_line_and_the_good_row_is_kept(
    world, lines, ending
):
    db, tmp = world
    keep = unique_address()
    text = f"email,first_name{ending}{keep},Keep{ending}" + ending.join(lines)
    path = tmp / f"raw{next(_numbers)}.csv"
    path.write_text(text, encoding="utf-8", newline="")
    before = stored(db)

    report = import_file(db, path)

    located(report, path, max(lines_of(text), 2))
    new = stored(db) - before
    assert keep in new
    assert len(new) == report.imported
    for error in report.errors:
        if "never closed" in error:
            assert re.search(r"a quote opened on line \d+ is never closed: the [\d,]+ lines", error)
