"""The monitor: every `[scheduler] monitor_seconds`, each mailbox's bounce and complaint rates
over a rolling window, and what to do about them (DESIGN.md, "Mailboxes and their health").

Per HEALTHY mailbox, over the last `[monitor] window_days` local days (never before the day it
last became HEALTHY, so the bounces that paused it do not pause it again): a complaint pauses;
after `min_sends`, a bounce rate above `pause_rate` pauses and above `warn_rate` warns. A
recovering mailbox (RESTRICTED_SEND, WARM_RECOVERY) is judged on its sends since the phase
began, and a failure there is a relapse (core.recovery).

Correlation, decided before any mailbox is paused:

- campaign: a failing mailbox's failures are *concentrated* in campaign C when at least
  `campaign_share` (80 %) of its window bounces come from C while its bounce rate on its other
  sends is at most `warn_rate` (a mailbox that sent nothing else cannot be told apart from its
  list, and is paused). When at least `campaign_min_mailboxes` failing mailboxes (crossing now,
  or PAUSED/QUARANTINE already) are concentrated in C, C is paused *instead of* the mailboxes
  crossing now; a mailbox concentrated in an already-paused campaign is not paused either.
- domain: `domain_failing_mailboxes` (3) or more failing mailboxes of one sending domain
  (crossing now, or PAUSED/QUARANTINE) pause the domain as well.

The rates come from the daily counters (scopes `mailbox`, `mailbox_bounce`,
`mailbox_complaint`: the dispatcher counts SMTP-time hard bounces, the reply inbox counts DSN
bounces and complaints): one range read of the counters' primary key per pass. The attempt
ledger is read only for failing mailboxes, through its (mailbox_id, state) index, to see which
campaigns their bounces came from.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from outreach_tui.config import Settings
from outreach_tui.core.days import day_start_utc, local_day
from outreach_tui.core.recovery import (
    RECOVERING,
    GuardRules,
    MailboxState,
    Rates,
    assess,
    check_relapse,
    pause,
)
from outreach_tui.core.states import (
    AttemptState,
    CampaignStatus,
    ErrorClass,
    MailboxPhase,
    Severity,
)
from outreach_tui.db import ledger
from outreach_tui.db import tables as t
from outreach_tui.db.session import read_tx, write_tx
from outreach_tui.engine.alerts import Alert, AlertSink
from outreach_tui.engine.clock import Clock
from outreach_tui.engine.guard import GuardAction, GuardActor, Mode, guard_rules
from outreach_tui.engine.pool import SCOPE_MAILBOX, SCOPE_MAILBOX_BOUNCE, SCOPE_MAILBOX_COMPLAINT

log = logging.getLogger(__name__)

SCOPES = (SCOPE_MAILBOX, SCOPE_MAILBOX_BOUNCE, SCOPE_MAILBOX_COMPLAINT)
OUT_FOR_HEALTH = (MailboxPhase.PAUSED.value, MailboxPhase.QUARANTINE.value)
#: Reply kinds (mail.inbound) that are a hard bounce of one of our messages.
BOUNCE_REPLY_KINDS = ("bounce_hard",)

_M = t.mailbox
MAILBOX_COLUMNS = (
    _M.c.id, _M.c.email, _M.c.domain_id, _M.c.phase, _M.c.phase_changed_at, _M.c.cooldown_until,
    _M.c.offence_count, _M.c.relapse_count, _M.c.needs_review, _M.c.resilience_score,
    _M.c.version, _M.c.phase_sent_base, _M.c.phase_bounced_base, _M.c.phase_complaint_base,
    _M.c.paused_campaigns,
)  # fmt: skip


def mailbox_state(row: Any) -> MailboxState:
    return MailboxState(
        phase=MailboxPhase(row.phase),
        phase_changed_at=row.phase_changed_at,
        cooldown_until=row.cooldown_until,
        offence_count=int(row.offence_count),
        relapse_count=int(row.relapse_count),
        needs_review=bool(row.needs_review),
        resilience_score=int(row.resilience_score),
    )


def phase_rates(conn: Connection, row: Any, settings: Settings) -> Rates:
    """Sends, bounces and complaints since the mailbox's phase began: the counters from the
    phase's first day on, less what that day held when the phase began (the `*_base`)."""
    start = local_day(row.phase_changed_at, settings.tz) if row.phase_changed_at else date.min
    sums = dict(
        conn.execute(
            select(t.daily_counter.c.scope, func.sum(t.daily_counter.c.count))
            .where(
                t.daily_counter.c.scope.in_(SCOPES),
                t.daily_counter.c.key == row.email,
                t.daily_counter.c.day >= start,
            )
            .group_by(t.daily_counter.c.scope)
        ).all()
    )
    return Rates(
        sent=max(0, int(sums.get(SCOPE_MAILBOX) or 0) - int(row.phase_sent_base)),
        bounced=max(0, int(sums.get(SCOPE_MAILBOX_BOUNCE) or 0) - int(row.phase_bounced_base)),
        complaints=max(
            0, int(sums.get(SCOPE_MAILBOX_COMPLAINT) or 0) - int(row.phase_complaint_base)
        ),
    )


