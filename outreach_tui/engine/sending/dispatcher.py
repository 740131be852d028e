"""The dispatcher: sends approved attempts that are due, one mailbox at a time per lease.

For each mailbox with due attempts (and its pacing gap elapsed) whose lease this process
holds: re-check the window in the recipient's timezone and that the lead has not replied,
then hand the attempt to the send pipeline (which re-checks every policy rule inside its
own transaction), then move the lead's sequence on. Mailboxes send concurrently; one
mailbox sends one message at a time, spaced by a random gap.

Every write from the event loop goes through `Database.run_write` (db/database.py): on
SQLite the statements run on the loop's thread, the COMMIT on a helper thread, shared with
the other mailboxes' sends in flight, so a write never stalls every SMTP session for an
fsync. After a send, its effects on the sequence and the mailbox's pacing gap are one
transaction with the outcome (`_after_outcome`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import Connection

from outreach_tui.core.rotation import pacing_gap
from outreach_tui.core.states import CampaignStatus, EnrollmentState, LeadStatus
from outreach_tui.db.records import AttemptToSend, MailboxRecord
from outreach_tui.db.repos import leases as lease_rows
from outreach_tui.db.repos.attempts_sending import (
    DueAttempt,
    due_attempts,
    next_due_at,
    reschedule_attempt,
)
from outreach_tui.db.repos.mailboxes import mailboxes_by_id
from outreach_tui.engine.context import EngineContext
from outreach_tui.engine.sending import leases
from outreach_tui.engine.sending.mailbox_pool import blocked_reason, mailboxes_at_limit
from outreach_tui.engine.sending.pipeline import LEASE_LOST, SendOutcome, SendPipeline
from outreach_tui.engine.sending.planner import CampaignPlan, load_campaigns
from outreach_tui.engine.sending.recovery import settle_orphans
from outreach_tui.engine.sending.sequences import (
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
#: Shared database: a tick starts no new send after max(this, dispatch_seconds) of wall
#: time, so the next tick soon re-balances the mailboxes between the workers. (A worker
#: that started first leases every mailbox with work; a tick that ran until all of it was
#: sent kept a worker that arrived later idle for the whole run: bench/scale.py, 2 workers
#: no faster than one.)
SHARED_TICK_SECONDS = 1.0


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
    #: Mailboxes ready to send that this process left for its peers (beyond its fair share).
    mailboxes_left_to_peers: int = 0
    #: The tick stopped starting sends at its time budget (shared database) with work left.
    cut_short: bool = False
    outcomes: list[SendOutcome] = field(default_factory=list)

    @property
    def attempted(self) -> int:
        return self.sent + self.failed + self.deferred + self.blocked + self.unknown + self.retry


def _mailbox_fault(outcome: SendOutcome) -> bool:
    """The mailbox's server or credentials are at fault: it stops for now (no gap)."""
    return outcome.error_class is not None and outcome.error_class.counts_against_mailbox


def _gap_elapsed(mailbox: MailboxRecord, now: datetime) -> bool:
    """The mailbox's pacing gap since its last send is over."""
    return mailbox.next_send_at is None or mailbox.next_send_at <= now


