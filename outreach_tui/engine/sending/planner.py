"""The planner: turns sequence steps that are due into rendered attempts in the ledger.

One tick, in one write transaction (so two planners never queue a step twice):
  due enrollments of active campaigns → policy pre-check (final lead, RED health,
  suppression, idempotency; a lead not verified yet waits with `[verify] required`) →
  mailbox (sticky for follow-ups, else rotation: engine/sending/mailbox_choice.py) → render
  the template (engine/sending/plans.py: the preview is the sent text) → attempt in
  `pending_approval` (manual campaigns) or `approved` (auto), scheduled at the next opening
  of the campaign's window in the recipient's timezone.

Caps that change during the day (operator, recipient domain) are checked again by the
pipeline at send time, which defers the attempt rather than overshooting.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import Connection

from outreach_tui.core.days import local_day
from outreach_tui.core.policy import idempotency_key
from outreach_tui.core.region import domain_of, infer_region, parent_domains
from outreach_tui.core.rotation import MailboxCandidate
from outreach_tui.core.states import (
    AttemptState,
    CampaignStatus,
    CounterScope,
    EnrollmentState,
    LeadStatus,
)
from outreach_tui.core.templates import MissingVariable, TemplateSyntaxError
from outreach_tui.core.verification import WAITING_FOR_VERIFICATION
from outreach_tui.db.records import StepRecord
from outreach_tui.db.repos.attempts_planned import (
    PlannedAttempt,
    insert_planned_attempts,
    recent_idempotency_keys,
)
from outreach_tui.db.repos.counters import increment_counter
from outreach_tui.db.repos.enrollments import (
    DueEnrollment,
    EnrollmentChange,
    due_enrollments,
    stop_enrollments,
    update_enrollments,
)
from outreach_tui.db.repos.journal import AuditEntry, write_audits
from outreach_tui.db.repos.leases import acquire
from outreach_tui.db.repos.mailboxes_pool import PoolRecord
from outreach_tui.db.repos.suppression import suppressed_among
from outreach_tui.engine.context import EngineContext
from outreach_tui.engine.sending.mailbox_choice import MailboxChooser, Wait
from outreach_tui.engine.sending.mailbox_pool import PoolMailbox, load_pool
from outreach_tui.engine.sending.plans import CampaignPlan, load_campaigns, render_step
from outreach_tui.mail.message import new_message_id

# What the dispatcher and the explainer import from here (the plans are plans.py's).
__all__ = [
    "PLANNER_LEASE", "WAITING_PREFIX", "CampaignPlan", "PlanReport", "Planner", "load_campaigns",
    "render_step",
]  # fmt: skip

log = logging.getLogger(__name__)

PLANNER_LEASE = "job:planner"

#: What `campaign_lead.stop_reason` says of an active enrollment put back to wait.
WAITING_PREFIX = "waiting: "


@dataclass
class PlanReport:
    """What one tick did, and why steps were stopped or put back (`reasons`)."""

    planned: int = 0
    stopped: int = 0
    finished: int = 0
    waiting_for_mailbox: int = 0
    waiting_for_verification: int = 0
    skipped_lease: bool = False
    reasons: Counter[str] = field(default_factory=Counter)


@dataclass(slots=True)
class _Prepared:
    """A step with its mailbox chosen and its text rendered (or the rendering's error)."""

    item: DueEnrollment
    campaign: CampaignPlan
    step: StepRecord
    mailbox: MailboxCandidate
    sender: PoolRecord
    subject: str = ""
    body: str = ""
    key: str = ""
    error: str | None = None


class Planner:
    """One tick at a time (`tick`), under the `job:planner` lease, so one process plans."""

    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx
        self.region_table = ctx.settings.policy.limits().region_table

    def tick(self) -> PlanReport:
        report = PlanReport()
        ctx = self.ctx
        now = ctx.clock.now()
        with ctx.db.write() as conn:
            if not acquire(
                conn, PLANNER_LEASE, ctx.holder, now, ctx.settings.scheduler.lease_seconds
            ):
                report.skipped_lease = True
                return report
            campaigns = load_campaigns(conn, (CampaignStatus.ACTIVE.value,))
            if not campaigns:
                return report
            pool = load_pool(conn, now=now, settings=ctx.settings)
            room = sum(
                max(0, box.candidate.daily_limit - box.candidate.used_today)
                for box in pool.values()
                if box.blocked is None
            )
            if room == 0:
                # Every mailbox is at its limit: reading the due list would only find steps
                # that have to wait (the explainer says so when asked).
                report.reasons["every mailbox is at its limit or not sending"] += 1
                return report
            due = self._due(conn, list(campaigns), now)
            if not due:
                return report
            self._plan(conn, due, campaigns, pool, now, report)
        if report.planned or report.stopped or report.finished:
            log.info(
                "planner: %d planned, %d stopped, %d finished, %d waiting for a mailbox",
                report.planned,
                report.stopped,
                report.finished,
                report.waiting_for_mailbox,
            )
        return report

    def _due(self, conn: Connection, campaign_ids: list[int], now: datetime) -> list[DueEnrollment]:
        """Enrollments whose next step is due, oldest first, then new ones."""
        # Several workers (PostgreSQL): the rows this tick rewrites are locked until its
        # COMMIT; one that another transaction is changing (a reply stopping the lead) is
        # left for the next tick rather than overwritten from a stale read.
        return due_enrollments(
            conn,
            campaign_ids,
            now=now,
            limit=self.ctx.settings.scheduler.plan_batch,
            lock=self.ctx.db.shared,
        )

    def _plan(
        self,
        conn: Connection,
        due: list[DueEnrollment],
        campaigns: dict[int, CampaignPlan],
        pool: dict[int, PoolMailbox],
        now: datetime,
        report: PlanReport,
    ) -> None:
        """Two passes: choose a mailbox and render each step (what must wait, stop or finish
        is settled on the way), then check the rendered steps' idempotency keys in one query
        and queue the rest. Every enrollment change is one executemany at the end."""
        settings = self.ctx.settings
        changes: list[EnrollmentChange] = []
        stops: list[tuple[int, str]] = []
        prepared = self._prepare(conn, due, campaigns, pool, now, report, changes, stops)
        recent = self._recent_keys(
            conn, [entry.key for entry in prepared if entry.error is None], now
        )
        attempts: list[PlannedAttempt] = []
        audits: list[AuditEntry] = []
        operator = self.ctx.operator_id
        audit = partial(AuditEntry, user_id=operator, at=now)
        yellow_planned: Counter[str] = Counter()
        keys_planned: set[str] = set()
        for entry in prepared:
            item, lead, step, sender = entry.item, entry.item.lead, entry.step, entry.sender
            if entry.error is not None:
                stops.append((item.enrollment_id, entry.error))
                audits.append(
                    audit(
                        policy_result="blocked",
                        reason=entry.error,
                        lead_email=lead.email,
                        sender_email=sender.email,
                    )
                )
                report.stopped += 1
                report.reasons["template"] += 1
                continue
            key = entry.key
            if key in keys_planned or key in recent:
                reason = "same sender, recipient and subject already sent within the window"
                stops.append((item.enrollment_id, reason))
                audits.append(
                    audit(
                        policy_result="blocked",
                        reason=reason,
                        lead_email=lead.email,
                        sender_email=sender.email,
                        subject=entry.subject,
                    )
                )
                report.stopped += 1
                report.reasons["duplicate"] += 1
                continue
            keys_planned.add(key)
            campaign = entry.campaign
            rule = infer_region(lead.email, self.region_table)
            thread = list(item.thread_message_ids or [])
            start = max(now, item.next_due_at or now)
            scheduled = campaign.window.next_open(start, campaign.zone_for(lead.timezone))
            manual = campaign.approval == "manual"
            attempts.append(
                PlannedAttempt(
                    lead_id=lead.id,
                    campaign_id=campaign.id,
                    campaign_lead_id=item.enrollment_id,
                    step_position=step.position,
                    mailbox_id=entry.mailbox.id,
                    operator_id=operator,
                    sender_email=sender.email,
                    recipient_email=lead.email,
                    recipient_domain=domain_of(lead.email),
                    subject=entry.subject,
                    body=entry.body,
                    idempotency_key=key,
                    state=(
                        AttemptState.PENDING_APPROVAL if manual else AttemptState.APPROVED
                    ).value,
                    message_id=new_message_id(sender.email),
                    in_reply_to=thread[-1] if thread else None,
                    references=" ".join(thread) if thread else None,
                    policy_result="planned",
                    legal_basis=rule.legal_basis.value,
                    region=rule.region,
                    retry_count=0,
                    next_attempt_at=scheduled,
                    approved_by=None if manual else operator,
                    approved_at=None if manual else now,
                    created_at=now,
                    updated_at=now,
                )
            )
            audits.append(
                audit(
                    policy_result="planned",
                    reason=f"{campaign.name} step {step.position}, "
                    f"{'waiting for approval' if manual else 'auto-approved'}, "
                    f"scheduled {scheduled:%Y-%m-%d %H:%M} UTC",
                    lead_email=lead.email,
                    sender_email=sender.email,
                    subject=entry.subject,
                )
            )
            changes.append(
                EnrollmentChange(
                    enrollment_id=item.enrollment_id,
                    state=EnrollmentState.QUEUED.value,
                    next_due_at=item.next_due_at,
                    mailbox_id=entry.mailbox.id,
                    stop_reason=None,
                    updated_at=now,
                )
            )
            if lead.health == "YELLOW":
                yellow_planned[sender.email] += 1
            report.planned += 1
        update_enrollments(conn, changes)
        stop_enrollments(conn, stops, now)
        insert_planned_attempts(conn, attempts)
        write_audits(conn, audits)
        today = local_day(now, settings.tz)
        for email, count in yellow_planned.items():
            increment_counter(conn, CounterScope.MAILBOX_YELLOW, email, today, count)

    def _prepare(
        self,
        conn: Connection,
        due: list[DueEnrollment],
        campaigns: dict[int, CampaignPlan],
        pool: dict[int, PoolMailbox],
        now: datetime,
        report: PlanReport,
        changes: list[EnrollmentChange],
        stops: list[tuple[int, str]],
    ) -> list[_Prepared]:
        """The first pass: each due step finished, stopped, put back to wait (into `changes`
        and `stops`), or given its mailbox and rendered."""
        settings = self.ctx.settings
        suppressed = _suppressed(conn, due)
        chooser = MailboxChooser(
            pool,
            yellow_cap=settings.sending.yellow_per_mailbox_per_day,
            now=now,
            tz=settings.tz,
        )
        prepared: list[_Prepared] = []
        for item in due:
            lead = item.lead
            campaign = campaigns[item.campaign_id]
            step = campaign.steps.get(item.next_step)
            if step is None:
                changes.append(_put_back(item, now, state=EnrollmentState.FINISHED.value))
                report.finished += 1
                continue
            stop = _stop_reason(item, suppressed)
            if stop is not None:
                stops.append((item.enrollment_id, stop))
                report.stopped += 1
                report.reasons[stop] += 1
                continue
            if lead.health is None and settings.verify.required:
                # Not verified yet: the verify-leads job makes it due again once it has a
                # health; the back-off only keeps it from crowding every tick meanwhile.
                again = now + timedelta(seconds=settings.scheduler.verify_seconds)
                changes.append(_put_back(item, now, until=again, reason=WAITING_FOR_VERIFICATION))
                report.waiting_for_verification += 1
                report.reasons[WAITING_FOR_VERIFICATION] += 1
                continue
            yellow = lead.health == "YELLOW"
            mailbox = chooser.choose(
                sticky_id=item.mailbox_id, group=campaign.mailbox_emails, yellow=yellow
            )
            if isinstance(mailbox, Wait):
                changes.append(_put_back(item, now, until=mailbox.until, reason=mailbox.reason))
                report.waiting_for_mailbox += 1
                report.reasons[mailbox.reason] += 1
                continue
            sender = pool[mailbox.id].row
            entry = _Prepared(item, campaign, step, mailbox, sender)
            prepared.append(entry)
            try:
                entry.subject, entry.body = render_step(campaign, step, lead, item, sender)
            except (MissingVariable, TemplateSyntaxError) as exc:
                entry.error = f"template of step {step.position}: {exc}"
                continue
            entry.key = idempotency_key(sender.email, lead.email, entry.subject)
            chooser.take(mailbox, yellow=yellow)
        return prepared

    def _recent_keys(self, conn: Connection, keys: Sequence[str], now: datetime) -> set[str]:
        """Those of `keys` sent within the idempotency window: one query for the batch."""
        policy = self.ctx.settings.policy
        if not keys or not policy.check_idempotency:
            return set()
        since = now - timedelta(hours=policy.idempotency_window_hours)
        return recent_idempotency_keys(conn, keys, since)


def _put_back(
    item: DueEnrollment,
    now: datetime,
    *,
    state: str = EnrollmentState.ACTIVE.value,
    until: datetime | None = None,
    reason: str | None = None,
) -> EnrollmentChange:
    """An enrollment that finishes (`state`), or stays active and waits `until` for
    `reason`; its mailbox is kept."""
    return EnrollmentChange(
        enrollment_id=item.enrollment_id,
        state=state,
        next_due_at=until,
        mailbox_id=item.mailbox_id,
        stop_reason=None if reason is None else (WAITING_PREFIX + reason)[:300],
        updated_at=now,
    )


def _stop_reason(item: DueEnrollment, suppressed: set[str]) -> str | None:
    lead = item.lead
    if LeadStatus(lead.status).final:
        return f"lead is {lead.status}"
    if lead.status == LeadStatus.REPLIED.value:
        return "lead replied"
    if lead.health == "RED":
        return "verification health RED: never queued"
    if lead.email in suppressed:
        return "address on the suppression list"
    if lead.domain in suppressed:
        return f"domain {lead.domain} on the suppression list"
    return None


def _suppressed(conn: Connection, due: list[DueEnrollment]) -> set[str]:
    """Addresses and domains (with their parents) of this batch that are suppressed."""
    addresses = {item.lead.email for item in due}
    domains = {parent for item in due for parent in parent_domains(item.lead.domain)}
    hits, suppressed_domains = suppressed_among(conn, addresses, domains)
    for item in due:
        if any(p in suppressed_domains for p in parent_domains(item.lead.domain)):
            hits.add(item.lead.domain)
    return hits
