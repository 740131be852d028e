"""The `domain_insight` table as the verifier's store of domain facts (see domain_insight.py);
its SQL is db/repos/domains.py."""

from __future__ import annotations

from datetime import datetime

from outreach_tui.db.database import Database
from outreach_tui.db.records import DomainInsightRecord
from outreach_tui.db.repos.domains import domain_insight, save_domain_insight
from outreach_tui.engine.leads.domain_insight import DomainFacts
from outreach_tui.mail.mx import MxStatus


class DbInsightStore:
    """The `domain_insight` table: each call is a transaction of its own."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def load(self, domain: str, now: datetime) -> DomainFacts | None:
        with self.db.read() as conn:
            row = domain_insight(conn, domain)
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
        insight = DomainInsightRecord(
            domain=facts.domain,
            mx_hosts=list(facts.mx_hosts),
            mx_status=facts.mx_status.value,
            catch_all=facts.catch_all,
            disposable=facts.disposable,
            one_rcpt_per_session=facts.one_rcpt_per_session,
            probe_refused=facts.probe_refused,
            checked_at=facts.checked_at,
            expires_at=facts.expires_at,
        )
        with self.db.write() as conn:
            save_domain_insight(conn, insight)


__all__ = ["DbInsightStore"]
