"""Reading a CSV of leads (or mailboxes) safely: UTF-8 checked before anything is written,
the header checked (at most `MAX_COLUMNS` columns, checked in one pass), each record located
by the line it starts on, a malformed record costing that row only where the reader can tell
where the next one starts, and a quote left open reported where it opened, with the lines
it swallowed, instead of the rest of the file read as one cell."""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from outreach_tui.core.errors import InputError
from outreach_tui.core.screen_text import control_problem
from outreach_tui.engine.leads.lead_fields import RejectedRow, column_name


def check_utf8(path: Path) -> None:
    """Refuse a file that is not UTF-8 before anything is written, naming the line."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    line += chunk.count(b"\n", 0, exc.start)
                    raise InputError(
                        f"{path}: not UTF-8 text (line {line}: {exc.reason}); "
                        "save it as UTF-8 and try again"
                    ) from None
                line += chunk.count(b"\n")
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text (it ends inside a character)") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None


#: Columns a lead list may have (the standard fields and its custom ones).
MAX_COLUMNS = 1_000
#: A record running over this many lines is refused: a quote left open, most likely, that
#: swallowed the rows up to the next quote (a lead's fields hold no line breaks anyway).
MAX_RECORD_LINES = 10


def read_header(path: Path, reader: Any) -> list[str]:
    """Header names of a CSV of leads, checked: an email column, no column twice."""
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"{path}: the file is empty (expected a header row)") from None
    except csv.Error as exc:
        raise InputError(f"{path}: not a CSV file: {exc}") from None
    if len(header) > MAX_COLUMNS:
        raise InputError(
            f"{path}: the header has {len(header):,} columns; a lead list may have at most "
            f"{MAX_COLUMNS:,}"
        )
    for h in header:
        if problem := control_problem(h):
            raise InputError(f"{path}:1: a header cell {problem}")
    names = [h.strip() or f"column_{i + 1}" for i, h in enumerate(header)]
    fields = [column_name(n) for n in names]
    if "email" not in fields:
        raise InputError(
            f"{path}: no email column (expected a header named email, e-mail or email address)"
        )
    seen: set[str] = set()
    for name, field in zip(names, fields, strict=True):
        if field in seen:
            raise InputError(f"{path}: column {name!r} appears twice in the header")
        seen.add(field)
    return names


def csv_rows(path: Path, reader: Any, headers: list[str]) -> Iterator[
    tuple[str, Mapping[str, str] | RejectedRow]
]:  # fmt: skip
    """(\"FILE:LINE\", row) for each record; LINE is where the record starts.

    A record spanning lines is held until the next one shows the file goes on: one that
    reaches the end of the file inside a quote is a quote left open (reported with the line
    it opened on and the lines it swallowed), never a lead with the rest of the file in a
    cell."""
    width = len(headers)
    held: tuple[int, list[str]] | None = None
    for start, end, cells in _records(path, reader):
        if held is not None:
            yield _row(path, headers, width, *held)
            held = None
        if isinstance(cells, RejectedRow):
            yield f"{path}:{start}", cells
        elif end - start >= MAX_RECORD_LINES:
            yield f"{path}:{start}", RejectedRow(_long_record(start, end))
        elif end > start:
            held = (start, cells)
        elif cells:  # else a blank line
            yield _row(path, headers, width, start, cells)
    if held is not None:
        opened = unclosed_quote(path, held[0])
        if opened is None:
            yield _row(path, headers, width, *held)
        else:
            yield f"{path}:{held[0]}", RejectedRow(_unclosed(*opened))


def _row(
    path: Path, headers: list[str], width: int, start: int, cells: list[str]
) -> tuple[str, Mapping[str, str] | RejectedRow]:
    if len(cells) > width:
        return f"{path}:{start}", RejectedRow(
            f"{len(cells)} cells but the header has {width} columns"
        )
    return f"{path}:{start}", dict(zip(headers, cells, strict=False))


def _records(path: Path, reader: Any) -> Iterator[tuple[int, int, list[str] | RejectedRow]]:
    """(first line, last line, cells) per record, or a `RejectedRow` where the reader failed."""
    previous = reader.line_num
    try:
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                if "field limit" not in str(exc) or reader.line_num != previous + 1:
                    raise
                # A one-line record: the reader gave up after reading its whole line and goes
                # on with the next one, so only this row is lost, not the rest of the file.
                # (Inside a quoted cell spanning lines, where the next record starts is
                # unknown: the rest of the file is not read, as for any malformed CSV.)
                start, previous = previous + 1, reader.line_num
                limit = f"a cell is longer than {csv.field_size_limit():,} characters"
                yield start, start, RejectedRow(limit)
                continue
            start, previous = previous + 1, reader.line_num
            yield start, previous, cells
    except csv.Error as exc:
        opened = unclosed_quote(path, previous + 1)
        reason = (
            _unclosed(*opened)
            if opened is not None
            else f"malformed CSV ({exc}); the rest of the file was not read"
        )
        yield previous + 1, previous + 1, RejectedRow(reason)
    except UnicodeDecodeError:  # the file changed after it was checked
        raise InputError(f"{path}: not UTF-8 text") from None


def _unclosed(opened: int, swallowed: int) -> str:
    return (
        f"a quote opened on line {opened} is never closed: the {swallowed:,} lines after it, "
        "to the end of the file, were read as one cell and none of them was imported "
        "(close the quote and import again)"
    )


def _long_record(start: int, end: int) -> str:
    return (
        f"a quoted cell runs from line {start} to line {end}: a quote left open swallows the "
        f"lines up to the next quote, and none of the {end - start:,} lines after line {start} "
        "was imported (close the quote and import again)"
    )


_CELL_SEPARATOR = re.compile(r'[,"\r\n]')


def unclosed_quote(path: Path, start_line: int) -> tuple[int, int] | None:
    """Where the record starting on `start_line` opens a quote that the file never closes:
    (the line the quote opened on, how many lines follow it), or None. The csv module's
    rules: a quote opens a cell only as its first character; inside, "" is a quote."""
    quoted, opened, number = False, 0, 0
    with path.open(newline="", encoding="utf-8-sig") as fh:
        for number, text in enumerate(fh, start=1):
            if number < start_line:
                continue
            at, cell_from = 0, (0 if number == start_line else -1)
            while at < len(text):
                if quoted:
                    close = text.find('"', at)
                    if close < 0:
                        break  # the quote goes on to the next line
                    if text.startswith('"', close + 1):
                        at = close + 2  # "" inside a quoted cell
                    else:
                        quoted, at = False, close + 1
                    continue
                found = _CELL_SEPARATOR.search(text, at)
                if found is None:
                    break
                mark, at = found.group(), found.end()
                if mark == ",":
                    cell_from = at
                elif mark != '"':
                    return None  # a line break outside quotes: the record ended
                elif found.start() == cell_from:
                    quoted, opened = True, number
    return (opened, number - opened) if quoted else None
