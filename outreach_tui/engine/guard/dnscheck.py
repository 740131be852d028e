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

from outreach_tui.core import dnshealth as rules
from outreach_tui.core.dnshealth import DomainHealth
from outreach_tui.core.states import CampaignStatus, Severity
from outreach_tui.db.records import SendingDomainRecord
from outreach_tui.db.repos.campaigns import campaign_setups
from outreach_tui.db.repos.journal import write_event
from outreach_tui.db.repos.sending_domains import (
    domain_mailbox_hosts,
    sending_domain_by_name,
    sending_domain_names,
    store_dns_check,
)
from outreach_tui.engine.context import EngineContext
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
    def __init__(self, ctx: EngineContext, *, sink: AlertSink) -> None:
        """`sink` takes the alerts of what a check found."""
        self.ctx = ctx
        self.sink = sink

    def _context(
        self, domain: str
    ) -> tuple[SendingDomainRecord | None, list[str], list[str], list[str]]:
        """(the sending_domain row, its mailboxes, their smtp hosts, campaigns using them)."""
        with self.ctx.db.read() as conn:
            row = sending_domain_by_name(conn, domain)
            if row is None:
                return None, [], [], []
            boxes = domain_mailbox_hosts(conn, row.id)
            campaigns = campaign_setups(conn, (CampaignStatus.ACTIVE.value,))
        emails = [b.email for b in boxes]
        hosts = sorted({b.smtp_host for b in boxes if b.smtp_host})
        using = [
            c.name
            for c in campaigns
            if c.mailbox_emails is None
            or any(e.lower() in {x.lower() for x in c.mailbox_emails} for e in emails)
        ]
        return row, emails, hosts, sorted(using)

    def plan(
        self, domain: str, row: SendingDomainRecord | None, hosts: list[str]
    ) -> DomainCheckPlan:
        dns = self.ctx.settings.dns
        own = dns.for_domain(domain)
        selectors = list(row.dkim_selectors or []) if row else []
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
        dns = self.ctx.settings.dns
        resolver = make_resolver(dns.nameservers, dns.timeout_seconds)
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
            await self.sink.send(alert)
        return report

    def _store(self, row: SendingDomainRecord, health: DomainHealth) -> list[str]:
        now = self.ctx.clock.now()
        before = {
            "spf_ok": row.spf_ok,
            "dkim_ok": row.dkim_ok,
            "dmarc_ok": row.dmarc_ok,
            "blocklisted": row.blocklisted,
        }
        changes = rules.describe_changes(health.domain, before, health)
        with self.ctx.db.write() as conn:
            store_dns_check(
                conn, row.id, flags=health.flags(), checked_at=now, detail=health.as_dict()
            )
            for change in changes:
                good = change.endswith(("valid again", "no longer on any blocklist"))
                write_event(
                    conn,
                    kind="dns_change",
                    severity="info" if good else "warning",
                    subject_type="domain",
                    subject_id=row.id,
                    message=change,
                    data={"domain": health.domain, "before": before, "after": health.flags()},
                    at=now,
                )
        for change in changes:
            log.warning("dns: %s", change)
        return changes

    async def check_all(self) -> list[DomainCheckReport]:
        """Check every sending domain (the dns-check job)."""
        with self.ctx.db.read() as conn:
            names = sending_domain_names(conn)
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
