"""The monitor: every `[scheduler] monitor_seconds`, each mailbox's bounce and complaint rates
over a rolling window, and what to do about them (the phases and their rules are
core/recovery.py; the rates are read by engine/guard/rates.py).

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

Rates are failures over attempts (core.recovery.Rates): hard bounces and policy refusals
count alike, at SMTP time or reported later, each event once. A burst of policy refusals from
one mailbox also raises a critical alert (engine/guard/policy_burst.py).

A pass costs, per HEALTHY mailbox, a few seeks on the counters' primary key (scope, key, day)
summed in the database, which hands back only the mailboxes that may warn or pause; the few
others (recovering, out for health, HEALTHY again inside the window) are read whole. Neither
grows with the history. The attempt ledger is read only for failing mailboxes, to see which
campaigns their bounces came from.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from outreach_tui.core.days import day_start_utc, local_day
from outreach_tui.core.recovery import (
    RECOVERING,
    GuardRules,
    Verdict,
    assess,
    check_relapse,
    pause,
)
from outreach_tui.core.states import CampaignStatus, MailboxPhase, Severity
from outreach_tui.db.repos.campaigns import CampaignBrief, campaign_briefs
from outreach_tui.db.repos.counters import WindowFigures, health_counter_sums
from outreach_tui.db.repos.journal import event_keys_since, write_event
from outreach_tui.db.repos.mailboxes import (
    MailboxPhaseRecord,
    mailbox_phases_by_id,
    unsettled_mailboxes,
)
from outreach_tui.db.repos.sending_domains import SendingDomainState, sending_domain_states
from outreach_tui.engine.context import EngineContext
from outreach_tui.engine.guard.actions import GuardAction, Mode, guard_rules
from outreach_tui.engine.guard.actor import GuardActor
from outreach_tui.engine.guard.alerts import Alert, AlertSink, send_alerts
from outreach_tui.engine.guard.policy_burst import policy_burst_alerts
from outreach_tui.engine.guard.rates import (
    campaign_breakdown,
    full_window_candidates,
    mailbox_state,
    phase_starts,
    rates_in_phase,
    summed_rates,
    window_rates,
)

OUT_FOR_HEALTH = (MailboxPhase.PAUSED.value, MailboxPhase.QUARANTINE.value)

#: A mailbox the monitor judged: its window's figures, or its whole phase record.
Judged = WindowFigures | MailboxPhaseRecord
#: (mailbox, reason, rate) of a mailbox above a line.
Crossing = tuple[MailboxPhaseRecord, str, float]


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
    warnings: list[tuple[Judged, str, float]] = field(default_factory=list)
    """(mailbox, reason, rate) of mailboxes above the warning line."""


class Monitor:
    def __init__(self, ctx: EngineContext, *, actor: GuardActor, sink: AlertSink) -> None:
        """`actor` carries out the decisions by mode; `sink` takes the alerts."""
        self.ctx = ctx
        self.actor = actor
        self.sink = sink
        self._told: tuple[str, set[str]] = ("", set())
        """(local day, warning keys known to be told that day): a mailbox that stays in the
        warning band is not looked up again at every pass."""

    @property
    def rules(self) -> GuardRules:
        return guard_rules(self.ctx.settings)

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
        report.alerts += policy_burst_alerts(self.ctx, self.ctx.clock.now())
        return report

    def assess(self) -> Assessment:
        """Read the counters and decide; changes nothing."""
        now = self.ctx.clock.now()
        rules = self.rules
        tz = self.ctx.tz
        today = local_day(now, tz)
        since = today - timedelta(days=self.ctx.settings.monitor.window_days - 1)
        since_at = day_start_utc(since, tz)
        # A HEALTHY mailbox whose phase began after this instant has a shorter window (it
        # starts on the day it became HEALTHY).
        cutoff = day_start_utc(since + timedelta(days=1), tz)
        out = Assessment()
        with self.ctx.db.read() as conn:
            flagged: list[tuple[Judged, Verdict]] = []
            # Full-window mailboxes: only those that may warn or pause come back.
            for figures in full_window_candidates(conn, since=since, cutoff=cutoff, rules=rules):
                flagged.append((figures, assess(window_rates(figures), rules)))
            # The rest: recovering, out for health, and HEALTHY since inside the window.
            others = unsettled_mailboxes(conn, healthy_since=cutoff)
            short = [box for box in others if box.phase == MailboxPhase.HEALTHY.value]
            in_recovery = [box for box in others if MailboxPhase(box.phase) in RECOVERING]
            # One read of the counters for both (a mailbox is in one phase or the other).
            starts = phase_starts(in_recovery, tz)
            starts.update(
                (box.email, max(since, local_day(box.phase_changed_at, tz)))
                for box in short
                if box.phase_changed_at is not None
            )
            sums = health_counter_sums(conn, starts)
            for box in short:
                flagged.append((box, assess(summed_rates(sums, box.email), rules)))
            recovering = rates_in_phase(in_recovery, sums)
            for box in others:
                if box.id not in recovering:
                    continue
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
            pausing = [(box.id, v) for box, v in flagged if v.level == "pause"]
            out.warnings = [(box, v.reason, v.rate) for box, v in flagged if v.level == "warn"]
            if not pausing:
                return out
            # The decisions need the crossing mailboxes' whole rows (state, version).
            full = {box.id: box for box in mailbox_phases_by_id(conn, [mid for mid, _ in pausing])}
            crossing = [
                (full[mid], v.reason, v.rate)
                for mid, v in pausing
                if mid in full and full[mid].phase == MailboxPhase.HEALTHY.value
            ]
            if not crossing:
                return out
            failing = {box.id: box for box, _, _ in crossing}
            failing.update((box.id, box) for box in others if box.phase in OUT_FOR_HEALTH)
            breakdown = campaign_breakdown(conn, list(failing), since_at)
            campaigns = {c.id: c for c in campaign_briefs(conn)}
            domains = {d.id: d for d in sending_domain_states(conn)}
        self._correlate(out, crossing, failing, breakdown, campaigns, domains, now)
        return out

    def _correlate(
        self,
        out: Assessment,
        crossing: list[Crossing],
        failing: dict[int, MailboxPhaseRecord],
        breakdown: dict[int, dict[int, list[int]]],
        campaigns: dict[int, CampaignBrief],
        domains: dict[int, SendingDomainState],
        now: datetime,
    ) -> None:
        settings = self.ctx.settings.monitor
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

    def _warn(self, warnings: list[tuple[Judged, str, float]], report: MonitorReport) -> None:
        """A warning is told once per mailbox per day (an event and an alert), in any mode."""
        if not warnings:
            return
        now = self.ctx.clock.now()
        today = local_day(now, self.ctx.tz)
        day = today.isoformat()
        if self._told[0] != day:
            self._told = (day, set())
        known = self._told[1]
        warnings = [w for w in warnings if f"warn:{w[0].id}:{day}" not in known]
        if not warnings:
            return
        with self.ctx.db.write() as conn:
            # Today's warnings of these mailboxes only (the key names the local day).
            told = event_keys_since(
                conn, kind="bounce_warning", since=day_start_utc(today, self.ctx.tz),
                subject_ids=[str(box.id) for box, _, _ in warnings],
            )  # fmt: skip
            for box, reason, rate in warnings:
                key = f"warn:{box.id}:{day}"
                if key in told:
                    continue
                write_event(
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
                        f"{self.ctx.settings.monitor.pause_rate:.0%}",
                    )
                )  # fmt: skip
        # Committed: told before (by any process) or now, not looked up again today.
        known.update(f"warn:{box.id}:{day}" for box, _, _ in warnings)


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
