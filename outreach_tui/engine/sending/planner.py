"""The planner: turns sequence steps that are due into rendered attempts in the ledger.

One tick, in one write transaction (so two planners never queue a step twice):
  due enrollments of active campaigns → policy pre-check (final lead, RED health,
  suppression, idempotency; a lead not verified yet waits with `[verify] required`) →
  mailbox (sticky for follow-ups, else rotation) → render the template (spintax seeded per
  lead and step, so the preview is the sent text) → attempt in `pending_approval` (manual
  campaigns) or `approved` (auto), scheduled at the next opening of the campaign's window
  in the recipient's timezone.

Caps that change during the day (operator, recipient domain) are checked again by the
pipeline at send time, which defers the attempt rather than overshooting.
"""

from __future__ import annotations

import heapq
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, Row, bindparam, insert, or_, select, update

from outreach_tui.config import Settings
from outreach_tui.core.days import local_day, next_day_start_utc
from outreach_tui.core.policy import idempotency_key
from outreach_tui.core.region import domain_of, infer_region, parent_domains
from outreach_tui.core.rotation import MailboxCandidate, choose_mailbox, is_eligible
from outreach_tui.core.rotation import rank as rotation_rank
from outreach_tui.core.states import (
    AttemptState,
    CampaignStatus,
    CounterScope,
    EnrollmentState,
    LeadStatus,
    MailboxPhase,
)
from outreach_tui.core.templates import MissingVariable, TemplateSyntaxError, render
from outreach_tui.core.verification import WAITING_FOR_VERIFICATION
from outreach_tui.core.window import SendWindow
from outreach_tui.db import tables as t
from outreach_tui.db.repos.counters import increment_counter
from outreach_tui.db.session import DriverStatement, write_tx
from outreach_tui.engine.clock import Clock
from outreach_tui.engine.sending import leases
from outreach_tui.engine.sending.mailbox_pool import PoolMailbox, load_pool
from outreach_tui.engine.sending.sequences import stop_enrollments
from outreach_tui.mail.message import new_message_id

log = logging.getLogger(__name__)

PLANNER_LEASE = "job:planner"

#: How long a step that has to wait for a mailbox is put back when nobody can say when the
#: mailbox will have room again (paused, quarantined, its sending domain paused, gone): long
#: enough that waiting steps stop crowding the front of the due list every tick, short
#: enough that a mailbox the operator resumes is used again soon. A mailbox at its daily
#: limit has room again when the day turns in the operator's timezone (limits and counters
#: reset at local midnight); one cooling down, when its cooldown ends.
WAIT_FOR_MAILBOX = timedelta(minutes=30)
#: What `campaign_lead.stop_reason` says of an active enrollment put back to wait.
WAITING_PREFIX = "waiting: "


@dataclass
class PlanReport:
    planned: int = 0
    stopped: int = 0
    finished: int = 0
    waiting_for_mailbox: int = 0
    waiting_for_verification: int = 0
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


_CL = t.campaign_lead
# One prebuilt statement for every enrollment the tick touches (planned, waiting, finished):
# the columns the tick may change, each row given its current value where it keeps it. The
# values were read in this same write transaction, so writing them back changes nothing else.
_ENROLLMENT_SET = DriverStatement(
    update(_CL)
    .where(_CL.c.id == bindparam("enrollment_id"))
    .values(
        {
            name: bindparam(name)
            for name in ("state", "next_due_at", "mailbox_id", "stop_reason", "updated_at")
        }
    )
)
_RECENT_KEYS = select(t.idempotency_key.c.key).where(
    t.idempotency_key.c.key.in_(bindparam("keys", expanding=True)),
    t.idempotency_key.c.sent_at > bindparam("since"),
)


@dataclass(frozen=True, slots=True)
class Wait:
    """No mailbox may send this step now: why, and when to look again."""

    reason: str
    until: datetime


