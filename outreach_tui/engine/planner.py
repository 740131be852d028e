"""The planner: turns sequence steps that are due into rendered attempts in the ledger.

One tick, in one write transaction (so two planners never queue a step twice):
  due enrollments of active campaigns → policy pre-check (final lead, RED health,
  suppression, idempotency) → mailbox (sticky for follow-ups, else rotation) → render the
  template (spintax seeded per lead and step, so the preview is the sent text) → attempt in
  `pending_approval` (manual campaigns) or `approved` (auto), scheduled at the next opening
  of the campaign's window in the recipient's timezone.

Caps that change during the day (operator, recipient domain) are checked again by the
pipeline at send time, which defers the attempt rather than overshooting.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, Row, insert, or_, select, update

from outreach_tui.config import Settings
from outreach_tui.core.days import local_day
from outreach_tui.core.policy import idempotency_key
from outreach_tui.core.region import domain_of, infer_region
from outreach_tui.core.rotation import MailboxCandidate, choose_mailbox
from outreach_tui.core.states import (
    AttemptState,
    CampaignStatus,
    EnrollmentState,
    LeadStatus,
)
from outreach_tui.core.templates import MissingVariable, TemplateSyntaxError, render
from outreach_tui.core.window import SendWindow
from outreach_tui.db import ledger
from outreach_tui.db import tables as t
from outreach_tui.db.session import write_tx
from outreach_tui.engine import leases
from outreach_tui.engine.clock import Clock
from outreach_tui.engine.pool import SCOPE_MAILBOX_YELLOW, PoolMailbox, load_pool
from outreach_tui.engine.sequences import stop_enrollment
from outreach_tui.mail.message import new_message_id

log = logging.getLogger(__name__)

PLANNER_LEASE = "job:planner"


@dataclass
class PlanReport:
    planned: int = 0
    stopped: int = 0
    finished: int = 0
    waiting_for_mailbox: int = 0
    skipped_lease: bool = False
    reasons: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True, slots=True)
class CampaignPlan:
    """What the planner needs of one campaign, read once per tick."""

    id: int
    name: str
    approval: str
    timezone: str
    default_timezone: str
    window: SendWindow
    mailbox_emails: tuple[str, ...] | None
    steps: dict[int, Row[Any]]

    def zone_for(self, lead_timezone: str | None) -> ZoneInfo:
        if self.timezone != "recipient":
            return ZoneInfo(self.timezone)
        if lead_timezone:
            try:
                return ZoneInfo(lead_timezone)
            except (KeyError, ValueError):  # imported leads are validated; be safe anyway
                pass
        return ZoneInfo(self.default_timezone)


def load_campaigns(conn: Connection, statuses: tuple[str, ...]) -> dict[int, CampaignPlan]:
    rows = conn.execute(select(t.campaign).where(t.campaign.c.status.in_(statuses))).all()
    steps: dict[int, dict[int, Row[Any]]] = {row.id: {} for row in rows}
    if rows:
        for step in conn.execute(
            select(t.sequence_step).where(t.sequence_step.c.campaign_id.in_(list(steps)))
        ):
            steps[step.campaign_id][step.position] = step
    return {
        row.id: CampaignPlan(
            id=row.id,
            name=row.name,
            approval=row.approval,
            timezone=row.timezone,
            default_timezone=row.default_timezone,
            window=SendWindow.parse(row.window_days or [], row.window_start, row.window_end),
            mailbox_emails=tuple(row.mailbox_emails) if row.mailbox_emails else None,
            steps=steps[row.id],
        )
        for row in rows
    }


def lead_variables(lead: Any, sender_name: str, sender_email: str) -> dict[str, object]:
    """What a template may use: the lead's columns, its custom fields, and the sender."""
    variables: dict[str, object] = dict(lead.custom or {})
    variables.update(
        email=lead.email,
        domain=lead.domain,
        first_name=lead.first_name,
        last_name=lead.last_name,
        company=lead.company,
        website=lead.website,
        sender_name=sender_name,
        sender_email=sender_email,
    )
    return variables


