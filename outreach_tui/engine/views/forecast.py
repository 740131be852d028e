"""What will go out next: `forecast` replays the dispatcher's rules (windows, gaps with the
same seeded jitter, mailbox limits, the daily caps) over the next hours, for the queue and
for the steps the planner would queue, without sending or writing anything."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from outreach_tui.core.days import local_day
from outreach_tui.core.rotation import MailboxCandidate, choose_mailbox, pacing_gap
from outreach_tui.core.states import CampaignStatus, CounterScope
from outreach_tui.core.templates import MissingVariable, TemplateSyntaxError
from outreach_tui.db.repos.enrollments import DueEnrollment
from outreach_tui.db.repos.views_explain import (
    QueuedSend,
    cap_counters_on,
    due_steps,
    queued_sends,
)
from outreach_tui.engine.context import EngineContext
from outreach_tui.engine.sending.mailbox_pool import load_pool
from outreach_tui.engine.sending.planner import load_campaigns, render_step


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


def forecast(ctx: EngineContext, hours: float = 24, *, limit: int = 5000) -> list[ForecastRow]:
    """What would be sent in the next `hours` if nothing changed (deterministic)."""
    settings = ctx.settings
    now = ctx.clock.now()
    end = now + timedelta(hours=hours)
    tz = ctx.tz
    caps = settings.policy
    today = local_day(now, tz)
    with ctx.db.read() as conn:
        campaigns = load_campaigns(conn, (CampaignStatus.ACTIVE.value,))
        pool = load_pool(conn, now=now, settings=settings)
        queued = queued_sends(conn, until=end, limit=limit)
        due = due_steps(
            conn,
            list(campaigns),
            until=end,
            verified_only=settings.verify.required,
            limit=limit,
        )
        counts = cap_counters_on(conn, today)
    free_at = {mid: max(now, box.row.next_send_at or now) for mid, box in pool.items()}
    used: dict[tuple[int, date], int] = {(mid, today): box.sent_today for mid, box in pool.items()}
    domain_used: Counter[tuple[str, date]] = Counter()
    user_used: Counter[date] = Counter()
    for (scope, key), n in counts.items():
        if scope == CounterScope.DOMAIN:
            domain_used[(key, today)] = n
        elif key == ctx.operator_id:
            user_used[today] = n
    # Per mailbox: (ready at, sort key, the send): a queued attempt sorts by its id, a
    # step still to plan by its lead's id.
    per_mailbox: dict[int | None, list[tuple[datetime, int, QueuedSend | DueEnrollment]]]
    per_mailbox = defaultdict(list)
    for row in queued:
        per_mailbox[row.mailbox_id].append((row.next_attempt_at or now, row.id, row))
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
            per_mailbox[chosen_id].append((max(now, item.next_due_at or now), item.lead.id, item))
    rows: list[ForecastRow] = []
    sending = settings.sending
    for mid, items in per_mailbox.items():
        if mid is None:
            continue
        box = pool.get(mid)
        if box is None or box.blocked is not None:
            continue
        limit_today = box.candidate.daily_limit
        for ready, _, send in sorted(items, key=lambda x: (x[0], x[1])):
            planned = isinstance(send, DueEnrollment)
            campaign = campaigns.get(send.campaign_id) if send.campaign_id else None
            at = max(ready, free_at[mid])
            if campaign is not None:
                lead_tz = (
                    send.lead.timezone if isinstance(send, DueEnrollment) else send.lead_timezone
                )
                at = campaign.window.next_open(at, campaign.zone_for(lead_tz))
            if at > end:
                continue
            day = local_day(at, tz)
            recipient = send.lead.email if isinstance(send, DueEnrollment) else send.recipient_email
            rdomain = recipient.rpartition("@")[2]
            if (
                used.get((mid, day), 0) >= limit_today
                or domain_used[(rdomain, day)] >= caps.daily_domain_cap
                or user_used[day] >= caps.daily_user_cap
            ):
                continue
            step: int | None
            if isinstance(send, DueEnrollment):
                assert campaign is not None
                try:
                    subject, _ = render_step(
                        campaign, campaign.steps[send.next_step], send.lead, send, box.row
                    )
                except (MissingVariable, TemplateSyntaxError, KeyError):
                    continue
                seed = f"{mid}:plan:{send.enrollment_id}:{send.next_step}"
                step = send.next_step
            else:
                subject, seed, step = send.subject, f"{mid}:{send.id}", send.step_position
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


def _used_one_more(candidate: MailboxCandidate) -> MailboxCandidate:
    return replace(candidate, used_today=candidate.used_today + 1)
