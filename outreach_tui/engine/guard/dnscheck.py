"""DNS health of the sending domains: run the checks, store them on `sending_domain`, record
what changed, raise alerts. The scheduler's dns-check job and `outreach-tui dns-check` use it.

The stored flags (spf_ok, dkim_ok, dmarc_ok, blocklisted) are what the recovery pipeline
reads before a mailbox may leave QUARANTINE; None means "could not be established" (a
SERVFAIL, a timeout, no DKIM selector configured) and is never read as healthy.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine as SAEngine
from sqlalchemy import select, update

from outreach_tui.config import Settings
from outreach_tui.core import dnshealth as rules
from outreach_tui.core.dnshealth import DomainHealth
from outreach_tui.core.states import CampaignStatus, Severity
from outreach_tui.db import tables as t
from outreach_tui.db.repos.journal import write_event
from outreach_tui.db.session import read_tx, write_tx
from outreach_tui.engine.clock import Clock
from outreach_tui.engine.guard.alerts import Alert, AlertSink
from outreach_tui.mail.dns import make_resolver
from outreach_tui.mail.dnshealth import DomainCheckPlan, check_domain

log = logging.getLogger(__name__)

#: Domains checked at once by the scheduled job (each runs its lookups concurrently too).
CONCURRENT_DOMAINS = 4

DNS_ACTION = (
    "nothing paused by the DNS check; paused mailboxes of this domain stay out of "
    "rotation until its DNS is healthy"
)


@dataclass
class DomainCheckReport:
    health: DomainHealth
    known: bool
    """The domain is a sending domain in the database (and the result was stored)."""
    changes: list[str] = field(default_factory=list)
    mailboxes: list[str] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)


class DnsHealthService:
    def __init__(self, db: SAEngine, settings: Settings, clock: Clock, alerts: AlertSink) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.alerts = alerts

    def _context(
        self, domain: str
    ) -> tuple[dict[str, Any] | None, list[str], list[str], list[str]]:
        """(the sending_domain row, its mailboxes, their smtp hosts, campaigns using them)."""
        d, m, c = t.sending_domain, t.mailbox, t.campaign
        with read_tx(self.db) as conn:
            row = conn.execute(select(d).where(d.c.name == domain)).mappings().first()
            if row is None:
                return None, [], [], []
            boxes = conn.execute(
                select(m.c.email, m.c.smtp_host)
                .where(m.c.domain_id == row["id"])
                .order_by(m.c.email)
            ).all()
            campaigns = conn.execute(
                select(c.c.name, c.c.mailbox_emails).where(
                    c.c.status == CampaignStatus.ACTIVE.value
                )
            ).all()
        emails = [b.email for b in boxes]
        hosts = sorted({b.smtp_host for b in boxes if b.smtp_host})
        using = [
            name
            for name, chosen in campaigns
            if chosen is None or any(e.lower() in {x.lower() for x in chosen} for e in emails)
        ]
        return dict(row), emails, hosts, sorted(using)

    def plan(self, domain: str, row: dict[str, Any] | None, hosts: list[str]) -> DomainCheckPlan:
        dns = self.settings.dns
        own = dns.for_domain(domain)
        selectors = list(row.get("dkim_selectors") or []) if row else []
        selectors += own.dkim_selectors
        ips = own.sending_ips or dns.sending_ips
        return DomainCheckPlan(
            domain=domain,
            dkim_selectors=selectors or dns.dkim_selectors,
            sending_ips=ips,
            # Without configured IPs, the mailboxes' SMTP servers are the sending hosts.
            sending_hosts=[] if ips else hosts,
            ip_zones=dns.dnsbl_zones,
            domain_zones=dns.domain_blocklists,
        )

    async def check(self, domain: str, *, store: bool = True) -> DomainCheckReport:
        """Check one domain. A sending domain in the database gets its result stored (when
        `store`), change events and alerts; any other domain is only checked."""
        domain = rules.norm(domain)
        row, mailboxes, hosts, campaigns = await asyncio.to_thread(self._context, domain)
        resolver = make_resolver(self.settings.dns.nameservers, self.settings.dns.timeout_seconds)
        health = await check_domain(resolver, self.plan(domain, row, hosts))
        report = DomainCheckReport(health, known=row is not None, mailboxes=mailboxes)
        if row is None or not store:
            return report
        report.changes = await asyncio.to_thread(self._store, row, health)
        for finding in rules.findings(health):
            alert = Alert(
                severity=Severity(finding.severity),
                key=finding.key,
                title=finding.title,
                subject_type="domain",
                subject_id=domain,
                campaigns=tuple(campaigns),
                action_taken=DNS_ACTION if finding.severity != "info" else "",
                data={"mailboxes": mailboxes} if mailboxes else {},
            )
            report.alerts.append(alert)
            await self.alerts.send(alert)
        return report

    def _store(self, row: dict[str, Any], health: DomainHealth) -> list[str]:
        now = self.clock.now()
        before = {k: row[k] for k in ("spf_ok", "dkim_ok", "dmarc_ok", "blocklisted")}
        changes = rules.describe_changes(health.domain, before, health)
        d = t.sending_domain
        with write_tx(self.db) as conn:
            conn.execute(
                update(d)
                .where(d.c.id == row["id"])
                .values(**health.flags(), dns_checked_at=now, dns_detail=health.as_dict())
            )
            for change in changes:
                good = change.endswith(("valid again", "no longer on any blocklist"))
                write_event(
                    conn,
                    kind="dns_change",
                    severity="info" if good else "warning",
                    subject_type="domain",
                    subject_id=row["id"],
                    message=change,
                    data={"domain": health.domain, "before": before, "after": health.flags()},
                    at=now,
                )
        for change in changes:
            log.warning("dns: %s", change)
        return changes

    async def check_all(self) -> list[DomainCheckReport]:
        """Check every sending domain (the dns-check job)."""
        with read_tx(self.db) as conn:
            names = list(
                conn.execute(
                    select(t.sending_domain.c.name).order_by(t.sending_domain.c.name)
                ).scalars()
            )
        gate = asyncio.Semaphore(CONCURRENT_DOMAINS)

        async def one(name: str) -> DomainCheckReport | None:
            async with gate:
                try:
                    return await self.check(name)
                except Exception:  # one domain's trouble must not stop the others
                    log.exception("dns check of %s failed", name)
                    return None

        results = await asyncio.gather(*(one(n) for n in names))
        return [r for r in results if r is not None]
