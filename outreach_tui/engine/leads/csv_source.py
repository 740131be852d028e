"""Reading a CSV of leads (or mailboxes) safely: UTF-8 checked before anything is written,
the header checked, each record located by the line it starts on, and a malformed record
costing that row only where the reader can tell where the next one starts."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from outreach_tui.core.errors import InputError
from outreach_tui.engine.leads.lead_fields import RejectedRow, column_name

_UNSAFE = ("\x00", "\r", "\n")


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


def read_header(path: Path, reader: Any) -> list[str]:
    """Header names of a CSV of leads, checked: an email column, no column twice."""
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"{path}: the file is empty (expected a header row)") from None
    except csv.Error as exc:
        raise InputError(f"{path}: not a CSV file: {exc}") from None
    if any(c in h for h in header for c in _UNSAFE):
        raise InputError(f"{path}: the header row contains a line break or NUL character")
    names = [h.strip() or f"column_{i + 1}" for i, h in enumerate(header)]
    fields = [column_name(n) for n in names]
    if "email" not in fields:
        raise InputError(
            f"{path}: no email column (expected a header named email, e-mail or email address)"
        )
    for i, name in enumerate(fields):
        if name in fields[:i]:
            raise InputError(f"{path}: column {names[i]!r} appears twice in the header")
    return names


def csv_rows(path: Path, reader: Any, headers: list[str]) -> Iterator[
    tuple[str, Mapping[str, str] | RejectedRow]
]:  # fmt: skip
    """(\"FILE:LINE\", row) for each record; LINE is where the record starts."""
    width = len(headers)
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
                yield (
                    f"{path}:{start}",
                    RejectedRow(f"a cell is longer than {csv.field_size_limit():,} characters"),
                )
                continue
            start, previous = previous + 1, reader.line_num
            if not cells:
                continue  # a blank line
            if len(cells) > width:
                yield (
                    f"{path}:{start}",
                    RejectedRow(f"{len(cells)} cells but the header has {width} columns"),
                )
                continue
            yield f"{path}:{start}", dict(zip(headers, cells, strict=False))
    except csv.Error as exc:
        yield (
            f"{path}:{previous + 1}",
            RejectedRow(f"malformed CSV ({exc}); the rest of the file was not read"),
        )
    except UnicodeDecodeError:  # the file changed after it was checked
        raise InputError(f"{path}: not UTF-8 text") from None