class Dispatcher:
    def __init__(self, ctx: EngineContext, *, pipeline: SendPipeline) -> None:
        self.ctx = ctx
        self.settings = ctx.settings
        self.clock = ctx.clock
        self.pipeline = pipeline
        self.operator_id = ctx.operator_id
        self.holder = ctx.holder
        self.stopping = False
        """Set on SIGTERM: the send in flight finishes, no new one starts."""
        self.held_leases: set[int] = set()
        #: Several processes on one PostgreSQL: presence, fair shares of the mailboxes,
        #: take-over of a dead worker's mailboxes (SQLite keeps its one-machine behaviour).
        self.shared = ctx.db.shared

    def due_attempts(self, conn: Connection, now: datetime) -> list[DueAttempt]:
        """The next batch of due attempts; on a shared database, none of a mailbox another
        live process holds."""
        return due_attempts(
            conn,
            now,
            self.settings.scheduler.dispatch_batch,
            holder=self.holder if self.shared else None,
        )

    async def tick(self) -> DispatchReport:
        report = DispatchReport()
        if self.stopping:
            return report
        now = self.clock.now()
        presence = (
            await self.ctx.db.run_write(partial(self._presence, now=now)) if self.shared else None
        )
        with self.ctx.db.read() as conn:
            due = self.due_attempts(conn, now)
            if not due:
                return report
            campaigns = load_campaigns(conn, (CampaignStatus.ACTIVE.value,))
            by_mailbox: dict[int, list[DueAttempt]] = defaultdict(list)
            for row in due:
                by_mailbox[row.mailbox_id].append(row)
            mailboxes = {m.id: m for m in mailboxes_by_id(conn, list(by_mailbox))}
            # Today's limit (warmup, RESTRICTED_SEND, WARM_RECOVERY) holds here too.
            full = mailboxes_at_limit(
                conn, list(mailboxes.values()), now=now, settings=self.settings
            )
        ready = [
            mid
            for mid in by_mailbox
            if mid in mailboxes
            and mid not in full
            and blocked_reason(mailboxes[mid], now) is None
            and _gap_elapsed(mailboxes[mid], now)
        ]
        release: list[int] = []
        if presence is not None:
            shared_out = len(ready)
            ready, release = self._share(ready, *presence)
            report.mailboxes_left_to_peers = shared_out - len(ready)
        ready = await self._lease(ready, now, report, release)
        semaphore = asyncio.Semaphore(MAILBOX_CONCURRENCY)
        budget = max(SHARED_TICK_SECONDS, self.settings.scheduler.dispatch_seconds)
        deadline = time.monotonic() + budget if self.shared else None

        async def run(mid: int) -> None:
            async with semaphore:
                await self._send_from(mailboxes[mid], by_mailbox[mid], campaigns, report, deadline)

        await asyncio.gather(*(run(mid) for mid in ready))
        return report

    def _presence(self, conn: Connection, now: datetime) -> tuple[int, int]:
        """Heartbeat in `worker_process`; (live processes, mailboxes other processes hold)."""
        ttl = self.settings.scheduler.lease_seconds
        leases.heartbeat(conn, self.holder, now)
        return (
            leases.live_workers(conn, now, ttl),
            leases.mailboxes_held_elsewhere(conn, self.holder, now),
        )

    def _share(
        self, ready: list[int], workers: int, held_elsewhere: int
    ) -> tuple[list[int], list[int]]:
        """(mailboxes to lease, own leases to give up): this process's even share of the
        mailboxes with work, its own first (no churn); a worker that started first and
        took everything hands the surplus back as the others arrive."""
        share = leases.fair_share(len(ready), held_elsewhere, workers)
        ordered = sorted(ready, key=lambda mid: mid not in self.held_leases)
        return ordered[:share], [mid for mid in ordered[share:] if mid in self.held_leases]

    async def _lease(
        self,
        mailbox_ids: list[int],
        now: datetime,
        report: DispatchReport,
        release: list[int] | None = None,
    ) -> list[int]:
        if not mailbox_ids and not release:
            return []
        granted = await self.ctx.db.run_write(
            partial(self._acquire_leases, mailbox_ids=mailbox_ids, now=now, release=release)
        )
        report.mailboxes_leased_elsewhere += len(mailbox_ids) - len(granted)
        self.held_leases.difference_update(release or ())
        self.held_leases.update(granted)
        return granted

    def _acquire_leases(
        self,
        conn: Connection,
        mailbox_ids: list[int],
        now: datetime,
        release: list[int] | None = None,
    ) -> list[int]:
        """`leases.acquire` for many mailboxes in three statements: renew ours, take the
        expired ones, create the missing ones; a lease another live holder has stays its.
        `release`: own leases given up in the same transaction."""
        if release:
            lease_rows.release_leases(conn, [leases.mailbox_lease(m) for m in release], self.holder)
        if not mailbox_ids:
            return []
        expires = now + timedelta(seconds=self.settings.scheduler.lease_seconds)
        names = {leases.mailbox_lease(mid): mid for mid in mailbox_ids}
        got = set(lease_rows.renew_leases(conn, list(names), self.holder, expires))
        rest = [name for name in names if name not in got]
        if rest:
            taken = lease_rows.take_expired_leases(conn, rest, self.holder, expires, now)
            got.update(taken)
            if taken and self.shared:
                settle_orphans(conn, [names[name] for name in taken], now)
            rest = [name for name in rest if name not in got]
        if rest:
            got.update(lease_rows.create_leases(conn, rest, self.holder, expires, now))
        return [mid for name, mid in names.items() if name in got]

    async def _send_from(
        self,
        mailbox: MailboxRecord,
        due: list[DueAttempt],
        campaigns: dict[int, CampaignPlan],
        report: DispatchReport,
        deadline: float | None = None,
    ) -> None:
        sends = 0
        write = self.ctx.db.run_write
        for item in due:
            if self.stopping or sends >= MAX_SENDS_PER_MAILBOX_PER_TICK:
                return
            if deadline is not None and time.monotonic() > deadline:
                report.cut_short = True
                return
            now = self.clock.now()
            campaign = campaigns.get(item.campaign_id) if item.campaign_id else None
            if campaign is not None:
                zone = campaign.zone_for(item.lead_timezone)
                if not campaign.window.is_open(now, zone):
                    when = campaign.window.next_open(now, zone)
                    await write(partial(reschedule_attempt, attempt_id=item.id, when=when, at=now))
                    report.rescheduled += 1
                    continue
                if item.lead_status == LeadStatus.REPLIED.value:
                    await write(partial(self._stop_replied, item=item, now=now))
                    report.blocked += 1
                    continue
            gap = [0.0]
            outcome = await self.pipeline.send_attempt(
                item.id,
                then=partial(self._after_outcome, mailbox=mailbox, item=item, gap=gap),
                lease_holder=self.holder if self.shared else None,
            )
            if outcome.status == "skipped":
                if outcome.message == LEASE_LOST:  # another process has this mailbox now
                    self.held_leases.discard(mailbox.id)
                    return
                continue
            sends += 1
            report.outcomes.append(outcome)
            status = outcome.status
            setattr(report, status, getattr(report, status) + 1)
            if _mailbox_fault(outcome) or gap[0] > 0:
                return

    def _after_outcome(
        self,
        conn: Connection,
        outcome: SendOutcome,
        attempt: AttemptToSend | None,
        *,
        mailbox: MailboxRecord,
        item: DueAttempt,
        gap: list[float],
    ) -> datetime | None:
        """`_after_send` inside the pipeline's transaction that records the outcome, so a
        crash can never leave a sent step whose sequence did not move on; `gap[0]` gets
        the pacing gap. Returns when the mailbox may send next (the pipeline writes it with
        the send's stamp on the mailbox), or None when it is not paced."""
        pace = not _mailbox_fault(outcome) and outcome.status in ("sent", "failed", "unknown")
        gap[0] = self._after_send(conn, mailbox, item, outcome, pace, attempt)
        if not pace:
            return None
        return self.clock.now() + timedelta(seconds=gap[0])

    def _after_send(
        self,
        conn: Connection,
        mailbox: MailboxRecord,
        item: DueAttempt,
        outcome: SendOutcome,
        pace: bool,
        attempt: AttemptToSend | None,
    ) -> float:
        """One transaction after a send: its effects on the lead's sequence. Returns, when
        `pace`, the mailbox's random gap before its next send (0 when not paced)."""
        now = self.clock.now()
        status = outcome.status
        enrollment = item.campaign_lead_id
        if status == "sent" and enrollment is not None:
            # A `sent` outcome comes with the attempt as it was sent, and a campaign's
            # attempt with its step.
            assert attempt is not None and attempt.step_position is not None
            advance_after_send(
                conn,
                enrollment_id=enrollment,
                sent_position=attempt.step_position,
                message_id=attempt.message_id,
                subject=attempt.subject,
                mailbox_id=mailbox.id,
                sent_at=now,
            )
        # A `failed` send's effects (suppress, stop, count against the mailbox) were the
        # outcome recorder's, through engine/sending/event_effects.py, in this transaction.
        elif status == "blocked" and enrollment is not None:
            stop_enrollment(conn, enrollment, f"blocked: {outcome.message}", now)
        elif status == "unknown" and enrollment is not None:
            hold_enrollment(conn, enrollment, outcome.message, now)
        if not pace:
            return 0.0
        sending = self.settings.sending
        return pacing_gap(
            f"{mailbox.id}:{item.id}", sending.min_gap_seconds, sending.max_gap_seconds
        )

    def _stop_replied(self, conn: Connection, item: DueAttempt, now: datetime) -> None:
        stop_lead(
            conn,
            lead_id=item.lead_id,
            reason="lead replied",
            operator_id=self.operator_id,
            now=now,
        )

    def release_leases(self) -> None:
        """On exit: give up every lease (mailboxes, the planner's) and, on a shared
        database, leave the worker list."""
        if not self.held_leases and not self.shared:
            return
        with self.ctx.db.write() as conn:
            leases.release_all(conn, self.holder)
            if self.shared:
                leases.unregister(conn, self.holder)
        self.held_leases.clear()

    def next_due_at(self) -> datetime | None:
        """When the earliest approved attempt may go (for `--until-idle` and the status line)."""
        with self.ctx.db.read() as conn:
            return next_due_at(conn)


__all__ = ["DispatchReport", "Dispatcher", "EnrollmentState"]
