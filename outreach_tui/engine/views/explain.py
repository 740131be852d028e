"""Why is this lead not being written to, and what will go out next?

`why` names the gate holding each of a lead's sequences: suppression, final status, health,
campaign paused, window, caps, mailbox phase or gap, approval waiting, sequence finished.
`forecast` replays the dispatcher's rules (windows, gaps with the same seeded jitter,
limits, caps) over the next hours without sending or writing anything.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, desc, select

from outreach_tui.config import Settings
from outreach_tui.core.addresses import normalize_address
from outreach_tui.core.days import local_day
from outreach_tui.core.rotation import choose_mailbox, pacing_gap
from outreach_tui.core.states import (
    AttemptState,
    CampaignStatus,
    CounterScope,
    EnrollmentState,
    LeadStatus,
)
from outreach_tui.core.templates import MissingVariable, TemplateSyntaxError
from outreach_tui.core.verification import WAITING_FOR_VERIFICATION
from outreach_tui.db import tables as t
from outreach_tui.db.repos.suppression import suppression_hits
from outreach_tui.db.session import read_tx
from outreach_tui.engine.clock import Clock
from outreach_tui.engine.sending import leases
from outreach_tui.engine.sending.mailbox_pool import PoolMailbox, load_pool
from outreach_tui.engine.sending.pipeline import SendPipeline
from outreach_tui.engine.sending.planner import CampaignPlan, load_campaigns, render_step


@dataclass(frozen=True, slots=True)
class WhyLine:
    gate: str
    """suppression, lead, health, campaign, sequence, approval, schedule, window, mailbox,
    cap, lease, enrollment"""
    campaign: str | None
    message: str

    def __str__(self) -> str:
        where = f"[{self.campaign}] " if self.campaign else ""
        return f"{where}{self.gate}: {self.message}"


@dataclass(frozen=True, slots=True)
class ForecastRow:
    at: datetime
    sender: str
    recipient: str
    campaign: str | None
    step: int | None
    subject: str
    planned: bool
    """False: already in the queue; True: the planner would queue it first."""


class Explainer:
    def __init__(
        self, db: Engine, settings: Settings, clock: Clock, pipeline: SendPipeline, holder: str
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.pipeline = pipeline
        self.holder = holder

    # -- why ------------------------------------------------------------------------------

    def why(self, email: str) -> list[WhyLine]:
        address = normalize_address(email)
        now = self.clock.now()
        lines: list[WhyLine] = []
        with read_tx(self.db) as conn:
            lead = conn.execute(select(t.lead).where(t.lead.c.email == address)).first()
            if lead is None:
                return [WhyLine("lead", None, f"no lead with the address {address}")]
            by_address, by_domain = suppression_hits(conn, address)
            if by_address:
                lines.append(WhyLine("suppression", None, f"{address} is on the suppression list"))
            if by_domain:
                lines.append(
                    WhyLine("suppression", None, f"domain {by_domain} is on the suppression list")
                )
            if LeadStatus(lead.status).final:
                lines.append(
                    WhyLine("lead", None, f"lead is {lead.status}; never written to again")
                )
            elif lead.status == LeadStatus.REPLIED.value:
                lines.append(WhyLine("lead", None, "lead replied; its sequences are stopped"))
            if lead.health == "RED":
                lines.append(WhyLine("health", None, "verification health RED: never queued"))
            elif lead.health == "YELLOW":
                cap = self.settings.sending.yellow_per_mailbox_per_day
                lines.append(
                    WhyLine(
                        "health",
                        None,
                        f"verification health YELLOW: at most {cap} per mailbox a day",
                    )
                )
            elif lead.health is None and self.settings.verify.required:
                lines.append(
                    WhyLine(
                        "health",
                        None,
                        f"{WAITING_FOR_VERIFICATION} (the verify-leads job, or "
                        "outreach-tui leads verify)",
                    )
                )
            enrollments = conn.execute(
                select(
                    t.campaign_lead,
                    t.campaign.c.name,
                    t.campaign.c.status.label("cstatus"),
                    t.campaign.c.paused_reason,
                )
                .join(t.campaign, t.campaign.c.id == t.campaign_lead.c.campaign_id)
                .where(t.campaign_lead.c.lead_id == lead.id)
                .order_by(t.campaign_lead.c.id)
            ).all()
            if not enrollments:
                lines.append(
                    WhyLine(
                        "enrollment",
                        None,
                        "not enrolled in any campaign "
                        "(outreach-tui leads import FILE --campaign NAME)",
                    )
                )
                return lines
            campaigns = load_campaigns(conn, tuple(s.value for s in CampaignStatus))
            pool = load_pool(conn, now=now, settings=self.settings)
            for enrollment in enrollments:
                lines += self._why_enrollment(conn, lead, enrollment, campaigns, pool, now)
        return lines

    def _why_enrollment(
        self,
        conn: Any,
        lead: Any,
        enr: Any,
        campaigns: dict[int, CampaignPlan],
        pool: dict[int, PoolMailbox],
        now: datetime,
    ) -> list[WhyLine]:
        name = enr.name
        campaign = campaigns[enr.campaign_id]
        steps = len(campaign.steps)
        out: list[WhyLine] = []
        if enr.cstatus != CampaignStatus.ACTIVE.value:
            why = f" ({enr.paused_reason})" if enr.paused_reason else ""
            out.append(WhyLine("campaign", name, f"campaign is {enr.cstatus}{why}"))
        if enr.state == EnrollmentState.FINISHED.value:
            return [*out, WhyLine("sequence", name, f"sequence finished: all {steps} steps sent")]
        if enr.state == EnrollmentState.STOPPED.value:
            return [*out, WhyLine("sequence", name, f"sequence stopped: {enr.stop_reason}")]
        if enr.state == EnrollmentState.HELD.value:
            return [
                *out,
                WhyLine(
                    "sequence",
                    name,
                    "held: the outcome of the last send is "
                    "unknown; resolve it in the console before anything more goes",
                ),
            ]
        zone = campaign.zone_for(lead.timezone)
        step = enr.next_step
        if enr.state == EnrollmentState.QUEUED.value:
            attempt = conn.execute(
                select(t.attempt).where(
                    t.attempt.c.campaign_lead_id == enr.id, t.attempt.c.step_position == step
                )
            ).first()
            if attempt is None:
                return [*out, WhyLine("schedule", name, f"step {step} is being planned")]
            return out + self._why_attempt(conn, attempt, name, campaign, zone, pool, now)
        # active: the next step is not in the ledger yet
        if enr.next_due_at is not None and enr.next_due_at > now:
            # An active enrollment with a reason was put back by the planner to wait for a
            # mailbox ("waiting: mailbox x is at its daily limit ..."); else it is the delay.
            why = enr.stop_reason or "its delay after the previous step"
            out.append(
                WhyLine(
                    "schedule",
                    name,
                    f"step {step} of {steps} due {enr.next_due_at:%Y-%m-%d %H:%M} UTC ({why})",
                )
            )
            return out
        if not campaign.window.is_open(now, zone):
            opens = campaign.window.next_open(now, zone)
            out.append(
                WhyLine(
                    "window",
                    name,
                    f"outside the sending window in {zone.key}; opens {opens:%Y-%m-%d %H:%M} UTC",
                )
            )
        if enr.mailbox_id is not None and enr.mailbox_id in pool:
            boxes = [pool[enr.mailbox_id]]
        elif campaign.mailbox_emails:
            boxes = [b for b in pool.values() if b.row.email in campaign.mailbox_emails]
        else:
            boxes = list(pool.values())
        usable = [b for b in boxes if b.blocked is None]
        for box in boxes:
            if box.blocked is not None:
                out.append(WhyLine("mailbox", name, box.blocked))
        yellow = lead.health == "YELLOW"
        chosen = choose_mailbox(
            [b.candidate for b in usable],
            yellow=yellow,
            yellow_cap=self.settings.sending.yellow_per_mailbox_per_day,
        )
        if chosen is None and usable:
            detail = ", ".join(
                f"{b.row.email} {b.candidate.used_today}/{b.candidate.daily_limit}"
                for b in usable[:5]
            )
            out.append(WhyLine("cap", name, f"no mailbox under today's limit ({detail})"))
        elif chosen is not None:
            decision = self.pipeline.check(chosen.email, lead.email, "")
            if not decision.allowed:
                out.append(WhyLine("cap", name, decision.reason))
            else:
                try:
                    render_step(campaign, campaign.steps[step], lead, enr, pool[chosen.id].row)
                except (MissingVariable, TemplateSyntaxError) as exc:
                    out.append(WhyLine("template", name, f"step {step}: {exc}"))
        if not out:
            out.append(
                WhyLine(
                    "schedule",
                    name,
                    f"step {step} is due now; the planner queues it "
                    f"within {self.settings.scheduler.plan_seconds:g} s",
                )
            )
        return out

    def _why_attempt(
        self,
        conn: Any,
        attempt: Any,
        name: str,
        campaign: CampaignPlan,
        zone: Any,
        pool: dict[int, PoolMailbox],
        now: datetime,
    ) -> list[WhyLine]:
        step = attempt.step_position
        state = attempt.state
        if state == AttemptState.PENDING_APPROVAL.value:
            return [WhyLine("approval", name, f"step {step} is waiting for approval in the Queue")]
        if state == AttemptState.SENDING.value:
            return [WhyLine("schedule", name, f"step {step} is being sent right now")]
        if state != AttemptState.APPROVED.value:
            return [WhyLine("sequence", name, f"step {step} attempt is {state}")]
        out: list[WhyLine] = []
        when = attempt.next_attempt_at
        if when is not None and when > now:
            if attempt.policy_result == "deferred":
                last = conn.execute(
                    select(t.audit_log.c.reason)
                    .where(t.audit_log.c.attempt_id == attempt.id)
                    .order_by(desc(t.audit_log.c.id))
                    .limit(1)
                ).scalar()
                out.append(
                    WhyLine(
                        "cap", name, f"step {step} deferred to {when:%Y-%m-%d %H:%M} UTC: {last}"
                    )
                )
            elif attempt.retry_count:
                out.append(
                    WhyLine(
                        "schedule",
                        name,
                        f"step {step} retries at "
                        f"{when:%Y-%m-%d %H:%M} UTC after {attempt.retry_count} "
                        f"temporary failure(s) ({attempt.error_class})",
                    )
                )
            else:
                out.append(
                    WhyLine(
                        "window",
                        name,
                        f"step {step} scheduled for "
                        f"{when:%Y-%m-%d %H:%M} UTC (sending window in {zone.key})",
                    )
                )
            return out
        box = pool.get(attempt.mailbox_id)
        if box is not None and box.blocked is not None:
            out.append(WhyLine("mailbox", name, box.blocked))
        elif box is not None and box.row.next_send_at is not None and box.row.next_send_at > now:
            out.append(
                WhyLine(
                    "mailbox",
                    name,
                    f"{box.row.email} waits its gap between sends "
                    f"until {box.row.next_send_at:%H:%M:%S} UTC",
                )
            )
        if not campaign.window.is_open(now, zone):
            out.append(WhyLine("window", name, f"outside the sending window in {zone.key}"))
        holder = leases.holder_of(conn, leases.mailbox_lease(attempt.mailbox_id), now)
        if holder is not None and holder != self.holder:
            out.append(WhyLine("lease", name, f"mailbox dispatched by another process ({holder})"))
        decision = self.pipeline.check(
            attempt.sender_email, attempt.recipient_email, attempt.subject
        )
        if not decision.allowed:
            out.append(WhyLine("cap", name, decision.reason))
        if not out:
            out.append(
                WhyLine("schedule", name, f"step {step} is due and goes out with the next dispatch")
            )
        return out

    # -- forecast -------------------------------------------------------------------------

    def forecast(self, hours: float = 24, *, limit: int = 5000) -> list[ForecastRow]:
        """What would be sent in the next `hours` if nothing changed (deterministic)."""
        now = self.clock.now()
        end = now + timedelta(hours=hours)
        tz = self.settings.tz
        caps = self.settings.policy
        with read_tx(self.db) as conn:
            campaigns = load_campaigns(conn, (CampaignStatus.ACTIVE.value,))
            pool = load_pool(conn, now=now, settings=self.settings)
            queued = conn.execute(
                select(t.attempt, t.lead.c.timezone.label("lead_timezone"))
                .join(t.lead, t.lead.c.id == t.attempt.c.lead_id)
                .where(
                    t.attempt.c.state == AttemptState.APPROVED.value,
                    (t.attempt.c.next_attempt_at.is_(None)) | (t.attempt.c.next_attempt_at <= end),
                )
                .order_by(t.attempt.c.next_attempt_at, t.attempt.c.id)
                .limit(limit)
            ).all()
            due = conn.execute(
                select(
                    t.campaign_lead.c.id.label("enrollment_id"),
                    t.campaign_lead.c.campaign_id,
                    t.campaign_lead.c.next_step,
                    t.campaign_lead.c.next_due_at,
                    t.campaign_lead.c.mailbox_id,
                    t.campaign_lead.c.thread_message_ids,
                    t.campaign_lead.c.first_subject,
                    t.lead,
                )
                .join(t.lead, t.lead.c.id == t.campaign_lead.c.lead_id)
                .where(
                    t.campaign_lead.c.state == EnrollmentState.ACTIVE.value,
                    t.campaign_lead.c.campaign_id.in_(list(campaigns)),
                    (t.campaign_lead.c.next_due_at.is_(None))
                    | (t.campaign_lead.c.next_due_at <= end),
                    t.lead.c.status.in_([LeadStatus.NEW.value, LeadStatus.CONTACTED.value]),
                    t.lead.c.health.in_(["GREEN", "YELLOW"])
                    if self.settings.verify.required
                    else (t.lead.c.health.is_(None)) | (t.lead.c.health != "RED"),
                )
                .order_by(t.campaign_lead.c.next_due_at, t.campaign_lead.c.id)
                .limit(limit)
            ).all()
            counts = {
                (scope, key): int(n)
                for scope, key, n in conn.execute(
                    select(
                        t.daily_counter.c.scope, t.daily_counter.c.key, t.daily_counter.c.count
                    ).where(
                        t.daily_counter.c.day == local_day(now, tz),
                        t.daily_counter.c.scope.in_([CounterScope.USER, CounterScope.DOMAIN]),
                    )
                )
            }
        free_at = {mid: max(now, box.row.next_send_at or now) for mid, box in pool.items()}
        used: dict[tuple[int, date], int] = {
            (mid, local_day(now, tz)): box.sent_today for mid, box in pool.items()
        }
        domain_used: Counter[tuple[str, date]] = Counter()
        user_used: Counter[date] = Counter()
        today = local_day(now, tz)
        for (scope, key), n in counts.items():
            if scope == CounterScope.DOMAIN:
                domain_used[(key, today)] = n
            elif key == self.pipeline.operator_id:
                user_used[today] = n
        per_mailbox: dict[int, list[tuple[datetime, Any, bool]]] = defaultdict(list)
        for row in queued:
            per_mailbox[row.mailbox_id].append((row.next_attempt_at or now, row, False))
        candidates = {mid: box.candidate for mid, box in pool.items()}
        for item in due:
            plan = campaigns[item.campaign_id]
            if item.mailbox_id is not None:
                chosen_id: int | None = item.mailbox_id if item.mailbox_id in pool else None
            else:
                ids = [
                    mid
                    for mid, box in pool.items()
                    if box.blocked is None
                    and (plan.mailbox_emails is None or box.row.email in plan.mailbox_emails)
                ]
                chosen = choose_mailbox([candidates[i] for i in ids])
                chosen_id = chosen.id if chosen else None
                if chosen is not None:
                    candidates[chosen.id] = _used_one_more(chosen)
            if chosen_id is not None:
                per_mailbox[chosen_id].append((max(now, item.next_due_at or now), item, True))
        rows: list[ForecastRow] = []
        sending = self.settings.sending
        for mid, items in per_mailbox.items():
            box = pool.get(mid)
            if box is None or box.blocked is not None:
                continue
            limit_today = box.candidate.daily_limit
            for ready, item, planned in sorted(items, key=lambda x: (x[0], x[1].id)):
                campaign = campaigns.get(item.campaign_id) if item.campaign_id else None
                at = max(ready, free_at[mid])
                if campaign is not None:
                    lead_tz = item.timezone if planned else item.lead_timezone
                    at = campaign.window.next_open(at, campaign.zone_for(lead_tz))
                if at > end:
                    continue
                day = local_day(at, tz)
                recipient = item.email if planned else item.recipient_email
                rdomain = recipient.rpartition("@")[2]
                if (
                    used.get((mid, day), 0) >= limit_today
                    or domain_used[(rdomain, day)] >= caps.daily_domain_cap
                    or user_used[day] >= caps.daily_user_cap
                ):
                    continue
                if planned:
                    assert campaign is not None
                    try:
                        subject, _ = render_step(
                            campaign, campaign.steps[item.next_step], item, item, box.row
                        )
                    except (MissingVariable, TemplateSyntaxError, KeyError):
                        continue
                    seed = f"{mid}:plan:{item.enrollment_id}:{item.next_step}"
                    step = item.next_step
                else:
                    subject, seed, step = item.subject, f"{mid}:{item.id}", item.step_position
                rows.append(
                    ForecastRow(
                        at,
                        box.row.email,
                        recipient,
                        campaign.name if campaign else None,
                        step,
                        subject,
                        planned,
                    )
                )
                used[(mid, day)] = used.get((mid, day), 0) + 1
                domain_used[(rdomain, day)] += 1
                user_used[day] += 1
                free_at[mid] = at + timedelta(
                    seconds=pacing_gap(seed, sending.min_gap_seconds, sending.max_gap_seconds)
                )
        rows.sort(key=lambda r: (r.at, r.sender, r.recipient))
        return rows


def _used_one_more(candidate: Any) -> Any:
    from dataclasses import replace

    return replace(candidate, used_today=candidate.used_today + 1)
