"""Mailboxes from a CSV file, for pools too large to list in config.toml.

The columns are the keys of `[[mailboxes]]`; each row is validated with `MailboxSettings`, so
passwords must be secret references exactly as in config. A refused value is never echoed:
the message names the file, line and column only. Good rows are upserted in one transaction.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from outreach_tui.config import MailboxSettings
from outreach_tui.core.addresses import normalize_address
from outreach_tui.core.days import local_day
from outreach_tui.core.errors import InputError
from outreach_tui.core.screen_text import control_problem
from outreach_tui.db.database import Database
from outreach_tui.db.repos.views_mailboxes import MailboxListing, mailbox_listing
from outreach_tui.engine.clock import Clock
from outreach_tui.engine.leads.csv_source import check_utf8
from outreach_tui.engine.mailboxes.from_config import sync_mailboxes

COLUMNS = (
    "email", "from_name", "smtp_host", "smtp_port", "smtp_user", "smtp_password", "imap_host",
    "imap_port", "imap_user", "imap_password", "daily_limit", "warmup_started", "smtp_security",
    "verify_tls", "imap_security",
)  # fmt: skip
SECRET_COLUMNS = frozenset({"smtp_password", "imap_password"})
UTC_ZONE = ZoneInfo("UTC")


@dataclass
class MailboxImportReport:
    imported: int = 0
    errors: list[str] = field(default_factory=list)
    """"FILE:LINE: column: reason" per refused value."""
    rejected: int = 0
    """Rows refused."""


def import_mailboxes_csv(
    db: Database, path: Path, *, clock: Clock, warmup_new: bool = True, tz: ZoneInfo = UTC_ZONE
) -> MailboxImportReport:
    """Validate every row, then insert or update the good ones (source "csv"). A new
    mailbox without `daily_limit` or `warmup_started` starts its warmup ramp today (in `tz`)
    unless `warmup_new` is false (`[warmup] new_mailboxes`)."""
    check_utf8(path)
    report = MailboxImportReport()
    boxes: list[MailboxSettings] = []
    first_line: dict[str, int] = {}
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            headers = _headers(path, reader)
            previous = reader.line_num
            for cells in reader:
                line, previous = previous + 1, reader.line_num
                if not cells:
                    continue
                where = f"{path}:{line}"
                if len(cells) > len(headers):
                    report.rejected += 1
                    report.errors.append(
                        f"{where}: {len(cells)} cells but the header has {len(headers)} columns"
                    )
                    continue
                box = _validate(where, dict(zip(headers, cells, strict=False)), report)
                if box is None:
                    report.rejected += 1
                    continue
                email = box.email
                if email in first_line:
                    report.rejected += 1
                    report.errors.append(
                        f"{where}: email: {email} is already on line {first_line[email]}"
                    )
                    continue
                first_line[email] = line
                boxes.append(box)
    except csv.Error as exc:
        raise InputError(f"{path}: not a readable CSV file: {exc}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    if boxes:
        with db.write() as conn:
            now = clock.now()
            sync_mailboxes(
                conn, boxes, at=now, source="csv",
                warmup_from=local_day(now, tz) if warmup_new else None,
            )  # fmt: skip
    report.imported = len(boxes)
    return report


def _headers(path: Path, reader: Any) -> list[str]:
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"{path}: the file is empty (expected a header row)") from None
    names = [h.strip().lower() for h in header]
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        raise InputError(
            f"{path}: unknown column {unknown[0]!r} (columns are those of [[mailboxes]] in "
            f"config: {', '.join(COLUMNS)})"
        )
    for required in ("email", "smtp_host", "smtp_password"):
        if required not in names:
            raise InputError(f"{path}: no {required} column")
    for i, name in enumerate(names):
        if name in names[:i]:
            raise InputError(f"{path}: column {name!r} appears twice in the header")
    return names


def _validate(
    where: str, row: dict[str, str], report: MailboxImportReport
) -> MailboxSettings | None:
    values: dict[str, str] = {}
    problems: list[str] = []
    for column, raw in row.items():
        value = raw.strip()
        if problem := control_problem(value):
            problems.append(f"{where}: {column}: {problem}")
        elif value:
            values[column] = value
    if "email" in values:
        try:
            values["email"] = normalize_address(values["email"])
        except InputError as exc:
            problems.append(f"{where}: email: {exc}")
    if problems:
        report.errors.extend(problems)
        return None
    try:
        return MailboxSettings.model_validate(values)
    except ValidationError as exc:
        for err in exc.errors(include_input=False, include_url=False):
            column = str(err["loc"][0]) if err["loc"] else "row"
            message = str(err["msg"]).removeprefix("Value error, ")
            if err["type"] == "missing":
                message = "required, but empty"
            report.errors.append(f"{where}: {column}: {message}")
        return None


def mailbox_rows(db: Database) -> list[MailboxListing]:
    """Mailboxes for listing: connection and health facts, never a password reference."""
    with db.read() as conn:
        return mailbox_listing(conn)