class _Rotation:
    """`choose_mailbox` over one set of mailboxes, asked again and again within a tick.

    A heap ordered by rotation's rank: a mailbox's rank only grows within a tick (its
    `used_today`, the fourth key, goes up as steps are planned on it) and a mailbox at its
    limit stays there, so the top entry, once refreshed, is the mailbox `choose_mailbox`
    would pick; a pick costs O(log n) instead of ranking the whole pool for every step.
    YELLOW leads (a per-mailbox cap on top) take the plain scan.
    """

    __slots__ = ("candidates", "heap", "ids")

    def __init__(self, ids: list[int], candidates: dict[int, MailboxCandidate]) -> None:
        self.ids = ids
        self.candidates = candidates
        self.heap = [(rotation_rank(candidates[i]), i) for i in ids]
        heapq.heapify(self.heap)

    def choose(self, *, yellow: bool, yellow_cap: int) -> MailboxCandidate | None:
        candidates = self.candidates
        if yellow:
            return choose_mailbox(
                [candidates[i] for i in self.ids], yellow=True, yellow_cap=yellow_cap
            )
        heap = self.heap
        while heap:
            rank, mid = heap[0]
            candidate = candidates[mid]
            current = rotation_rank(candidate)
            if current != rank:
                heapq.heapreplace(heap, (current, mid))
            elif not is_eligible(candidate):
                heapq.heappop(heap)
            else:
                return candidate
        return None