def phase_rates_many(conn: Connection, rows: list[Any], settings: Settings) -> dict[int, Rates]:
    """`phase_rates` of many mailboxes in one read of the counters."""
    if not rows:
        return {}
    tz = settings.tz
    starts = {
        row.email: local_day(row.phase_changed_at, tz) if row.phase_changed_at else date.min
        for row in rows
    }
    sums: dict[tuple[str, str], int] = defaultdict(int)
    for scope, key, day, count in conn.execute(
        select(
            t.daily_counter.c.scope, t.daily_counter.c.key, t.daily_counter.c.day,
            t.daily_counter.c.count,
        ).where(
            t.daily_counter.c.scope.in_(SCOPES),
            t.daily_counter.c.key.in_(list(starts)),
            t.daily_counter.c.day >= min(starts.values()),
        )
    ):  # fmt: skip
        if day >= starts[key]:
            sums[(scope, key)] += int(count)
    return {
        row.id: Rates(
            sent=max(0, sums[(SCOPE_MAILBOX, row.email)] - int(row.phase_sent_base)),
            bounced=max(0, sums[(SCOPE_MAILBOX_BOUNCE, row.email)] - int(row.phase_bounced_base)),
            complaints=max(
                0, sums[(SCOPE_MAILBOX_COMPLAINT, row.email)] - int(row.phase_complaint_base)
            ),
        )
        for row in rows
    }


@dataclass
class MonitorReport:
    mode: Mode = "enforce"
    paused: list[str] = field(default_factory=list)
    relapsed: list[str] = field(default_factory=list)
    warned: list[str] = field(default_factory=list)
    domains_paused: list[str] = field(default_factory=list)
    campaigns_paused: list[str] = field(default_factory=list)
    suggested: list[str] = field(default_factory=list)
    observed: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    """Decisions another process carried out first (compare-and-set lost)."""
    alerts: list[Alert] = field(default_factory=list)


@dataclass
class Assessment:
    """One pass's decisions, before the mode decides what becomes of them."""

    actions: list[GuardAction] = field(default_factory=list)
    warnings: list[tuple[Any, str, float]] = field(default_factory=list)
    """(mailbox row, reason, rate) of mailboxes above the warning line."""


