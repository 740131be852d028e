"""Lead ingestion: one function behind every lead source (CSV file now, webhook later).

Rows are validated one at a time and written in batches, each batch its own write
transaction, so a file of any size keeps memory flat and never holds SQLite's write lock for
long; a crash leaves whole batches. Bad rows are reported by location ("FILE:LINE: reason")
and skipped; the rest are kept.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import SPECIAL_USE_DOMAIN_NAMES
from sqlalchemy import Connection, Engine, bindparam, exists, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from outreach_tui.core.addresses import normalize_address
from outreach_tui.core.errors import InputError
from outreach_tui.core.region import parent_domains
from outreach_tui.core.states import LeadStatus
from outreach_tui.db import tables as t
from outreach_tui.db.repos.journal import write_audit
from outreach_tui.db.session import read_tx, write_tx
from outreach_tui.engine.clock import Clock

#: Error strings kept in a report; the count (`rejected`) goes on beyond this.
MAX_KEPT_ERRORS = 10_000

#: Items per IN (...) list: below SQLite's and PostgreSQL's bound-parameter limits.
_IN_CHUNK = 2000

_STANDARD = ("email", "first_name", "last_name", "company", "website", "timezone")
_ALIASES = {
    "email": "email", "e-mail": "email", "email address": "email", "e-mail address": "email",
    "first_name": "first_name", "first name": "first_name", "firstname": "first_name",
    "last_name": "last_name", "last name": "last_name", "lastname": "last_name",
    "company": "company", "website": "website",
    "timezone": "timezone", "time zone": "timezone",
}  # fmt: skip
EMAIL_HEADERS = ("email", "e-mail", "email address")


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


@dataclass(frozen=True)
class RejectedRow:
    """Yielded by a source in place of a row it could not even split into columns."""

    reason: str


def column_name(header: str) -> str:
    """The field a header means: a standard lead field, or its `custom` key."""
    key = " ".join(header.strip().lower().split())
    return _ALIASES.get(key) or key.replace(" ", "_")


# --- addresses -------------------------------------------------------------------------------

# A strict subset of what email-validator accepts, for the common all-ASCII address: dot-atom
# local part of the usual characters; LDH labels; an alphabetic TLD. Anything else (and any
# "--", special-use TLD or over-long part) goes to email-validator, which costs ~20x more.
_FAST_ADDRESS = re.compile(
    r"[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}",
    re.ASCII,
)
_SPECIAL_TLDS = frozenset(d.rsplit(".", 1)[-1] for d in SPECIAL_USE_DOMAIN_NAMES)


def fast_normalize_address(value: str) -> str:
    """Same result as `normalize_address` (lower-cased), cheaply for ordinary addresses."""
    candidate = value.strip().lower()
    if (
        len(candidate) <= 254
        and _FAST_ADDRESS.fullmatch(candidate)
        and candidate.index("@") <= 64
        and "--" not in candidate
        and candidate.rpartition(".")[2] not in _SPECIAL_TLDS
    ):
        return candidate
    return normalize_address(value)


# --- ingestion ---------------------------------------------------------------------------------

_UNSAFE = ("\x00", "\r", "\n")


class _ZoneCheck:
    """IANA zone names seen so far (bounded: a file of junk zones cannot grow it forever)."""

    def __init__(self) -> None:
        self._known: dict[str, bool] = {}

    def valid(self, name: str) -> bool:
        known = self._known.get(name)
        if known is None:
            try:
                ZoneInfo(name)
                known = True
            except (ZoneInfoNotFoundError, ValueError, OSError):
                known = False
            if len(self._known) < 10_000:
                self._known[name] = known
        return known


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _IN_CHUNK):
        yield items[start : start + _IN_CHUNK]


_EXISTING = select(t.lead.c.id, t.lead.c.email).where(
    t.lead.c.email.in_(bindparam("emails", expanding=True))
)
_SUPPRESSED = select(t.suppression.c.kind, t.suppression.c.value).where(
    t.suppression.c.value.in_(bindparam("values", expanding=True))
)
_CAMPAIGN_ID = select(t.campaign.c.id).where(t.campaign.c.name == bindparam("name"))
_MAX_LEAD_ID = select(func.coalesce(func.max(t.lead.c.id), 0))
_CID = bindparam("cid", type_=t.campaign_lead.c.campaign_id.type)
_ENROL = (
    insert(t.campaign_lead)
    .from_select(
        ["campaign_id", "lead_id", "next_step", "state", "updated_at"],
        select(
            _CID,
            t.lead.c.id,
            bindparam("step"),
            bindparam("state"),
            bindparam("now", type_=t.campaign_lead.c.updated_at.type),
        ).where(
            t.lead.c.email.in_(bindparam("emails", expanding=True)),
            ~exists().where(
                t.campaign_lead.c.campaign_id == _CID, t.campaign_lead.c.lead_id == t.lead.c.id
            ),
        ),
        # psycopg forgets an INSERT's row count once SQLAlchemy closes the cursor: keep it.
    )
    .execution_options(preserve_rowcount=True)
)
#: Columns of a new lead, in the order rows are held in memory.
_COLUMNS = (
    "email", "domain", "first_name", "last_name", "company", "website", "timezone", "custom",
    "status", "source", "created_at",
)  # fmt: skip
_FIELD_INDEX = {name: i for i, name in enumerate(_COLUMNS)}
_EMAIL, _DOMAIN, _TIMEZONE, _CUSTOM, _STATUS = 0, 1, 6, 7, 8
_STANDARD_INDEX = {name: _FIELD_INDEX[name] for name in _STANDARD}


def _json_object(values: dict[str, str]) -> str:
    """`json.dumps` of a str → str dict, byte for byte, at a fraction of its cost per call."""
    quote = encode_basestring_ascii
    return "{" + ", ".join(f"{quote(k)}: {quote(v)}" for k, v in values.items()) + "}"


class _LeadWriter:
    """The prebuilt insert for one dialect.

    ON CONFLICT DO NOTHING: a lead added by another writer between our check and our insert
    is left as it is rather than failing the whole batch. On SQLite the statement is compiled
    once and handed to the driver's executemany with values already in database form: the
    per-row parameter processing of `Connection.execute` cost more than the insert itself
    (bench/lead_import.py). Elsewhere the ordinary Core path is used.
    """

    def __init__(self, conn: Connection) -> None:
        dialect = conn.dialect
        self.sqlite = dialect.name == "sqlite"
        maker = sqlite_insert if self.sqlite else pg_insert
        self.stmt = maker(t.lead).on_conflict_do_nothing(index_elements=["email"])
        self.sql = ""
        self.created: Any = None
        if self.sqlite:
            compiled = self.stmt.compile(dialect=dialect, column_keys=list(_COLUMNS))
            assert compiled.positiontup == list(_COLUMNS)
            self.sql = compiled.string
            created = t.lead.c.created_at.type.dialect_impl(dialect)
            self.created = created.bind_processor(dialect)

    def insert(self, conn: Connection, rows: list[list[Any]]) -> None:
        if self.sqlite:
            created = self.created
            created_value = created(rows[0][-1]) if created else rows[0][-1]
            params: list[tuple[Any, ...]] = []
            for row in rows:
                if row[_CUSTOM] is not None:
                    row[_CUSTOM] = _json_object(row[_CUSTOM])
                row[-1] = created_value
                params.append(tuple(row))
            conn.exec_driver_sql(self.sql, params)
        else:
            conn.execute(self.stmt, [dict(zip(_COLUMNS, row, strict=True)) for row in rows])


class _Batch:
    """Valid rows waiting for the next write transaction, keyed by address."""

    def __init__(self) -> None:
        self.rows: dict[str, list[Any]] = {}
        self.domains: set[str] = set()


def ingest_leads(
    db: Engine,
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
    with read_tx(db) as conn:
        campaign_id: int | None = None
        if campaign is not None:
            campaign_id = conn.execute(_CAMPAIGN_ID, {"name": campaign}).scalar()
            if campaign_id is None:
                raise InputError(
                    f"no campaign named {campaign} "
                    "(create it with `outreach-tui campaign create --from FILE`)"
                )
        watermark = int(conn.execute(_MAX_LEAD_ID).scalar() or 0)
        writer = _LeadWriter(conn)

    report = LeadImportReport()
    # header → index into a lead row (standard field), or → custom key (str)
    keymap: dict[str, int | str] = {}
    zones = _ZoneCheck()
    batch = _Batch()
    template: list[Any] = [None] * len(_COLUMNS)
    template[_STATUS], template[-2], template[-1] = LeadStatus.NEW.value, source, now

    def flush() -> None:
        _flush(db, writer, batch, report, watermark=watermark, campaign_id=campaign_id, now=now)

    for location, row in rows:
        if isinstance(row, RejectedRow):
            report.reject(location, row.reason)
            continue
        joined = "\x1f".join(row.values())
        if "\x00" in joined or "\r" in joined or "\n" in joined:
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

    with write_tx(db) as conn:
        where = f" into campaign {campaign}" if campaign else ""
        write_audit(
            conn, user_id=operator_id, policy_result="imported", at=now,
            reason=f"leads from {source}{where}: {report.summary()}",
        )  # fmt: skip
    return report


def _unsafe_reason(row: Mapping[str, str]) -> str:
    for key, value in row.items():
        if "\x00" in value:
            return f"{column_name(key)}: contains a NUL character"
        if "\r" in value or "\n" in value:
            return f"{column_name(key)}: contains a line break"
    return "contains a control character"  # pragma: no cover - the caller found one


def _flush(
    db: Engine,
    writer: _LeadWriter,
    batch: _Batch,
    report: LeadImportReport,
    *,
    watermark: int,
    campaign_id: int | None,
    now: datetime,
) -> None:
    emails = list(batch.rows)
    with write_tx(db) as conn:
        for chunk in _chunks(emails):
            for lead_id, email in conn.execute(_EXISTING, {"emails": chunk}):
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
            for chunk in _chunks(emails):
                result = conn.execute(
                    _ENROL,
                    {"cid": campaign_id, "step": 1, "state": "active", "now": now,
                     "emails": chunk},
                )  # fmt: skip
                report.enrolled += max(result.rowcount, 0)


_ANY_SUPPRESSION = select(t.suppression.c.id).limit(1)


def _mark_suppressed(conn: Connection, batch: _Batch) -> None:
    if conn.execute(_ANY_SUPPRESSION).first() is None:
        return
    parents = sorted({p for d in batch.domains for p in parent_domains(d)})
    suppressed_domains: set[str] = set()
    suppressed_addresses: set[str] = set()
    for values in (sorted(batch.rows), parents):
        for chunk in _chunks(values):
            for kind, value in conn.execute(_SUPPRESSED, {"values": chunk}):
                (suppressed_addresses if kind == "address" else suppressed_domains).add(value)
    if not suppressed_domains and not suppressed_addresses:
        return
    for email, lead in batch.rows.items():
        domain_hit = any(p in suppressed_domains for p in parent_domains(lead[_DOMAIN]))
        if domain_hit or email in suppressed_addresses:
            lead[_STATUS] = LeadStatus.SUPPRESSED.value


# --- CSV source --------------------------------------------------------------------------------


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
    """Header names of a CSV, checked: an email column, no column twice."""
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


def import_leads_csv(
    db: Engine,
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


# --- reading -----------------------------------------------------------------------------------


def page_leads(
    db: Engine, *, status: str | None = None, limit: int = 100, offset: int = 0
) -> list[dict[str, Any]]:
    """Leads in id order, a page at a time."""
    query = select(t.lead).order_by(t.lead.c.id).offset(offset).limit(limit)
    if status:
        query = query.where(t.lead.c.status == status)
    with read_tx(db) as conn:
        return [dict(row._mapping) for row in conn.execute(query)]
