"""The dispatcher: sends approved attempts that are due, one mailbox at a time per lease.

For each mailbox with due attempts (and its pacing gap elapsed) whose lease this process
holds: re-check the window in the recipient's timezone and that the lead has not replied,
then hand the attempt to the send pipeline (which re-checks every policy rule inside its
own transaction), then move the lead's sequence on. Mailboxes send concurrently; one
mailbox sends one message at a time, spaced by a random gap.

Every write goes through the pipeline's group commit (`SendPipeline.write`): the statements
run on the loop's thread, the COMMIT on a helper thread, shared with the other mailboxes'
sends in flight, so a write never stalls every SMTP session for an fsync. After a send, its
effects on the sequence and the mailbox's pacing gap are one transaction.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    Row,
    String,
    bindparam,
    cast,
    delete,
    exists,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from outreach_tui.config import Settings
from outreach_tui.core.days import local_day
from outreach_tui.core.rotation import pacing_gap
from outreach_tui.core.states import (
    AttemptState,
    CampaignStatus,
    CounterScope,
    EnrollmentState,
    ErrorClass,
    LeadStatus,
    MailboxPhase,
)
from outreach_tui.db import tables as t
from outreach_tui.db.repos.attempts import mark_interrupted_unknown
from outreach_tui.db.repos.counters import increment_counter
from outreach_tui.db.repos.journal import write_event
from outreach_tui.db.session import DriverStatement, read_tx, write_tx
from outreach_tui.engine.clock import Clock
from outreach_tui.engine.sending import leases
from outreach_tui.engine.sending.mailbox_pool import blocked_reason, mailboxes_at_limit
from outreach_tui.engine.sending.pipeline import LEASE_LOST, SendOutcome, SendPipeline
from outreach_tui.engine.sending.planner import CampaignPlan, load_campaigns
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


_A, _M, _D = t.attempt, t.mailbox, t.sending_domain
_DUE = (
    select(
        _A.c.id,
        _A.c.mailbox_id,
        _A.c.campaign_id,
        _A.c.campaign_lead_id,
        _A.c.next_attempt_at,
        t.lead.c.timezone.label("lead_timezone"),
        t.lead.c.status.label("lead_status"),
        t.lead.c.id.label("lead_id"),
    )
    .join(t.lead, t.lead.c.id == _A.c.lead_id)
    .join(_M, _M.c.id == _A.c.mailbox_id)
    .outerjoin(_D, _D.c.id == _M.c.domain_id)
    .outerjoin(t.campaign, t.campaign.c.id == _A.c.campaign_id)
    .where(
        _A.c.state == AttemptState.APPROVED.value,
        or_(_A.c.campaign_id.is_(None), t.campaign.c.status == CampaignStatus.ACTIVE.value),
        or_(_A.c.next_attempt_at.is_(None), _A.c.next_attempt_at <= bindparam("now")),
        # Only mailboxes that may send now (blocked_reason and the pacing gap, in SQL), so
        # attempts of a paused or resting mailbox never crowd the front of the batch. The
        # tick checks the same in Python again on the rows it reads.
        _M.c.phase != MailboxPhase.PAUSED.value,
        _M.c.phase != MailboxPhase.QUARANTINE.value,
        _D.c.paused.is_not(True),
        or_(_M.c.cooldown_until.is_(None), _M.c.cooldown_until <= bindparam("now")),
        or_(_M.c.next_send_at.is_(None), _M.c.next_send_at <= bindparam("now")),
    )
    .order_by(_A.c.next_attempt_at, _A.c.id)
    .limit(bindparam("limit", type_=Integer))
)
_MAILBOXES = (
    select(_M, _D.c.paused.label("domain_paused"))
    .select_from(_M.outerjoin(_D, _D.c.id == _M.c.domain_id))
    .where(_M.c.id.in_(bindparam("ids", expanding=True)))
)
# Prebuilt statements for what runs per send (see db/ledger.py).
_RESCHEDULE = DriverStatement(
    update(_A)
    .where(_A.c.id == bindparam("attempt_id"), _A.c.state == AttemptState.APPROVED.value)
    .values(next_attempt_at=bindparam("next_attempt_at"), updated_at=bindparam("updated_at"))
)
_L = t.lease
# PostgreSQL, several workers: only attempts of mailboxes no other live process holds, so
# each worker's batch is work it may do (anti-join on the lease's primary key).
_DUE_SHARED = _DUE.where(
    ~exists().where(
        _L.c.name == literal(leases.MAILBOX_PREFIX) + cast(_A.c.mailbox_id, String),
        _L.c.holder != bindparam("holder"),
        _L.c.expires_at >= bindparam("now"),
    )
)
_RELEASE_LEASES = delete(_L).where(
    _L.c.name.in_(bindparam("names", expanding=True)), _L.c.holder == bindparam("b_holder")
)
_RENEW_LEASES = (
    update(_L)
    .where(_L.c.name.in_(bindparam("names", expanding=True)), _L.c.holder == bindparam("b_holder"))
    .values(expires_at=bindparam("expires"))
    .returning(_L.c.name)
)
_TAKE_EXPIRED_LEASES = (
    update(_L)
    .where(_L.c.name.in_(bindparam("names", expanding=True)), _L.c.expires_at < bindparam("now"))
    .values(
        holder=bindparam("b_holder"), expires_at=bindparam("expires"), acquired_at=bindparam("now")
    )
    .returning(_L.c.name)
)


def _mailbox_fault(outcome: SendOutcome) -> bool:
    """The mailbox's server or credentials are at fault: it stops for now (no gap)."""
    return outcome.error_class is not None and outcome.error_class.counts_against_mailbox


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
        #: Several processes on one PostgreSQL: presence, fair shares of the mailboxes,
        #: take-over of a dead worker's mailboxes (SQLite keeps its one-machine behaviour).
        self.shared = db.dialect.name != "sqlite"

    def due_attempts(self, conn: Connection, now: datetime) -> list[Row[Any]]:
        params = {"now": now, "limit": self.settings.scheduler.dispatch_batch}
        if self.shared:
            return list(conn.execute(_DUE_SHARED, {**params, "holder": self.holder}))
        return list(conn.execute(_DUE, params))

    async def tick(self) -> DispatchReport:
        report = DispatchReport()
        if self.stopping:
            return report
        now = self.clock.now()
        presence = (
            await self.pipeline.write(partial(self._presence, now=now)) if self.shared else None
        )
        with read_tx(self.db) as conn:
            due = self.due_attempts(conn, now)
            if not due:
                return report
            campaigns = load_campaigns(conn, (CampaignStatus.ACTIVE.value,))
            by_mailbox: dict[int, list[Row[Any]]] = defaultdict(list)
            for row in due:
                by_mailbox[row.mailbox_id].append(row)
            mailboxes = {m.id: m for m in conn.execute(_MAILBOXES, {"ids": list(by_mailbox)})}
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
            and (mailboxes[mid].next_send_at is None or mailboxes[mid].next_send_at <= now)
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
        granted = await self.pipeline.write(
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
            conn.execute(
                _RELEASE_LEASES,
                {"names": [leases.mailbox_lease(m) for m in release], "b_holder": self.holder},
            )
        if not mailbox_ids:
            return []
        expires = now + timedelta(seconds=self.settings.scheduler.lease_seconds)
        names = {leases.mailbox_lease(mid): mid for mid in mailbox_ids}
        params = {"b_holder": self.holder, "expires": expires, "now": now}
        got = set(conn.execute(_RENEW_LEASES, {"names": list(names), **params}).scalars().all())
        rest = [name for name in names if name not in got]
        if rest:
            taken = conn.execute(_TAKE_EXPIRED_LEASES, {"names": rest, **params}).scalars().all()
            got.update(taken)
            if taken and self.shared:
                self._settle_orphans(conn, [names[name] for name in taken], now)
            rest = [name for name in rest if name not in got]
        if rest:
            insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            got.update(
                conn.execute(
                    insert(_L)
                    .values(
                        [
                            {
                                "name": name,
                                "holder": self.holder,
                                "expires_at": expires,
                                "acquired_at": now,
                            }
                            for name in rest
                        ]
                    )
                    .on_conflict_do_nothing(index_elements=["name"])
                    .returning(_L.c.name)
                )
                .scalars()
                .all()
            )
        return [mid for name, mid in names.items() if name in got]

    async def _send_from(
        self,
        mailbox: Row[Any],
        due: list[Row[Any]],
        campaigns: dict[int, CampaignPlan],
        report: DispatchReport,
        deadline: float | None = None,
    ) -> None:
        sends = 0
        write = self.pipeline.write
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
                    await write(partial(self._reschedule, attempt_id=item.id, when=when, now=now))
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
        attempt: Any,
        *,
        mailbox: Row[Any],
        item: Row[Any],
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
        mailbox: Row[Any],
        item: Row[Any],
        outcome: SendOutcome,
        pace: bool,
        attempt: Any,
    ) -> float:
        """One transaction after a send: its effects on the lead's sequence. Returns, when
        `pace`, the mailbox's random gap before its next send (0 when not paced)."""
        now = self.clock.now()
        status = outcome.status
        enrollment = item.campaign_lead_id
        if status == "sent" and enrollment is not None:
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
                increment_counter(
                    conn,
                    CounterScope.MAILBOX_BOUNCE,
                    mailbox.email,
                    local_day(now, self.settings.tz),
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
        if not pace:
            return 0.0
        sending = self.settings.sending
        return pacing_gap(
            f"{mailbox.id}:{item.id}", sending.min_gap_seconds, sending.max_gap_seconds
        )

    def _reschedule(self, conn: Connection, attempt_id: int, when: datetime, now: datetime) -> None:
        _RESCHEDULE.execute(
            conn, {"attempt_id": attempt_id, "next_attempt_at": when, "updated_at": now}
        )

    def _stop_replied(self, conn: Connection, item: Row[Any], now: datetime) -> None:
        stop_lead(
            conn,
            lead_id=item.lead_id,
            reason="lead replied",
            operator_id=self.operator_id,
            now=now,
        )

    def _settle_orphans(self, conn: Connection, mailbox_ids: list[int], now: datetime) -> None:
        """Mailboxes taken over from a holder whose lease expired (it died, or stalled):
        its sends in flight may or may not have gone out, so they become `unknown` (never
        re-sent blindly) and their sequences wait for the operator, as after a crash."""
        found = mark_interrupted_unknown(conn, now, mailbox_ids=mailbox_ids)
        if not found:
            return
        reason = "the process sending it stopped; outcome unknown, not resent"
        enrollments = conn.execute(
            select(_A.c.campaign_lead_id).where(
                _A.c.id.in_(found), _A.c.campaign_lead_id.is_not(None)
            )
        ).scalars()
        for enrollment_id in enrollments:
            hold_enrollment(conn, enrollment_id, reason, now)
        for attempt_id in found:
            write_event(
                conn, kind="attempt_unknown", severity="warning", subject_type="attempt",
                subject_id=attempt_id, at=now, message=reason,
            )  # fmt: skip
        log.warning("took over mailboxes %s: %d sends in flight marked unknown", mailbox_ids,
                    len(found))  # fmt: skip

    def release_leases(self) -> None:
        """On exit: give up every lease (mailboxes, the planner's) and, on a shared
        database, leave the worker list."""
        if not self.held_leases and not self.shared:
            return
        with write_tx(self.db) as conn:
            leases.release_all(conn, self.holder)
            if self.shared:
                leases.unregister(conn, self.holder)
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