class Monitor:
    def __init__(
        self,
        db: Engine,
        settings: Settings,
        clock: Clock,
        operator_id: str,
        *,
        actor: GuardActor | None = None,
        sink: AlertSink | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.operator_id = operator_id
        self.actor = actor or GuardActor(db, settings, clock, operator_id)
        self.sink = sink

    @property
    def rules(self) -> GuardRules:
        return guard_rules(self.settings)

    async def run(self) -> MonitorReport:
        """One pass (in a worker thread), then its alerts to the sink."""
        report = await asyncio.to_thread(self.tick)
        await send_alerts(self.sink, report.alerts)
        return report

    def tick(self) -> MonitorReport:
        mode = self.actor.mode()
        assessment = self.assess()
        outcome = self.actor.carry_out(assessment.actions, mode)
        report = MonitorReport(mode=mode, alerts=list(outcome.alerts))
        for action in outcome.applied:
            tr = action.transition
            if action.type == "domain_pause":
                report.domains_paused.append(action.label)
            elif action.type == "campaign_pause":
                report.campaigns_paused.append(action.label)
            elif tr is not None and tr.kind == "relapse":
                report.relapsed.append(action.label)
            else:
                report.paused.append(action.label)
        report.suggested = [a.label for a in outcome.suggested]
        report.observed = [a.label for a in outcome.observed]
        report.lost = [a.label for a in outcome.lost]
        self._warn(assessment.warnings, report)
        return report

    def assess(self) -> Assessment:
        """Read the counters and decide; changes nothing."""
        now = self.clock.now()
        rules = self.rules
        tz = self.settings.tz
        today = local_day(now, tz)
        since = today - timedelta(days=self.settings.monitor.window_days - 1)
        since_at = day_start_utc(since, tz)
        out = Assessment()
        with read_tx(self.db) as conn:
            # Window totals per (scope, mailbox); the days themselves only matter for a
            # mailbox that became HEALTHY inside the window (its window starts that day).
            totals: dict[tuple[str, str], int] = defaultdict(int)
            per_day: dict[tuple[str, str], list[tuple[date, int]]] = defaultdict(list)
            for scope, key, day, count in conn.execute(
                select(
                    t.daily_counter.c.scope,
                    t.daily_counter.c.key,
                    t.daily_counter.c.day,
                    t.daily_counter.c.count,
                ).where(t.daily_counter.c.scope.in_(SCOPES), t.daily_counter.c.day >= since)
            ):
                totals[(scope, key)] += count
                per_day[(scope, key)].append((day, count))
            boxes = conn.execute(select(*MAILBOX_COLUMNS)).all()
            d = t.sending_domain
            domains = {row.id: row for row in conn.execute(select(d.c.id, d.c.name, d.c.paused))}
            crossing: list[tuple[Any, str, float]] = []
            recovering = phase_rates_many(
                conn, [box for box in boxes if MailboxPhase(box.phase) in RECOVERING], self.settings
            )
            for box in boxes:
                phase = MailboxPhase(box.phase)
                if phase is MailboxPhase.HEALTHY:
                    start = since
                    if box.phase_changed_at is not None:
                        start = max(since, local_day(box.phase_changed_at, tz))
                    if start == since:
                        window = Rates(*(totals.get((scope, box.email), 0) for scope in SCOPES))
                    else:
                        window = Rates(
                            *(
                                sum(c for d, c in per_day.get((scope, box.email), ()) if d >= start)
                                for scope in SCOPES
                            )
                        )
                    verdict = assess(window, rules)
                    if verdict.level == "pause":
                        crossing.append((box, verdict.reason, verdict.rate))
                    elif verdict.level == "warn":
                        out.warnings.append((box, verdict.reason, verdict.rate))
                elif phase in RECOVERING:
                    in_phase = recovering[box.id]
                    relapse = check_relapse(mailbox_state(box), in_phase, now, rules)
                    if relapse is not None:
                        out.actions.append(
                            GuardAction(
                                type="mailbox", subject_id=box.id, label=box.email,
                                reason=relapse.reason, transition=relapse, version=box.version,
                                rate=in_phase.bounce_rate,
                            )
                        )  # fmt: skip
            if not crossing:
                return out
            failing = {box.id: box for box, _, _ in crossing}
            failing.update((box.id, box) for box in boxes if box.phase in OUT_FOR_HEALTH)
            breakdown = campaign_breakdown(conn, list(failing), since_at)
            campaigns = {
                row.id: row
                for row in conn.execute(
                    select(t.campaign.c.id, t.campaign.c.name, t.campaign.c.status)
                )
            }
        self._correlate(out, crossing, failing, breakdown, campaigns, domains, now)
        return out

    def _correlate(
        self,
        out: Assessment,
        crossing: list[tuple[Any, str, float]],
        failing: dict[int, Any],
        breakdown: dict[int, dict[int, list[int]]],
        campaigns: dict[int, Any],
        domains: dict[int, Any],
        now: datetime,
    ) -> None:
        settings = self.settings.monitor
        crossing_ids = {box.id for box, _, _ in crossing}
        cause: dict[int, list[int]] = defaultdict(list)
        for mid in failing:
            campaign = concentrated_in(
                breakdown.get(mid, {}), settings.campaign_share, settings.warn_rate
            )
            if campaign is not None:
                cause[campaign].append(mid)
        excused: set[int] = set()
        for cid, mids in sorted(cause.items()):
            row = campaigns.get(cid)
            if row is None or not crossing_ids.intersection(mids):
                continue
            already_paused = row.status != CampaignStatus.ACTIVE.value
            if not already_paused and len(mids) < settings.campaign_min_mailboxes:
                continue
            excused.update(crossing_ids.intersection(mids))
            if not already_paused:
                names = ", ".join(sorted(failing[m].email for m in mids))
                out.actions.append(
                    GuardAction(
                        type="campaign_pause", subject_id=cid, label=row.name,
                        reason=f"bounces of {len(mids)} failing mailboxes concentrated in it "
                        f"({names})",
                        campaign_names=(row.name,),
                    )
                )  # fmt: skip
        to_pause = [c for c in crossing if c[0].id not in excused]
        rules = self.rules
        for box, reason, rate in to_pause:
            used = sorted(breakdown.get(box.id, {}))
            transition = pause(mailbox_state(box), reason, now, rules)
            out.actions.append(
                GuardAction(
                    type="mailbox", subject_id=box.id, label=box.email, reason=reason,
                    transition=transition, version=box.version, campaigns=tuple(used),
                    campaign_names=tuple(campaigns[c].name for c in used if c in campaigns),
                    rate=rate,
                )
            )  # fmt: skip
        failing_by_domain: dict[int, list[str]] = defaultdict(list)
        pausing = {box.id for box, _, _ in to_pause}
        for mid, box in failing.items():
            if box.domain_id is not None and (mid in pausing or box.phase in OUT_FOR_HEALTH):
                failing_by_domain[box.domain_id].append(box.email)
        for did, emails in sorted(failing_by_domain.items()):
            domain = domains.get(did)
            if domain is None or domain.paused or len(emails) < settings.domain_failing_mailboxes:
                continue
            out.actions.append(
                GuardAction(
                    type="domain_pause", subject_id=did, label=domain.name,
                    reason=f"{len(emails)} failing mailboxes ({', '.join(sorted(emails))})",
                )
            )  # fmt: skip

    def _warn(self, warnings: list[tuple[Any, str, float]], report: MonitorReport) -> None:
        """A warning is told once per mailbox per day (an event and an alert), in any mode."""
        if not warnings:
            return
        now = self.clock.now()
        day = local_day(now, self.settings.tz).isoformat()
        with write_tx(self.db) as conn:
            told = {
                (data or {}).get("key")
                for (data,) in conn.execute(
                    select(t.event.c.data).where(
                        t.event.c.kind == "bounce_warning",
                        t.event.c.created_at >= now - timedelta(days=2),
                    )
                )
            }
            for box, reason, rate in warnings:
                key = f"warn:{box.id}:{day}"
                if key in told:
                    continue
                ledger.write_event(
                    conn, kind="bounce_warning", severity="warning", subject_type="mailbox",
                    subject_id=box.id, at=now, message=f"{box.email}: {reason}",
                    data={"key": key, "rate": rate},
                )  # fmt: skip
                report.warned.append(box.email)
                report.alerts.append(
                    Alert(
                        severity=Severity.WARNING, key=f"bounce_warning:{box.email}",
                        title=f"{box.email}: {reason}", subject_type="mailbox",
                        subject_id=str(box.id), mailbox=box.email, rate=rate,
                        action_taken="nothing yet: the mailbox pauses above "
                        f"{self.settings.monitor.pause_rate:.0%}",
                    )
                )  # fmt: skip


def campaign_breakdown(
    conn: Connection, mailbox_ids: list[int], since: datetime
) -> dict[int, dict[int, list[int]]]:
    """mailbox id → campaign id → [sent, bounced] since `since`, from the attempt ledger (its
    (mailbox_id, state) index) and the inbox's bounce reports linked to an attempt."""
    out: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    if not mailbox_ids:
        return out
    a = t.attempt
    for mid, cid, state, error_class, count in conn.execute(
        select(a.c.mailbox_id, a.c.campaign_id, a.c.state, a.c.error_class, func.count())
        .where(
            a.c.mailbox_id.in_(mailbox_ids),
            a.c.state.in_([AttemptState.SENT.value, AttemptState.FAILED.value]),
            a.c.campaign_id.is_not(None),
            a.c.updated_at >= since,
        )
        .group_by(a.c.mailbox_id, a.c.campaign_id, a.c.state, a.c.error_class)
    ):
        if state == AttemptState.SENT.value:
            out[mid][cid][0] += int(count)
        elif error_class == ErrorClass.HARD_BOUNCE.value:
            out[mid][cid][1] += int(count)
    r = t.reply
    for mid, cid, count in conn.execute(
        select(r.c.mailbox_id, a.c.campaign_id, func.count())
        .join(a, a.c.id == r.c.attempt_id)
        .where(
            r.c.mailbox_id.in_(mailbox_ids),
            r.c.classification.in_(BOUNCE_REPLY_KINDS),
            a.c.campaign_id.is_not(None),
            r.c.created_at >= since,
        )
        .group_by(r.c.mailbox_id, a.c.campaign_id)
    ):
        out[mid][cid][1] += int(count)
    return out


def concentrated_in(
    per_campaign: dict[int, list[int]], share: float, warn_rate: float
) -> int | None:
    """The campaign a mailbox's bounces are concentrated in (see the module docstring)."""
    total_bounced = sum(b for _, b in per_campaign.values())
    if not total_bounced:
        return None
    cid, (_, bounced) = max(per_campaign.items(), key=lambda item: (item[1][1], -item[0]))
    if bounced / total_bounced < share:
        return None
    other_bounced = total_bounced - bounced
    other_attempted = sum(s + b for c, (s, b) in per_campaign.items() if c != cid)
    if other_attempted == 0 or other_bounced / other_attempted > warn_rate:
        return None
    return cid


async def send_alerts(sink: AlertSink | None, alerts: list[Alert]) -> None:
    if sink is None:
        return
    for alert in alerts:
        try:
            await sink.send(alert)
        except Exception:  # an unreachable chat must not stop the guard; the event is kept
            log.exception("alert %s could not be delivered", alert.key)