def render_step(
    campaign: CampaignPlan, step: Row[Any], lead: Any, enrollment: Any, sender: Row[Any]
) -> tuple[str, str]:
    """(subject, body) as they will be sent. Raises MissingVariable / TemplateSyntaxError."""
    seed = f"{campaign.id}:{lead.id}:{step.position}"
    variables = lead_variables(lead, sender.from_name or "", sender.email)
    body = render(step.body, variables, seed + ":body")
    if step.subject:
        subject = render(step.subject, variables, seed + ":subject")
    else:
        first = enrollment.first_subject or ""
        subject = first if first.lower().startswith("re:") else f"Re: {first}"
    return subject, body


_DUE_COLUMNS = (
    t.campaign_lead.c.id.label("enrollment_id"),
    t.campaign_lead.c.campaign_id,
    t.campaign_lead.c.next_step,
    t.campaign_lead.c.next_due_at,
    t.campaign_lead.c.mailbox_id,
    t.campaign_lead.c.thread_message_ids,
    t.campaign_lead.c.first_subject,
    t.lead,
)


class Planner:
    def __init__(
        self, db: Engine, settings: Settings, clock: Clock, operator_id: str, holder: str
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.operator_id = operator_id
        self.holder = holder
        self.region_table = settings.policy.limits().region_table

    def tick(self) -> PlanReport:
        report = PlanReport()
        now = self.clock.now()
        with write_tx(self.db) as conn:
            if not leases.acquire(
                conn, PLANNER_LEASE, self.holder, now, self.settings.scheduler.lease_seconds
            ):
                report.skipped_lease = True
                return report
            campaigns = load_campaigns(conn, (CampaignStatus.ACTIVE.value,))
            if not campaigns:
                return report
            pool = load_pool(conn, now=now, settings=self.settings)
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

    def _due(self, conn: Connection, campaign_ids: list[int], now: datetime) -> list[Row[Any]]:
        """Enrollments whose next step is due, oldest first: two index range scans (new
        enrollments have no due time yet) instead of one OR that defeats the index."""
        limit = self.settings.scheduler.plan_batch
        base = (
            select(*_DUE_COLUMNS)
            .join(t.lead, t.lead.c.id == t.campaign_lead.c.lead_id)
            .where(
                t.campaign_lead.c.state == EnrollmentState.ACTIVE.value,
                t.campaign_lead.c.campaign_id.in_(campaign_ids),
            )
        )
        rows = list(
            conn.execute(
                base.where(t.campaign_lead.c.next_due_at <= now)
                .order_by(t.campaign_lead.c.next_due_at)
                .limit(limit)
            )
        )
        if len(rows) < limit:
            rows += conn.execute(
                base.where(t.campaign_lead.c.next_due_at.is_(None))
                # The index order (state, next_due_at, campaign_id, rowid): no sort.
                .order_by(t.campaign_lead.c.campaign_id, t.campaign_lead.c.id)
                .limit(limit - len(rows))
            ).all()
        return rows

    def _plan(
        self,
        conn: Connection,
        due: list[Row[Any]],
        campaigns: dict[int, CampaignPlan],
        pool: dict[int, PoolMailbox],
        now: datetime,
        report: PlanReport,
    ) -> None:
        suppressed = _suppressed(conn, due)
        candidates = {mid: box.candidate for mid, box in pool.items()}
        by_email = {box.row.email: mid for mid, box in pool.items()}
        yellow_cap = self.settings.sending.yellow_per_mailbox_per_day
        today = local_day(now, self.settings.tz)
        attempts: list[dict[str, Any]] = []
        audits: list[dict[str, Any]] = []
        yellow_planned: Counter[str] = Counter()
        keys_planned: set[str] = set()
        for item in due:
            campaign = campaigns[item.campaign_id]
            step = campaign.steps.get(item.next_step)
            if step is None:
                self._set_enrollment(
                    conn,
                    item.enrollment_id,
                    now,
                    state=EnrollmentState.FINISHED.value,
                    next_due_at=None,
                )
                report.finished += 1
                continue
            stop = self._stop_reason(item, suppressed)
            if stop is not None:
                stop_enrollment(conn, item.enrollment_id, stop, now)
                report.stopped += 1
                report.reasons[stop] += 1
                continue
            mailbox = self._mailbox_for(item, campaign, pool, candidates, by_email, yellow_cap)
            if isinstance(mailbox, str):
                report.waiting_for_mailbox += 1
                report.reasons[mailbox] += 1
                continue
            sender = pool[mailbox.id].row
            try:
                subject, body = render_step(campaign, step, item, item, sender)
            except (MissingVariable, TemplateSyntaxError) as exc:
                reason = f"template of step {step.position}: {exc}"
                stop_enrollment(conn, item.enrollment_id, reason, now)
                audits.append(self._audit(item, sender.email, None, "blocked", reason, now))
                report.stopped += 1
                report.reasons["template"] += 1
                continue
            key = idempotency_key(sender.email, item.email, subject)
            if key in keys_planned or _recent_duplicate(conn, key, now, self.settings):
                reason = "same sender, recipient and subject already sent within the window"
                stop_enrollment(conn, item.enrollment_id, reason, now)
                audits.append(self._audit(item, sender.email, subject, "blocked", reason, now))
                report.stopped += 1
                report.reasons["duplicate"] += 1
                continue
            keys_planned.add(key)
            rule = infer_region(item.email, self.region_table)
            thread = list(item.thread_message_ids or [])
            start = max(now, item.next_due_at or now)
            scheduled = campaign.window.next_open(start, campaign.zone_for(item.timezone))
            manual = campaign.approval == "manual"
            message_id = new_message_id(sender.email)
            attempts.append(
                {
                    "lead_id": item.id,
                    "campaign_id": campaign.id,
                    "campaign_lead_id": item.enrollment_id,
                    "step_position": step.position,
                    "mailbox_id": mailbox.id,
                    "operator_id": self.operator_id,
                    "sender_email": sender.email,
                    "recipient_email": item.email,
                    "recipient_domain": domain_of(item.email),
                    "subject": subject,
                    "body": body,
                    "idempotency_key": key,
                    "state": (
                        AttemptState.PENDING_APPROVAL if manual else AttemptState.APPROVED
                    ).value,
                    "message_id": message_id,
                    "in_reply_to": thread[-1] if thread else None,
                    "references": " ".join(thread) if thread else None,
                    "policy_result": "planned",
                    "legal_basis": rule.legal_basis.value,
                    "region": rule.region,
                    "retry_count": 0,
                    "next_attempt_at": scheduled,
                    "approved_by": None if manual else self.operator_id,
                    "approved_at": None if manual else now,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            audits.append(
                self._audit(
                    item,
                    sender.email,
                    subject,
                    "planned",
                    f"{campaign.name} step {step.position}, "
                    f"{'waiting for approval' if manual else 'auto-approved'}, "
                    f"scheduled {scheduled:%Y-%m-%d %H:%M} UTC",
                    now,
                )
            )
            self._set_enrollment(
                conn,
                item.enrollment_id,
                now,
                state=EnrollmentState.QUEUED.value,
                mailbox_id=mailbox.id,
            )
            used = candidates[mailbox.id]
            yellow = item.health == "YELLOW"
            candidates[mailbox.id] = replace(
                used,
                used_today=used.used_today + 1,
                yellow_today=used.yellow_today + (1 if yellow else 0),
            )
            if yellow:
                yellow_planned[sender.email] += 1
            report.planned += 1
        if attempts:
            conn.execute(insert(t.attempt), attempts)
        if audits:
            conn.execute(insert(t.audit_log), audits)
        for email, count in yellow_planned.items():
            ledger.increment_counter(conn, SCOPE_MAILBOX_YELLOW, email, today, count)

    def _stop_reason(self, item: Any, suppressed: set[str]) -> str | None:
        if LeadStatus(item.status).final:
            return f"lead is {item.status}"
        if item.status == LeadStatus.REPLIED.value:
            return "lead replied"
        if item.health == "RED":
            return "verification health RED: never queued"
        if item.email in suppressed:
            return "address on the suppression list"
        if item.domain in suppressed:
            return f"domain {item.domain} on the suppression list"
        return None

    def _mailbox_for(
        self,
        item: Any,
        campaign: CampaignPlan,
        pool: dict[int, PoolMailbox],
        candidates: dict[int, MailboxCandidate],
        by_email: dict[str, int],
        yellow_cap: int,
    ) -> MailboxCandidate | str:
        """The sender for this step, or a reason why none may send it now."""
        yellow = item.health == "YELLOW"
        if item.mailbox_id is not None:  # follow-ups come from the same mailbox, threaded
            sticky = candidates.get(item.mailbox_id)
            if sticky is None:
                return "its mailbox no longer exists"
            chosen = choose_mailbox([sticky], yellow=yellow, yellow_cap=yellow_cap)
            return chosen or f"mailbox {sticky.email} is at its limit or not sending"
        if campaign.mailbox_emails is not None:
            ids = [by_email[e] for e in campaign.mailbox_emails if e in by_email]
        else:
            ids = list(candidates)
        eligible = [candidates[i] for i in ids if pool[i].blocked is None]
        chosen = choose_mailbox(eligible, yellow=yellow, yellow_cap=yellow_cap)
        return chosen or "every mailbox of the campaign is at its limit or not sending"

    def _set_enrollment(
        self, conn: Connection, enrollment_id: int, now: datetime, **values: Any
    ) -> None:
        conn.execute(
            update(t.campaign_lead)
            .where(t.campaign_lead.c.id == enrollment_id)
            .values(updated_at=now, **values)
        )

    def _audit(
        self, item: Any, sender: str, subject: str | None, result: str, reason: str, now: datetime
    ) -> dict[str, Any]:
        return {
            "user_id": self.operator_id,
            "lead_email": item.email,
            "sender_email": sender,
            "subject": subject,
            "policy_result": result,
            "reason": reason,
            "legal_basis": None,
            "timestamp": now,
            "attempt_id": None,
        }


def _suppressed(conn: Connection, due: list[Row[Any]]) -> set[str]:
    """Addresses and domains (with their parents) of this batch that are suppressed."""
    addresses = {item.email for item in due}
    domains = {parent for item in due for parent in ledger.parent_domains(item.domain)}
    rows = conn.execute(
        select(t.suppression.c.kind, t.suppression.c.value).where(
            or_(
                (t.suppression.c.kind == "address") & t.suppression.c.value.in_(addresses),
                (t.suppression.c.kind == "domain") & t.suppression.c.value.in_(domains),
            )
        )
    ).all()
    hits = {value for kind, value in rows if kind == "address"}
    suppressed_domains = {value for kind, value in rows if kind == "domain"}
    for item in due:
        if any(p in suppressed_domains for p in ledger.parent_domains(item.domain)):
            hits.add(item.domain)
    return hits


def _recent_duplicate(conn: Connection, key: str, now: datetime, settings: Settings) -> bool:
    since = now - timedelta(hours=settings.policy.idempotency_window_hours)
    if not settings.policy.check_idempotency:
        return False
    return (
        conn.execute(
            select(t.idempotency_key.c.key).where(
                t.idempotency_key.c.key == key, t.idempotency_key.c.sent_at > since
            )
        ).first()
        is not None
    )