@dataclass
class _Prepared:
    """A step with its mailbox chosen and its text rendered (or the rendering's error)."""

    item: Row[Any]
    campaign: CampaignPlan
    step: Row[Any]
    mailbox: MailboxCandidate
    sender: Any
    subject: str = ""
    body: str = ""
    key: str = ""
    error: str | None = None


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
        if conn.dialect.name != "sqlite":
            # Several workers (PostgreSQL): the rows this tick rewrites are locked until its
            # COMMIT; one that another transaction is changing (a reply stopping the lead)
            # is left for the next tick rather than overwritten from a stale read.
            base = base.with_for_update(of=t.campaign_lead, skip_locked=True)
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
        """Two passes: choose a mailbox and render each step (what must wait, stop or finish
        is settled on the way), then check the rendered steps' idempotency keys in one query
        and queue the rest. Every enrollment change is one executemany at the end."""
        suppressed = _suppressed(conn, due)
        candidates = {mid: box.candidate for mid, box in pool.items()}
        by_email = {box.row.email: mid for mid, box in pool.items()}
        rotations: dict[tuple[str, ...] | None, _Rotation] = {}
        no_room: dict[tuple[tuple[str, ...] | None, bool], Wait] = {}
        yellow_cap = self.settings.sending.yellow_per_mailbox_per_day
        today = local_day(now, self.settings.tz)
        enrollment_rows: list[dict[str, Any]] = []
        stops: list[tuple[int, str]] = []
        prepared: list[_Prepared] = []
        for item in due:
            campaign = campaigns[item.campaign_id]
            step = campaign.steps.get(item.next_step)
            if step is None:
                enrollment_rows.append(
                    _enrollment_row(
                        item, now, state=EnrollmentState.FINISHED.value, next_due_at=None
                    )
                )
                report.finished += 1
                continue
            stop = self._stop_reason(item, suppressed)
            if stop is not None:
                stops.append((item.enrollment_id, stop))
                report.stopped += 1
                report.reasons[stop] += 1
                continue
            if item.health is None and self.settings.verify.required:
                # Not verified yet: the verify-leads job makes it due again once it has a
                # health; the back-off only keeps it from crowding every tick meanwhile.
                again = now + timedelta(seconds=self.settings.scheduler.verify_seconds)
                enrollment_rows.append(
                    _enrollment_row(
                        item,
                        now,
                        next_due_at=again,
                        stop_reason=WAITING_PREFIX + WAITING_FOR_VERIFICATION,
                    )
                )
                report.waiting_for_verification += 1
                report.reasons[WAITING_FOR_VERIFICATION] += 1
                continue
            mailbox = self._mailbox_for(
                item, campaign, pool, candidates, by_email, rotations, no_room, yellow_cap, now
            )
            if isinstance(mailbox, Wait):
                enrollment_rows.append(
                    _enrollment_row(
                        item,
                        now,
                        next_due_at=mailbox.until,
                        stop_reason=(WAITING_PREFIX + mailbox.reason)[:300],
                    )
                )
                report.waiting_for_mailbox += 1
                report.reasons[mailbox.reason] += 1
                continue
            sender = pool[mailbox.id].row
            entry = _Prepared(item, campaign, step, mailbox, sender)
            prepared.append(entry)
            try:
                entry.subject, entry.body = render_step(campaign, step, item, item, sender)
            except (MissingVariable, TemplateSyntaxError) as exc:
                entry.error = f"template of step {step.position}: {exc}"
                continue
            entry.key = idempotency_key(sender.email, item.email, entry.subject)
            # Counted now, so the next steps of this batch see the mailbox's new load.
            yellow = item.health == "YELLOW"
            candidates[mailbox.id] = replace(
                mailbox,
                used_today=mailbox.used_today + 1,
                yellow_today=mailbox.yellow_today + (1 if yellow else 0),
            )
        recent = _recent_keys(
            conn, [entry.key for entry in prepared if entry.error is None], now, self.settings
        )
        attempts: list[dict[str, Any]] = []
        audits: list[dict[str, Any]] = []
        yellow_planned: Counter[str] = Counter()
        keys_planned: set[str] = set()
        for entry in prepared:
            item, step, sender = entry.item, entry.step, entry.sender
            if entry.error is not None:
                stops.append((item.enrollment_id, entry.error))
                audits.append(self._audit(item, sender.email, None, "blocked", entry.error, now))
                report.stopped += 1
                report.reasons["template"] += 1
                continue
            key = entry.key
            if key in keys_planned or key in recent:
                reason = "same sender, recipient and subject already sent within the window"
                stops.append((item.enrollment_id, reason))
                audits.append(
                    self._audit(item, sender.email, entry.subject, "blocked", reason, now)
                )
                report.stopped += 1
                report.reasons["duplicate"] += 1
                continue
            keys_planned.add(key)
            campaign = entry.campaign
            rule = infer_region(item.email, self.region_table)
            thread = list(item.thread_message_ids or [])
            start = max(now, item.next_due_at or now)
            scheduled = campaign.window.next_open(start, campaign.zone_for(item.timezone))
            manual = campaign.approval == "manual"
            attempts.append(
                {
                    "lead_id": item.id,
                    "campaign_id": campaign.id,
                    "campaign_lead_id": item.enrollment_id,
                    "step_position": step.position,
                    "mailbox_id": entry.mailbox.id,
                    "operator_id": self.operator_id,
                    "sender_email": sender.email,
                    "recipient_email": item.email,
                    "recipient_domain": domain_of(item.email),
                    "subject": entry.subject,
                    "body": entry.body,
                    "idempotency_key": key,
                    "state": (
                        AttemptState.PENDING_APPROVAL if manual else AttemptState.APPROVED
                    ).value,
                    "message_id": new_message_id(sender.email),
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
                    entry.subject,
                    "planned",
                    f"{campaign.name} step {step.position}, "
                    f"{'waiting for approval' if manual else 'auto-approved'}, "
                    f"scheduled {scheduled:%Y-%m-%d %H:%M} UTC",
                    now,
                )
            )
            enrollment_rows.append(
                _enrollment_row(
                    item, now, state=EnrollmentState.QUEUED.value, mailbox_id=entry.mailbox.id
                )
            )
            if item.health == "YELLOW":
                yellow_planned[sender.email] += 1
            report.planned += 1
        if enrollment_rows:
            _ENROLLMENT_SET.executemany(conn, enrollment_rows)
        stop_enrollments(conn, stops, now)
        if attempts:
            conn.execute(insert(t.attempt), attempts)
        if audits:
            conn.execute(insert(t.audit_log), audits)
        for email, count in yellow_planned.items():
            increment_counter(conn, CounterScope.MAILBOX_YELLOW, email, today, count)

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
        rotations: dict[tuple[str, ...] | None, _Rotation],
        no_room: dict[tuple[tuple[str, ...] | None, bool], Wait],
        yellow_cap: int,
        now: datetime,
    ) -> MailboxCandidate | Wait:
        """The sender for this step, or why none may send it now and when to look again."""
        yellow = item.health == "YELLOW"
        if item.mailbox_id is not None:  # follow-ups come from the same mailbox, threaded
            sticky = candidates.get(item.mailbox_id)
            if sticky is None:
                return Wait("its mailbox no longer exists", now + WAIT_FOR_MAILBOX)
            chosen = choose_mailbox([sticky], yellow=yellow, yellow_cap=yellow_cap)
            if chosen is not None:
                return chosen
            return self._wait_for(pool[sticky.id], sticky, yellow, yellow_cap, now)
        group = campaign.mailbox_emails
        known = no_room.get((group, yellow))
        if known is not None:  # within a tick, a full set of mailboxes stays full
            return known
        rotation = rotations.get(group)
        if rotation is None:
            if group is not None:
                ids = [by_email[e] for e in group if e in by_email]
            else:
                ids = list(candidates)
            rotation = rotations[group] = _Rotation(
                [i for i in ids if pool[i].blocked is None], candidates
            )
        chosen = rotation.choose(yellow=yellow, yellow_cap=yellow_cap)
        if chosen is not None:
            return chosen
        if group is not None:
            boxes = [pool[by_email[e]] for e in group if e in by_email]
        else:
            boxes = list(pool.values())
        waits = [
            self._wait_for(box, candidates[box.row.id], yellow, yellow_cap, now) for box in boxes
        ]
        until = min((w.until for w in waits), default=now + WAIT_FOR_MAILBOX)
        wait = no_room[(group, yellow)] = Wait(
            "every mailbox of the campaign is at its limit or not sending", until
        )
        return wait

    def _wait_for(
        self,
        box: PoolMailbox,
        candidate: MailboxCandidate,
        yellow: bool,
        yellow_cap: int,
        now: datetime,
    ) -> Wait:
        """Why this mailbox cannot take the step now, and when it may be able to."""
        if box.blocked is not None:
            row = box.row
            cooling_only = (
                row.phase not in (MailboxPhase.PAUSED.value, MailboxPhase.QUARANTINE.value)
                and not row.domain_paused
                and row.cooldown_until is not None
                and row.cooldown_until > now
            )
            return Wait(box.blocked, row.cooldown_until if cooling_only else now + WAIT_FOR_MAILBOX)
        tomorrow = next_day_start_utc(now, self.settings.tz)
        if candidate.used_today >= candidate.daily_limit:
            return Wait(
                f"mailbox {candidate.email} is at its daily limit "
                f"({candidate.used_today}/{candidate.daily_limit})",
                tomorrow,
            )
        if yellow and candidate.yellow_today >= yellow_cap:
            return Wait(
                f"mailbox {candidate.email} has taken its {yellow_cap} "
                "YELLOW-health leads for today",
                tomorrow,
            )
        # Not reached (choose_mailbox knows no other reason); look again soon.
        return Wait(f"mailbox {candidate.email} cannot send now", now + WAIT_FOR_MAILBOX)

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


