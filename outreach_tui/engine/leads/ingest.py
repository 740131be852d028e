"""Lead ingestion: one function behind every lead source (CSV file now, webhook later).

Rows are validated one at a time and written in batches, each batch its own write
transaction, so a file of any size keeps memory flat and never holds SQLite's write lock for
long; a crash leaves whole batches. Bad rows are reported by location ("FILE:LINE: reason")
and skipped; the rest are kept.

What a cell means is engine/leads/lead_fields.py; reading a CSV, engine/leads/csv_source.py;
the batch statements, db/repos/lead_import.py.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from outreach_tui.core.errors import InputError
from outreach_tui.core.region import parent_domains
from outreach_tui.core.screen_text import control_character, control_problem, printable
from outreach_tui.core.states import EnrollmentState, LeadStatus
from outreach_tui.db.database import Database
from outreach_tui.db.records import LeadRecord
from outreach_tui.db.repos.campaigns import campaign_id_by_name
from outreach_tui.db.repos.journal import write_audit
from outreach_tui.db.repos.lead_import import NEW_LEAD_COLUMNS, LeadInserter, enrol_by_email
from outreach_tui.db.repos.leads import lead_ids_by_email, leads_page, max_lead_id
from outreach_tui.db.repos.suppression import any_suppression, suppression_matches
from outreach_tui.engine.clock import Clock
from outreach_tui.engine.leads.csv_source import check_utf8, csv_rows, read_header
from outreach_tui.engine.leads.lead_fields import (
    STANDARD_FIELDS,
    RejectedRow,
    ZoneCheck,
    column_name,
    fast_normalize_address,
)

#: Error strings kept in a report; the count (`rejected`) goes on beyond this.
MAX_KEPT_ERRORS = 10_000

#: Items per IN (...) list: below SQLite's and PostgreSQL's bound-parameter limits.
_IN_CHUNK = 2000


@dataclass
class LeadImportReport:
    imported: int = 0
    duplicates_in_file: int = 0
    already_known: int = 0
    enrolled: int = 0
    errors: list[str] = field(default_factory=list)
    """"FILE:LINE: reason", at most MAX_KEPT_ERRORS of them."""
    rejected: int = 0
    """Rows refused (may exceed len(errors))."""

    def reject(self, location: str, reason: str) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_KEPT_ERRORS:
            self.errors.append(f"{location}: {reason}")

    def summary(self) -> str:
        return (
            f"imported {self.imported}, duplicates in file {self.duplicates_in_file}, "
            f"already known {self.already_known}, enrolled {self.enrolled}, "
            f"rejected {self.rejected}"
        )


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _IN_CHUNK):
        yield items[start : start + _IN_CHUNK]


#: Where each field sits in a lead row held in memory (the order of `NEW_LEAD_COLUMNS`).
_FIELD_INDEX = {name: i for i, name in enumerate(NEW_LEAD_COLUMNS)}
_EMAIL, _DOMAIN, _TIMEZONE, _CUSTOM, _STATUS = (
    _FIELD_INDEX[name] for name in ("email", "domain", "timezone", "custom", "status")
)
_STANDARD_INDEX = {name: _FIELD_INDEX[name] for name in STANDARD_FIELDS}


class _Batch:
    """Valid rows waiting for the next write transaction, keyed by address."""

    def __init__(self) -> None:
        self.rows: dict[str, list[Any]] = {}
        self.domains: set[str] = set()


def ingest_leads(
    db: Database,
    rows: Iterable[tuple[str, Mapping[str, str] | RejectedRow]],
    *,
    clock: Clock,
    operator_id: str,
    campaign: str | None = None,
    source: str,
    batch_size: int = 5000,
) -> LeadImportReport:
    """Validate and store leads; `rows` yields (location, row), e.g. ("leads.csv:17", {...}).

    Headers are matched case-insensitively (email/e-mail/email address, first_name, last_name,
    company, website, timezone); other non-empty columns go to `Lead.custom`. Known addresses
    are counted, not updated; with `campaign` every imported or known lead is enrolled once.
    Addresses or domains on the suppression list are stored with status "suppressed".
    Duplicates across batches are told apart from earlier leads by id (this import's leads
    are newer than any lead that existed before it).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    now = clock.now()
    with db.read() as conn:
        campaign_id: int | None = None
        if campaign is not None:
            campaign_id = campaign_id_by_name(conn, campaign)
            if campaign_id is None:
                raise InputError(
                    f"no campaign named {campaign} "
                    "(create it with `outreach-tui campaign create --from FILE`)"
                )
        watermark = max_lead_id(conn)
        writer = LeadInserter(conn)

    report = LeadImportReport()
    # header → index into a lead row (standard field), or → custom key (str)
    keymap: dict[str, int | str] = {}
    zones = ZoneCheck()
    batch = _Batch()
    template: list[Any] = [None] * len(NEW_LEAD_COLUMNS)
    template[_STATUS], template[-2], template[-1] = LeadStatus.NEW.value, source, now

    def flush() -> None:
        _flush(db, writer, batch, report, watermark=watermark, campaign_id=campaign_id, now=now)

    for location, row in rows:
        if isinstance(row, RejectedRow):
            report.reject(location, row.reason)
            continue
        # NUL, a line break, ESC or any other C0/C1 control (tab aside): refused with the line.
        if control_character("\t".join(row.values())):
            report.reject(location, _unsafe_reason(row))
            continue
        lead = template.copy()
        custom: dict[str, str] | None = None
        for key, raw in row.items():
            if not raw:
                continue
            value = raw.strip()
            if not value:
                continue
            target = keymap.get(key)
            if target is None:
                name = column_name(key)
                target = keymap[key] = _STANDARD_INDEX.get(name, name)
            if isinstance(target, int):
                if lead[target] is None:
                    lead[target] = value
            else:
                if custom is None:
                    custom = {}
                custom[target] = value
        email = lead[_EMAIL]
        if email is None:
            report.reject(location, "empty email")
            continue
        try:
            email = fast_normalize_address(email)
        except InputError as exc:
            report.reject(location, str(exc))
            continue
        zone = lead[_TIMEZONE]
        if zone is not None and not zones.valid(zone):
            report.reject(location, f"unknown timezone {zone!r} (use an IANA name such as "
                                    "Europe/Berlin)")  # fmt: skip
            continue
        if email in batch.rows:
            report.duplicates_in_file += 1
            continue
        domain = email.rpartition("@")[2]
        lead[_EMAIL], lead[_DOMAIN], lead[_CUSTOM] = email, domain, custom
        batch.rows[email] = lead
        batch.domains.add(domain)
        if len(batch.rows) >= batch_size:
            flush()
            batch = _Batch()
    if batch.rows:
        flush()

    with db.write() as conn:
        where = f" into campaign {campaign}" if campaign else ""
        write_audit(
            conn, user_id=operator_id, policy_result="imported", at=now,
            reason=f"leads from {source}{where}: {report.summary()}",
        )  # fmt: skip
    return report


