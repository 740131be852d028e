"""The suppression list: addresses and whole domains that are never written to."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from outreach_tui.core.addresses import normalize_address, normalize_domain
from outreach_tui.core.errors import InputError
from outreach_tui.core.screen_text import printable
from outreach_tui.core.states import SuppressionKind
from outreach_tui.db.records import SuppressionRecord
from outreach_tui.db.repos.journal import write_audit
from outreach_tui.db.repos.leads import mark_leads_suppressed
from outreach_tui.db.repos.suppression import (
    add_suppression,
    remove_suppression,
    suppressions_page,
)
from outreach_tui.engine.context import EngineContext


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
    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx
        self.db = ctx.db
        self.clock = ctx.clock
        self.operator_id = ctx.operator_id

    def add(self, value: str, *, reason: str = "", source: str = "manual",
            kind: str | None = None) -> bool:  # fmt: skip
        """Add one entry (audited); True when it was new. Leads at it become suppressed."""
        kind, normalised = parse_entry(value, kind)
        now = self.clock.now()
        with self.db.write() as conn:
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
                mark_leads_suppressed(conn, kind=kind, value=normalised, at=now)
        return added

    def remove(self, value: str, *, kind: str | None = None) -> bool:
        kind, normalised = parse_entry(value, kind)
        now = self.clock.now()
        with self.db.write() as conn:
            removed = remove_suppression(conn, kind=kind, value=normalised)
            if removed:
                write_audit(
                    conn, user_id=self.operator_id, policy_result="unsuppressed",
                    reason=f"{kind} {normalised} removed from suppression", at=now,
                    lead_email=normalised if kind == "address" else None,
                )  # fmt: skip
        return removed

    def page(
        self, *, offset: int = 0, limit: int = 100, search: str = ""
    ) -> list[SuppressionRecord]:
        """Entries in id order, a page at a time (`search`: whose value contains it)."""
        with self.db.read() as conn:
            return suppressions_page(conn, offset=offset, limit=limit, search=search.lower())

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
                        # A control character in the reason costs the row nothing (the
                        # address is suppressed all the same): it is replaced, not refused.
                        reason = printable(clean.get("reason", ""))
                        entries.append((*parse_entry(raw, kind or None), reason))
                    except InputError as exc:
                        report.errors.append(f"{path}:{line}: {exc}")
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        except csv.Error as exc:
            raise InputError(f"{path}: malformed CSV: {exc}") from None
        now = self.clock.now()
        with self.db.write() as conn:
            for kind, value, reason in entries:
                if add_suppression(
                    conn, kind=kind, value=value, reason=reason or "imported",
                    source=source or f"import:{path.name}", at=now, created_by=self.operator_id,
                ):  # fmt: skip
                    report.added += 1
                    mark_leads_suppressed(conn, kind=kind, value=value, at=now)
                else:
                    report.already_present += 1
            write_audit(
                conn, user_id=self.operator_id, policy_result="suppressed",
                reason=f"imported {report.added} suppression entries from {path.name}", at=now,
            )  # fmt: skip
        return report