def _enrollment_row(item: Any, now: datetime, **changes: Any) -> dict[str, Any]:
    """Parameters of _ENROLLMENT_SET: the item's current values, with `changes`; an
    enrollment that stays active without a wait, or moves on, has no stop_reason."""
    row = {
        "enrollment_id": item.enrollment_id,
        "state": EnrollmentState.ACTIVE.value,
        "next_due_at": item.next_due_at,
        "mailbox_id": item.mailbox_id,
        "stop_reason": None,
        "updated_at": now,
    }
    row.update(changes)
    return row


def _suppressed(conn: Connection, due: list[Row[Any]]) -> set[str]:
    """Addresses and domains (with their parents) of this batch that are suppressed."""
    addresses = {item.email for item in due}
    domains = {parent for item in due for parent in parent_domains(item.domain)}
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
        if any(p in suppressed_domains for p in parent_domains(item.domain)):
            hits.add(item.domain)
    return hits


def _recent_keys(
    conn: Connection, keys: Sequence[str], now: datetime, settings: Settings
) -> set[str]:
    """Those of `keys` sent within the idempotency window: one query for the batch."""
    if not keys or not settings.policy.check_idempotency:
        return set()
    since = now - timedelta(hours=settings.policy.idempotency_window_hours)
    return set(conn.execute(_RECENT_KEYS, {"keys": list(set(keys)), "since": since}).scalars())
