"""Why is this lead not being written to, and what will go out next?

`why` names the gate holding each of a lead's sequences: suppression, final status, health,
campaign paused, window, caps, mailbox phase or gap, approval waiting, sequence finished or
held; and what came back about the lead's sends (bounces, policy refusals, soft-bounce days,
complaints: engine/views/lead_history.py).
`forecast` (engine/views/forecast.py) replays the dispatcher's rules over the next hours
without sending or writing anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from outreach_tui.core.addresses import normalize_address
from outreach_tui.core.rotation import choose_mailbox
from outreach_tui.core.states import (
    AttemptState,
    CampaignStatus,
    EnrollmentState,
    LeadStatus,
)
from outreach_tui.core.templates import MissingVariable, TemplateSyntaxError
from outreach_tui.core.verification import WAITING_FOR_VERIFICATION
from outreach_tui.db.records import AttemptRecord, LeadRecord
from outreach_tui.db.repos.leads import lead_by_email
from outreach_tui.db.repos.leases import holder_of, mailbox_lease
from outreach_tui.db.repos.suppression import suppression_hits
from outreach_tui.db.repos.views_explain import (
    LeadEnrollment,
    last_audit_reason,
    lead_enrollments,
    step_attempt,
)
from outreach_tui.engine.context import EngineContext
from outreach_tui.engine.sending.mailbox_pool import PoolMailbox, load_pool
from outreach_tui.engine.sending.pipeline import SendPipeline
from outreach_tui.engine.sending.planner import CampaignPlan, load_campaigns, render_step
from outreach_tui.engine.views.forecast import ForecastRow, forecast
from outreach_tui.engine.views.lead_history import lead_history

__all__ = ["Explainer", "ForecastRow", "WhyLine"]


@dataclass(frozen=True, slots=True)
class WhyLine:
    gate: str
    """suppression, lead, history, health, campaign, sequence, approval, schedule, window,
    mailbox, cap, lease, enrollment"""
    campaign: str | None
    message: str

    def __str__(self) -> str:
        where = f"[{self.campaign}] " if self.campaign else ""
        return f"{where}{self.gate}: {self.message}"


class Explainer:
    def __init__(self, ctx: EngineContext, *, pipeline: SendPipeline) -> None:
        """`pipeline`: its policy check says whether a cap holds a send back."""
        self.ctx = ctx
        self.settings = ctx.settings
        self.pipeline = pipeline

    # -- why ------------------------------------------------------------------------------

    def why(self, email: str) -> list[WhyLine]:
        address = normalize_address(email)
        now = self.ctx.clock.now()
        lines: list[WhyLine] = []
        with self.ctx.db.read() as conn:
            lead = lead_by_email(conn, address)
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
            lines += [
                WhyLine("history", campaign, message)
                for campaign, message in lead_history(conn, lead, self.settings)
            ]
            enrollments = lead_enrollments(conn, lead.id)
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
        conn: Connection,
        lead: LeadRecord,
        enr: LeadEnrollment,
        campaigns: dict[int, CampaignPlan],
        pool: dict[int, PoolMailbox],
        now: datetime,
    ) -> list[WhyLine]:
        name = enr.campaign_name
        campaign = campaigns[enr.campaign_id]
        steps = len(campaign.steps)
        out: list[WhyLine] = []
        if enr.campaign_status != CampaignStatus.ACTIVE.value:
            why = f" ({enr.campaign_paused_reason})" if enr.campaign_paused_reason else ""
            out.append(WhyLine("campaign", name, f"campaign is {enr.campaign_status}{why}"))
        if enr.state == EnrollmentState.FINISHED.value:
            return [*out, WhyLine("sequence", name, f"sequence finished: all {steps} steps sent")]
        if enr.state == EnrollmentState.STOPPED.value:
            return [*out, WhyLine("sequence", name, f"sequence stopped: {enr.stop_reason}")]
        if enr.state == EnrollmentState.HELD.value:
            if enr.stop_reason and "never arrived" in enr.stop_reason:
                # Held by a report (core/event_effects.py): its message was returned.
                return [*out, WhyLine("sequence", name, f"held: {enr.stop_reason}")]
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
            attempt = step_attempt(conn, enr.id, step)
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
        conn: Connection,
        attempt: AttemptRecord,
        name: str,
        campaign: CampaignPlan,
        zone: ZoneInfo,
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
                last = last_audit_reason(conn, attempt.id)
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
        box = pool.get(attempt.mailbox_id) if attempt.mailbox_id is not None else None
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
        holder = (
            holder_of(conn, mailbox_lease(attempt.mailbox_id), now)
            if attempt.mailbox_id is not None
            else None
        )
        if holder is not None and holder != self.ctx.holder:
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
        """What would be sent in the next `hours` if nothing changed (deterministic;
        engine/views/forecast.py)."""
        return forecast(self.ctx, hours, limit=limit)