def _unsafe_reason(row: Mapping[str, str]) -> str:
    for key, value in row.items():
        if problem := control_problem(value):
            return f"{printable(column_name(key))}: {problem}"
    return "contains a control character"  # pragma: no cover - the caller found one


def _flush(
    db: Database,
    writer: LeadInserter,
    batch: _Batch,
    report: LeadImportReport,
    *,
    watermark: int,
    campaign_id: int | None,
    now: datetime,
) -> None:
    emails = list(batch.rows)
    with db.write() as conn:
        for chunk in _chunks(emails):
            for email, lead_id in lead_ids_by_email(conn, chunk).items():
                del batch.rows[email]
                if lead_id > watermark:
                    report.duplicates_in_file += 1
                else:
                    report.already_known += 1
        if batch.rows:
            _mark_suppressed(conn, batch)
            new = list(batch.rows.values())
            writer.insert(conn, new)
            report.imported += len(new)
        if campaign_id is not None:
            active = EnrollmentState.ACTIVE.value
            for chunk in _chunks(emails):
                report.enrolled += enrol_by_email(conn, campaign_id, chunk, state=active, at=now)


def _mark_suppressed(conn: Connection, batch: _Batch) -> None:
    if not any_suppression(conn):
        return
    parents = sorted({p for d in batch.domains for p in parent_domains(d)})
    suppressed_domains: set[str] = set()
    suppressed_addresses: set[str] = set()
    for values in (sorted(batch.rows), parents):
        for chunk in _chunks(values):
            for kind, value in suppression_matches(conn, chunk):
                (suppressed_addresses if kind == "address" else suppressed_domains).add(value)
    if not suppressed_domains and not suppressed_addresses:
        return
    for email, lead in batch.rows.items():
        domain_hit = any(p in suppressed_domains for p in parent_domains(lead[_DOMAIN]))
        if domain_hit or email in suppressed_addresses:
            lead[_STATUS] = LeadStatus.SUPPRESSED.value


def import_leads_csv(
    db: Database,
    path: Path,
    *,
    clock: Clock,
    operator_id: str,
    campaign: str | None = None,
    batch_size: int = 5000,
) -> LeadImportReport:
    """Import a CSV of leads (streamed); file-level problems raise `InputError`."""
    check_utf8(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            headers = read_header(path, reader)
            return ingest_leads(
                db, csv_rows(path, reader, headers), clock=clock, operator_id=operator_id,
                campaign=campaign, source=f"csv:{path.name}", batch_size=batch_size,
            )  # fmt: skip
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None


def page_leads(
    db: Database, *, status: str | None = None, limit: int = 100, offset: int = 0
) -> list[LeadRecord]:
    """Leads in id order, a page at a time."""
    with db.read() as conn:
        return leads_page(conn, status=status, limit=limit, offset=offset)


__all__ = [
    "LeadImportReport",
    "fast_normalize_address",
    "import_leads_csv",
    "ingest_leads",
    "page_leads",
]
