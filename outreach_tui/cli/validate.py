"""`outreach-tui validate INPUT`: verify a list of addresses of any size.

Streams: the input is read as results come out (back-pressure), each result is written and
flushed as soon as it is known, so memory stays flat and an interrupted run loses nothing.
Resuming: addresses already in OUTPUT are not probed again; the done set is kept as a sorted
array of 8-byte hashes (8 MB for a million addresses), not as a set of strings.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import os
import sys
import time
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import IO, Any

import click

from outreach_tui.cli.context import CliContext, friendly_errors, pass_ctx
from outreach_tui.cli.output import echo
from outreach_tui.core.csvsafe import neutralise_cell, restore_cell
from outreach_tui.core.errors import InputError
from outreach_tui.core.screen_text import json_printable, printable
from outreach_tui.core.verification import FIELDS, VerificationResult, VerificationStatus
from outreach_tui.engine import MemoryInsightStore, build_verifier

#: Lines handed from the reading thread to the event loop at a time.
CHUNK = 500


def address_key(email: str) -> int:
    """An 8-byte hash of an address as written in the output."""
    return int.from_bytes(hashlib.blake2b(email.encode("utf-8"), digest_size=8).digest(), "big")


class DoneSet:
    """Addresses already in the output file: a sorted array of their hashes."""

    def __init__(self, keys: array[int]) -> None:
        self.keys = keys

    def __len__(self) -> int:
        return len(self.keys)

    def __contains__(self, email: str) -> bool:
        key = address_key(email)
        index = bisect_left(self.keys, key)
        return index < len(self.keys) and self.keys[index] == key

    @classmethod
    def from_output(cls, path: Path, fmt: str) -> DoneSet:
        """Read OUTPUT's results; a last line cut off by an interruption is removed."""
        keys: array[int] = array("Q")
        if not path.exists():
            return cls(keys)
        _drop_partial_last_line(path)
        with path.open("r", encoding="utf-8", newline="") as fh:
            if fmt == "jsonl":
                for number, line in enumerate(fh, 1):
                    if not line.strip():
                        continue
                    try:
                        email = json.loads(line)["email"]
                    except (ValueError, KeyError, TypeError):
                        raise InputError(
                            f"{path}:{number}: not a result line of `validate --format jsonl`"
                        ) from None
                    keys.append(address_key(str(email)))
            else:
                reader = csv.reader(fh)
                header = next(reader, None)
                if header is None:
                    return cls(keys)
                if "email" not in header:
                    raise InputError(f"{path}:1: not the output of `validate --format csv`")
                column = header.index("email")
                for row in reader:
                    if len(row) > column:
                        keys.append(address_key(_unneutralise(row[column])))
        return cls(array("Q", sorted(keys)))


def _unneutralise(cell: str) -> str:
    # neutralise_cell prefixed formula-looking cells with "'": the address is the rest.
    return restore_cell(cell)


def _drop_partial_last_line(path: Path) -> None:
    with path.open("rb+") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        if size == 0:
            return
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return
        # Walk back to the last newline (a partial line is short: read a tail).
        tail = min(size, 1 << 16)
        fh.seek(size - tail)
        data = fh.read(tail)
        cut = data.rfind(b"\n")
        fh.truncate(size - tail + cut + 1 if cut >= 0 else 0)


class InputReader:
    """INPUT's addresses: a text file (one a line) or a CSV with an `email` column, told
    apart by the first line. Reads lazily; `fraction` is how much of a file has been read."""

    def __init__(self, source: str) -> None:
        self.stdin = source == "-"
        self.name = "<stdin>" if self.stdin else source
        if self.stdin:
            self.fh: IO[str] = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig")
            self.size = 0
        else:
            try:
                self.fh = open(source, encoding="utf-8-sig", newline="")  # noqa: SIM115
            except OSError as exc:
                raise InputError(f"{source}: {exc.strerror}") from None
            self.size = os.fstat(self.fh.fileno()).st_size
        first = self.fh.readline()
        cells = [c.strip().lower() for c in next(csv.reader([first]), [])]
        self.column = cells.index("email") if "email" in cells else None
        if self.column is None and "," in first and "@" not in first:
            self.close()
            raise InputError(f"{self.name}:1: a CSV needs an `email` column")
        self.lines = self._lines(first)

    def close(self) -> None:
        if self.stdin:
            self.fh.detach()  # type: ignore[attr-defined]  # standard input stays open
        else:
            self.fh.close()

    def fraction(self) -> float | None:
        if not self.size:
            return None
        try:
            position: int = self.fh.buffer.tell()  # type: ignore[attr-defined]
            return min(1.0, position / self.size)
        except (OSError, ValueError, AttributeError):
            return None

    def _lines(self, first: str) -> Iterator[str]:
        if self.column is not None:
            column = self.column
            for row in csv.reader(self.fh):
                if len(row) > column and row[column].strip():
                    yield row[column].strip()
            return
        if first.strip():
            yield first.strip()
        for line in self.fh:
            if line.strip():
                yield line.strip()

    def chunk(self) -> list[str]:
        out: list[str] = []
        for line in self.lines:
            out.append(line)
            if len(out) >= CHUNK:
                break
        return out


