"""The `domain_insight` table as the verifier's store of domain facts (see domain_insight.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from outreach_tui.db import tables as t
from outreach_tui.db.session import read_tx, write_tx
from outreach_tui.engine.leads.domain_insight import DomainFacts
from outreach_tui.mail.mx import MxStatus


class DbInsightStore:
    """The `domain_insight` table."""

    def __init__(self, db: Engine) -> None:
        self.db = db

    def load(self, domain: str, now: datetime) -> DomainFacts | None:
        with read_tx(self.db) as conn:
            row = conn.execute(
                select(t.domain_insight).where(t.domain_insight.c.domain == domain)
            ).first()
        if row is None or row.expires_at <= now or row.mx_status is None:
            return None
        try:
            status = MxStatus(row.mx_status)
        except ValueError:  # written by a newer version: look again
            return None
        return DomainFacts(
            domain=row.domain,
            mx_status=status,
            mx_hosts=tuple(row.mx_hosts or ()),
            checked_at=row.checked_at,
            expires_at=row.expires_at,
            catch_all=row.catch_all,
            disposable=row.disposable,
            one_rcpt_per_session=row.one_rcpt_per_session,
            probe_refused=row.probe_refused,
        )

    def save(self, facts: DomainFacts) -> None:
        values = {
            "domain": facts.domain,
            "mx_hosts": list(facts.mx_hosts),
            "mx_status": facts.mx_status.value,
            "catch_all": facts.catch_all,
            "disposable": facts.disposable,
            "one_rcpt_per_session": facts.one_rcpt_per_session,
            "probe_refused": facts.probe_refused,
            "checked_at": facts.checked_at,
            "expires_at": facts.expires_at,
        }
        with write_tx(self.db) as conn:
            insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            stmt = insert(t.domain_insight).values(values)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["domain"],
                    set_={k: stmt.excluded[k] for k in values if k != "domain"},
                )
            )


__all__ = ["DbInsightStore"]
