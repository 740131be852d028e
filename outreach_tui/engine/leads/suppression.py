"""The suppression list: addresses and whole domains that are never written to."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, func, select

from outreach_tui.core.addresses import normalize_address, normalize_domain
from outreach_tui.core.errors import InputError
from outreach_tui.core.states import LeadStatus, SuppressionKind
from outreach_tui.db import tables as t
from outreach_tui.db.repos.journal import write_audit
from outreach_tui.db.repos.suppression import add_suppression
from outreach_tui.db.session import read_tx, write_tx
from outreach_tui.engine.clock import Clock


@dataclass
class ImportReport:
    added: int = 0
    already_present: int = 0
    errors: list[str] = field(default_factory=list)


def parse_entry(value: str, kind: str | None = None) -> tuple[str, str]:
    """(kind, normalised value): an address when it has an "@", a domain otherwise."""
    value = value.strip()
    if kind is None:
        kind = SuppressionKind.ADDRESS.value if "@" in value else SuppressionKind.DOMAIN.value
    if kind == SuppressionKind.ADDRESS.value:
        return kind, normalize_address(value)
    if kind == SuppressionKind.DOMAIN.value:
        return kind, normalize_domain(value)
    raise InputError(f"unknown suppression kind {kind!r} (address or domain)")


class SuppressionService:
    def __init__(self, db: Engine, clock: Clock, operator_id: str) -> None:
        self.db = db
        self.clock = clock
        self.operator_id = operator_id

    def add(self, value: str, *, reason: str = "", source: str = "manual",
            kind: str | None = None) -> bool:  # fmt: skip
        """Add one entry (audited); True when it was new. Leads at it become suppressed."""
        kind, normalised = parse_entry(value, kind)
        now = self.clock.now()
        with write_tx(self.db) as conn:
            added = add_suppression(
                conn, kind=kind, value=normalised, reason=reason, source=source, at=now,
                created_by=self.operator_id,
            )  # fmt: skip
            if added:
                write_audit(
                    conn, user_id=self.operator_id, policy_result="suppressed",
                    reason=f"{kind} {normalised} added to suppression: {reason or 'no reason'}",
                    at=now, lead_email=normalised if kind == "address" else None,
                )  # fmt: skip
                _mark_leads(conn, kind, normalised, now)
        return added

    def remove(self, value: str, *, kind: str | None = None) -> bool:
        kind, normalised = parse_entry(value, kind)
        now = self.clock.now()
        with write_tx(self.db) as conn:
            result = conn.execute(
                delete(t.suppression).where(
                    t.suppression.c.kind == kind, t.suppression.c.value == normalised
                )
            )
            if result.rowcount:
                write_audit(
                    conn, user_id=self.operator_id, policy_result="unsuppressed",
                    reason=f"{kind} {normalised} removed from suppression", at=now,
                    lead_email=normalised if kind == "address" else None,
                )  # fmt: skip
        return bool(result.rowcount)

    def count(self) -> int:
        with read_tx(self.db) as conn:
            return int(conn.execute(select(func.count()).select_from(t.suppression)).scalar() or 0)

    def page(self, *, offset: int = 0, limit: int = 100, search: str = "") -> list[dict[str, Any]]:
        query = select(t.suppression).order_by(t.suppression.c.id).offset(offset).limit(limit)
        if search:
            query = query.where(t.suppression.c.value.contains(search.lower()))
        with read_tx(self.db) as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def iter_all(self) -> Iterator[dict[str, Any]]:
        with read_tx(self.db) as conn:
            for row in conn.execute(select(t.suppression).order_by(t.suppression.c.id)):
                yield dict(row._mapping)

    def import_csv(self, path: Path, *, source: str | None = None) -> ImportReport:
        """Rows with `email`/`domain`/`value` (+ optional `kind`, `reason`). Bad rows are
        reported by line; good rows are kept; the whole file lands in one transaction."""
        report = ImportReport()
        entries: list[tuple[str, str, str]] = []
        try:
            with path.open(newline="", encoding="utf-8-sig") as fh:
                reader = csv.DictReader(fh)
                headers = {h.strip().lower() for h in (reader.fieldnames or [])}
                if not headers & {"email", "domain", "value"}:
                    raise InputError(f"{path}: needs an email, domain or value column")
                for row in reader:
                    line = reader.line_num
                    clean = {(k or "").strip().lower(): (v or "") for k, v in row.items()}
                    raw = clean.get("value") or clean.get("email") or clean.get("domain") or ""
                    kind = clean.get("kind") or (
                        "domain" if not clean.get("email") and clean.get("domain") else None
                    )
                    try:
                        if "\x00" in raw:
                            raise InputError("contains a NUL character")
                        entries.append((*parse_entry(raw, kind or None), clean.get("reason", "")))
                    except InputError as exc:
                        report.errors.append(f"{path}:{line}: {exc}")
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        except csv.Error as exc:
            raise InputError(f"{path}: malformed CSV: {exc}") from None
        now = self.clock.now()
        with write_tx(self.db) as conn:
            for kind, value, reason in entries:
                if add_suppression(
                    conn, kind=kind, value=value, reason=reason or "imported",
                    source=source or f"import:{path.name}", at=now, created_by=self.operator_id,
                ):  # fmt: skip
                    report.added += 1
                    _mark_leads(conn, kind, value, now)
                else:
                    report.already_present += 1
            write_audit(
                conn, user_id=self.operator_id, policy_result="suppressed",
                reason=f"imported {report.added} suppression entries from {path.name}", at=now,
            )  # fmt: skip
        return report


def _mark_leads(conn: Any, kind: str, value: str, now: Any) -> None:
    from sqlalchemy import update

    condition = t.lead.c.email == value if kind == "address" else t.lead.c.domain == value
    conn.execute(
        update(t.lead)
        .where(condition, t.lead.c.status.in_([LeadStatus.NEW.value, LeadStatus.CONTACTED.value]))
        .values(status=LeadStatus.SUPPRESSED.value, updated_at=now)
    )