class ResultWriter:
    def __init__(self, output: Path | None, fmt: str) -> None:
        self.fmt = fmt
        if output is None:
            self.fh: IO[str] = sys.stdout
            fresh = True
        else:
            fresh = not output.exists() or output.stat().st_size == 0
            self.fh = output.open("a", encoding="utf-8", newline="")
        self.owned = output is not None
        self.csv = csv.writer(self.fh, lineterminator="\n") if fmt == "csv" else None
        if self.csv is not None and fresh:
            self.csv.writerow(FIELDS)
            self.fh.flush()

    def write(self, result: VerificationResult) -> None:
        # A result quotes a mail server (detail, mx_host). A file keeps it as data (formula
        # cells neutralised); on standard output, a terminal perhaps, a CSV cell is cleaned of
        # terminal controls too. JSON escapes what a terminal would act on either way: the
        # same data.
        row = result.as_dict()
        if self.csv is not None:
            cells = [neutralise_cell(row[name]) for name in FIELDS]
            self.csv.writerow(cells if self.owned else [printable(c) for c in cells])
        else:
            self.fh.write(json_printable(json.dumps(row, ensure_ascii=False)) + "\n")
        self.fh.flush()

    def close(self) -> None:
        if self.owned:
            self.fh.close()


class Progress:
    """One line on a terminal's stderr: done, rate, ETA (from the share of INPUT read)."""

    def __init__(self, reader: InputReader, enabled: bool) -> None:
        self.reader = reader
        self.enabled = enabled
        self.start = time.monotonic()
        self.last = 0.0
        self.done = 0

    def tick(self) -> None:
        self.done += 1
        now = time.monotonic()
        if not self.enabled or now - self.last < 0.2:
            return
        self.last = now
        elapsed = max(now - self.start, 1e-6)
        rate = self.done / elapsed
        eta = ""
        fraction = self.reader.fraction()
        if fraction and fraction > 0.001:
            remaining = elapsed / fraction - elapsed
            eta = f", ETA {_duration(remaining)}"
        click.echo(f"\r{self.done} verified, {rate:.1f}/s{eta}   ", err=True, nl=False)

    def finish(self) -> None:
        if self.enabled:
            click.echo("\r" + " " * 60 + "\r", err=True, nl=False)


def _duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


@click.command("validate")
@click.argument("source", metavar="INPUT")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write results here (default: standard output). If it holds results already, "
    "those addresses are not verified again (resume).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True
)
@click.option(
    "--rate-limit",
    type=click.FloatRange(min=0),
    default=None,
    help="Least seconds between two sessions to one mail host ([verify] rate_limit_seconds).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=None,
    help="SMTP sessions at once across all hosts ([verify] concurrency).",
)
@click.option("--no-smtp", is_flag=True, help="Check syntax, disposable and MX only.")
@pass_ctx
@friendly_errors
def validate_command(
    state: CliContext,
    source: str,
    output: Path | None,
    fmt: str,
    rate_limit: float | None,
    concurrency: int | None,
    no_smtp: bool,
) -> None:
    """Verify the addresses in INPUT: a text file with one address per line, or a CSV with an
    `email` column; `-` reads standard input.

    One result per address (email, status, score, health, mx_host, smtp_code, detail),
    written as soon as it is known: the output's order is not the input's. A summary by
    status goes to standard error at the end.
    """
    settings = state.settings
    changes: dict[str, Any] = {}
    if rate_limit is not None:
        changes["rate_limit_seconds"] = rate_limit
    if concurrency is not None:
        changes["concurrency"] = concurrency
    verify = settings.verify.model_copy(update=changes)
    done = DoneSet.from_output(output, fmt) if output is not None else DoneSet(array("Q"))
    reader = InputReader(source)
    writer = ResultWriter(output, fmt)
    counts: Counter[str] = Counter()
    skipped = 0
    progress = Progress(reader, enabled=sys.stderr.isatty())

    async def addresses() -> AsyncIterator[str]:
        nonlocal skipped
        while chunk := await asyncio.to_thread(reader.chunk):
            for email in chunk:
                if len(done) and email in done:
                    skipped += 1
                    continue
                yield email

    async def run() -> None:
        # The run's own bounded domain cache, not the database: a list of any size runs in
        # flat, small memory (the database stack alone would double it).
        store = MemoryInsightStore(capacity=20_000)
        verifier = build_verifier(verify, settings.dns, store, smtp=not no_smtp)
        async for result in verifier.verify_stream(addresses()):
            writer.write(result)
            counts[result.status.value] += 1
            progress.tick()

    try:
        asyncio.run(run())
    finally:
        progress.finish()
        writer.close()
        reader.close()
    total = sum(counts.values())
    parts = [f"{s.value} {counts[s.value]}" for s in VerificationStatus if counts[s.value]]
    line = f"summary: {total} verified" + (": " + ", ".join(parts) if parts else "")
    if skipped:
        line += f"; {skipped} already in {output} (not verified again)"
    echo(line, err=True)
