"""The dispatcher: sends approved attempts that are due, one mailbox at a time per lease.

For each mailbox with due attempts (and its pacing gap elapsed) whose lease this process
holds: re-check the window in the recipient's timezone and that the lead has not replied,
then hand the attempt to the send pipeline (which re-checks every policy rule inside its
own transaction), then move the lead's sequence on. Mailboxes send concurrently; one
mailbox sends one message at a time, spaced by a random gap.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, or_, select, update

from outreach_tui.config import Settings
from outreach_tui.core.days import local_day
from outreach_tui.core.rotation import pacing_gap
from outreach_tui.core.states import (
    AttemptState,
    CampaignStatus,
    EnrollmentState,
    ErrorClass,
    LeadStatus,
)
from outreach_tui.db import ledger
from outreach_tui.db import tables as t
from outreach_tui.db.session import read_tx, write_tx
from outreach_tui.engine import leases
from outreach_tui.engine.clock import Clock
from outreach_tui.engine.pipeline import SendOutcome, SendPipeline
from outreach_tui.engine.planner import CampaignPlan, load_campaigns
from outreach_tui.engine.pool import SCOPE_MAILBOX_BOUNCE, blocked_reason
from outreach_tui.engine.sequences import (
    advance_after_send,
    hold_enrollment,
    stop_enrollment,
    stop_lead,
)

log = logging.getLogger(__name__)

#: Sends one mailbox may make in one tick when its gap is zero (keeps a tick bounded).
MAX_SENDS_PER_MAILBOX_PER_TICK = 50
#: Mailboxes sending at once.
MAILBOX_CONCURRENCY = 16


@dataclass
class DispatchReport:
    sent: int = 0
    failed: int = 0
    deferred: int = 0
    blocked: int = 0
    unknown: int = 0
    retry: int = 0
    rescheduled: int = 0
    mailboxes_leased_elsewhere: int = 0
    outcomes: list[SendOutcome] = field(default_factory=list)

    @property
    def attempted(self) -> int:
        return self.sent + self.failed + self.deferred + self.blocked + self.unknown + self.retry


_DUE = (
    select(
        t.attempt.c.id,
        t.attempt.c.mailbox_id,
        t.attempt.c.campaign_id,
        t.attempt.c.campaign_lead_id,
        t.attempt.c.next_attempt_at,
        t.lead.c.timezone.label("lead_timezone"),
        t.lead.c.status.label("lead_status"),
        t.lead.c.id.label("lead_id"),
    )
    .join(t.lead, t.lead.c.id == t.attempt.c.lead_id)
    .outerjoin(t.campaign, t.campaign.c.id == t.attempt.c.campaign_id)
    .where(
        t.attempt.c.state == AttemptState.APPROVED.value,
        or_(t.attempt.c.campaign_id.is_(None), t.campaign.c.status == CampaignStatus.ACTIVE.value),
    )
)


class Dispatcher:
    def __init__(
        self,
        db: Engine,
        settings: Settings,
        clock: Clock,
        pipeline: SendPipeline,
        operator_id: str,
        holder: str,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.pipeline = pipeline
        self.operator_id = operator_id
        self.holder = holder
        self.stopping = False
        """Set on SIGTERM: the send in flight finishes, no new one starts."""
        self.held_leases: set[int] = set()

    def due_attempts(self, conn: Connection, now: datetime) -> list[Row[Any]]:
        return list(
            conn.execute(
                _DUE.where(
                    or_(t.attempt.c.next_attempt_at.is_(None), t.attempt.c.next_attempt_at <= now)
                )
                .order_by(t.attempt.c.next_attempt_at, t.attempt.c.id)
                .limit(self.settings.scheduler.dispatch_batch)
            )
        )

    async def tick(self) -> DispatchReport:
        report = DispatchReport()
        if self.stopping:
            return report
        now = self.clock.now()
        with read_tx(self.db) as conn:
            due = self.due_attempts(conn, now)
            if not due:
                return report
            campaigns = load_campaigns(conn, (CampaignStatus.ACTIVE.value,))
            by_mailbox: dict[int, list[Row[Any]]] = defaultdict(list)
            for row in due:
                by_mailbox[row.mailbox_id].append(row)
            mailboxes = {
                m.id: m
                for m in conn.execute(
                    select(t.mailbox, t.sending_domain.c.paused.label("domain_paused"))
                    .select_from(
                        t.mailbox.outerjoin(
                            t.sending_domain, t.sending_domain.c.id == t.mailbox.c.domain_id
                        )
                    )
                    .where(t.mailbox.c.id.in_(list(by_mailbox)))
                )
            }
        ready = [
            mid
            for mid in by_mailbox
            if mid in mailboxes
            and blocked_reason(mailboxes[mid], now) is None
            and (mailboxes[mid].next_send_at is None or mailboxes[mid].next_send_at <= now)
        ]
        ready = self._lease(ready, now, report)
        semaphore = asyncio.Semaphore(MAILBOX_CONCURRENCY)

        async def run(mid: int) -> None:
            async with semaphore:
                await self._send_from(mailboxes[mid], by_mailbox[mid], campaigns, report)

        await asyncio.gather(*(run(mid) for mid in ready))
        return report

    def _lease(self, mailbox_ids: list[int], now: datetime, report: DispatchReport) -> list[int]:
        if not mailbox_ids:
            return []
        ttl = self.settings.scheduler.lease_seconds
        granted: list[int] = []
        with write_tx(self.db) as conn:
            for mid in mailbox_ids:
                if leases.acquire(conn, leases.mailbox_lease(mid), self.holder, now, ttl):
                    granted.append(mid)
                else:
                    report.mailboxes_leased_elsewhere += 1
        self.held_leases.update(granted)
        return granted

    async def _send_from(
        self,
        mailbox: Row[Any],
        due: list[Row[Any]],
        campaigns: dict[int, CampaignPlan],
        report: DispatchReport,
    ) -> None:
        sends = 0
        for item in due:
            if self.stopping or sends >= MAX_SENDS_PER_MAILBOX_PER_TICK:
                return
            now = self.clock.now()
            campaign = campaigns.get(item.campaign_id) if item.campaign_id else None
            if campaign is not None:
                zone = campaign.zone_for(item.lead_timezone)
                if not campaign.window.is_open(now, zone):
                    self._reschedule(item.id, campaign.window.next_open(now, zone), now)
                    report.rescheduled += 1
                    continue
                if item.lead_status == LeadStatus.REPLIED.value:
                    self._stop_replied(item, now)
                    report.blocked += 1
                    continue
            outcome = await self.pipeline.send_attempt(item.id)
            if outcome.status == "skipped":
                continue
            sends += 1
            report.outcomes.append(outcome)
            self._after_send(mailbox, item, outcome, report)
            if outcome.error_class is not None and outcome.error_class.counts_against_mailbox:
                return  # the mailbox's server or credentials are at fault: stop for now
            if outcome.status in ("sent", "failed", "unknown") and self._gap_set(mailbox, item):
                return

    def _gap_set(self, mailbox: Row[Any], item: Row[Any]) -> bool:
        """After a send: the mailbox waits a random gap. True when that gap is not zero."""
        sending = self.settings.sending
        now = self.clock.now()
        gap = pacing_gap(
            f"{mailbox.id}:{item.id}", sending.min_gap_seconds, sending.max_gap_seconds
        )
        with write_tx(self.db) as conn:
            conn.execute(
                update(t.mailbox)
                .where(t.mailbox.c.id == mailbox.id)
                .values(next_send_at=now + timedelta(seconds=gap))
            )
        return gap > 0

    def _reschedule(self, attempt_id: int, when: datetime, now: datetime) -> None:
        with write_tx(self.db) as conn:
            conn.execute(
                update(t.attempt)
                .where(
                    t.attempt.c.id == attempt_id,
                    t.attempt.c.state == AttemptState.APPROVED.value,
                )
                .values(next_attempt_at=when, updated_at=now)
            )

    def _stop_replied(self, item: Row[Any], now: datetime) -> None:
        with write_tx(self.db) as conn:
            stop_lead(
                conn,
                lead_id=item.lead_id,
                reason="lead replied",
                operator_id=self.operator_id,
                now=now,
            )

    def _after_send(
        self, mailbox: Row[Any], item: Row[Any], outcome: SendOutcome, report: DispatchReport
    ) -> None:
        now = self.clock.now()
        status = outcome.status
        setattr(report, status, getattr(report, status) + 1)
        enrollment = item.campaign_lead_id
        with write_tx(self.db) as conn:
            if status == "sent" and enrollment is not None:
                attempt = conn.execute(
                    select(
                        t.attempt.c.message_id, t.attempt.c.subject, t.attempt.c.step_position
                    ).where(t.attempt.c.id == item.id)
                ).one()
                advance_after_send(
                    conn,
                    enrollment_id=enrollment,
                    sent_position=attempt.step_position,
                    message_id=attempt.message_id,
                    subject=attempt.subject,
                    mailbox_id=mailbox.id,
                    sent_at=now,
                )
            elif status == "failed":
                if outcome.error_class is ErrorClass.HARD_BOUNCE:
                    ledger.increment_counter(
                        conn, SCOPE_MAILBOX_BOUNCE, mailbox.email, local_day(now, self.settings.tz)
                    )
                    if enrollment is not None:
                        stop_lead(
                            conn,
                            lead_id=item.lead_id,
                            reason="hard bounce",
                            operator_id=self.operator_id,
                            now=now,
                        )
                elif enrollment is not None:
                    stop_enrollment(conn, enrollment, f"send failed: {outcome.message}", now)
            elif status == "blocked" and enrollment is not None:
                stop_enrollment(conn, enrollment, f"blocked: {outcome.message}", now)
            elif status == "unknown" and enrollment is not None:
                hold_enrollment(conn, enrollment, outcome.message, now)

    def release_leases(self) -> None:
        if not self.held_leases:
            return
        with write_tx(self.db) as conn:
            leases.release_all(conn, self.holder)
        self.held_leases.clear()

    def next_due_at(self) -> datetime | None:
        """When the earliest approved attempt may go (for `--until-idle` and the status line)."""
        with read_tx(self.db) as conn:
            return conn.execute(
                select(t.attempt.c.next_attempt_at)
                .where(t.attempt.c.state == AttemptState.APPROVED.value)
                .order_by(t.attempt.c.next_attempt_at)
                .limit(1)
            ).scalar()


__all__ = ["DispatchReport", "Dispatcher", "EnrollmentState"]
