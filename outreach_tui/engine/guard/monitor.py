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
bounces and complaints). A pass costs, per HEALTHY mailbox, a few seeks on the counters'
primary key (scope, key, day) summed in the database, which hands back only the mailboxes
that may warn or pause; the few others (recovering, out for health, HEALTHY again inside the
window) are read whole. Neither grows with the history. The attempt ledger is read only for
failing mailboxes, through its (mailbox_id, state) index, to see which campaigns their
bounces came from.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Float, and_, bindparam, func, or_, select

from outreach_tui.config import Settings
from outreach_tui.core.days import day_start_utc, local_day
from outreach_tui.core.recovery import (
    RECOVERING,
    GuardRules,
    MailboxState,
    Rates,
    Verdict,
    assess,
    check_relapse,
    pause,
)
from outreach_tui.core.states import (
    AttemptState,
    CampaignStatus,
    CounterScope,
    ErrorClass,
    MailboxPhase,
    Severity,
)
from outreach_tui.db import tables as t
from outreach_tui.db.repos.journal import write_event
from outreach_tui.db.session import read_tx, write_tx
from outreach_tui.engine.clock import Clock
from outreach_tui.engine.guard.actor import GuardAction, GuardActor, Mode, guard_rules
from outreach_tui.engine.guard.alerts import Alert, AlertSink

log = logging.getLogger(__name__)

SCOPES = (CounterScope.MAILBOX, CounterScope.MAILBOX_BOUNCE, CounterScope.MAILBOX_COMPLAINT)
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
        sent=max(0, int(sums.get(CounterScope.MAILBOX) or 0) - int(row.phase_sent_base)),
        bounced=max(
            0, int(sums.get(CounterScope.MAILBOX_BOUNCE) or 0) - int(row.phase_bounced_base)
        ),
        complaints=max(
            0, int(sums.get(CounterScope.MAILBOX_COMPLAINT) or 0) - int(row.phase_complaint_base)
        ),
    )


_DC = t.daily_counter
_COUNTERS_FROM = (
    select(_DC.c.scope, _DC.c.key, _DC.c.day, _DC.c.count)
    .where(
        _DC.c.scope.in_(SCOPES),
        _DC.c.key.in_(bindparam("keys", expanding=True)),
        _DC.c.day >= bindparam("start", type_=_DC.c.day.type),
    )
)  # fmt: skip


def counter_sums(conn: Connection, starts: dict[str, date]) -> dict[tuple[str, str], int]:
    """(scope, mailbox email) → the sum of its counters from the mailbox's start day on, for
    the monitor's scopes; one read of the counters' primary key for all of them."""
    sums: dict[tuple[str, str], int] = defaultdict(int)
    if not starts:
        return sums
    params = {"keys": list(starts), "start": min(starts.values())}
    for scope, key, day, count in conn.execute(_COUNTERS_FROM, params):
        if day >= starts[key]:
            sums[(scope, key)] += int(count)
    return sums


def phase_starts(rows: list[Any], settings: Settings) -> dict[str, date]:
    """mailbox email → the local day its phase began (the counters of that day on count)."""
    tz = settings.tz
    return {
        row.email: local_day(row.phase_changed_at, tz) if row.phase_changed_at else date.min
        for row in rows
    }


def rates_in_phase(rows: list[Any], sums: dict[tuple[str, str], int]) -> dict[int, Rates]:
    """Each mailbox's sends, bounces and complaints since its phase began, from
    `counter_sums` over `phase_starts`, less what the first day held before (the bases)."""
    return {
        row.id: Rates(
            sent=max(0, sums[(CounterScope.MAILBOX, row.email)] - int(row.phase_sent_base)),
            bounced=max(
                0, sums[(CounterScope.MAILBOX_BOUNCE, row.email)] - int(row.phase_bounced_base)
            ),
            complaints=max(
                0, sums[(CounterScope.MAILBOX_COMPLAINT, row.email)] - int(row.phase_complaint_base)
            ),
        )
        for row in rows
    }


def phase_rates_many(conn: Connection, rows: list[Any], settings: Settings) -> dict[int, Rates]:
    """`phase_rates` of many mailboxes in one read of the counters."""
    if not rows:
        return {}
    return rates_in_phase(rows, counter_sums(conn, phase_starts(rows, settings)))


def _window_sum(scope: str) -> Any:
    """A correlated subquery: this mailbox's counter `scope` summed over the window (a few
    seeks on the counters' primary key (scope, key, day), whatever the history's length)."""
    dc = t.daily_counter
    return (
        select(func.coalesce(func.sum(dc.c.count), 0))
        .where(
            dc.c.scope == scope,
            dc.c.key == _M.c.email,
            dc.c.day >= bindparam("since", type_=dc.c.day.type),
        )
        .scalar_subquery()
    )


_WINDOW = (
    select(
        _M.c.id,
        _M.c.email,
        _window_sum(CounterScope.MAILBOX).label("sent"),
        _window_sum(CounterScope.MAILBOX_BOUNCE).label("bounced"),
        _window_sum(CounterScope.MAILBOX_COMPLAINT).label("complaints"),
    )
    .where(
        _M.c.phase == MailboxPhase.HEALTHY.value,
        or_(
            _M.c.phase_changed_at.is_(None),
            _M.c.phase_changed_at < bindparam("cutoff", type_=_M.c.phase_changed_at.type),
        ),
    )
    # Materialized: inlined, the filter below would run each sum again per reference
    # (SQLite flattens the subquery; twice the index seeks).
    .cte("w")
    .prefix_with("MATERIALIZED")
)
_ATTEMPTED = _WINDOW.c.sent + _WINDOW.c.bounced
#: HEALTHY mailboxes whose window (the whole `window_days`) may warn or pause. The filter is
#: a superset of `core.recovery.assess`'s (the rate line lowered by a hair, so a float
#: rounded differently in SQL cannot hide a mailbox); assess decides on what comes back.
_WINDOW_CANDIDATES = select(_WINDOW).where(
    or_(
        _WINDOW.c.complaints >= bindparam("complaints"),
        and_(
            bindparam("min_sends") <= _ATTEMPTED,
            _WINDOW.c.bounced > _ATTEMPTED * bindparam("rate_floor", type_=Float()),
        ),
    )
)


def window_params(since: date, cutoff: datetime, rules: GuardRules) -> dict[str, Any]:
    return {
        "since": since,
        "cutoff": cutoff,
        "complaints": rules.pause_on_complaints,
        "min_sends": rules.min_sends,
        "rate_floor": max(0.0, min(rules.warn_rate, rules.pause_rate) - 1e-9),
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
        self._told: tuple[str, set[str]] = ("", set())
        """(local day, warning keys known to be told that day): a mailbox that stays in the
        warning band is not looked up again at every pass."""

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
        # A HEALTHY mailbox whose phase began after this instant has a shorter window (it
        # starts on the day it became HEALTHY).
        cutoff = day_start_utc(since + timedelta(days=1), tz)
        out = Assessment()
        with read_tx(self.db) as conn:
            crossing: list[tuple[Any, str, float]] = []
            flagged: list[tuple[Any, Verdict]] = []
            # Full-window mailboxes: only those that may warn or pause come back.
            for row in conn.execute(_WINDOW_CANDIDATES, window_params(since, cutoff, rules)):
                window = Rates(int(row.sent), int(row.bounced), int(row.complaints))
                flagged.append((row, assess(window, rules)))
            # The rest: recovering, out for health, and HEALTHY since inside the window.
            others = conn.execute(
                select(*MAILBOX_COLUMNS).where(
                    or_(_M.c.phase != MailboxPhase.HEALTHY.value, _M.c.phase_changed_at >= cutoff)
                )
            ).all()
            short = [box for box in others if box.phase == MailboxPhase.HEALTHY.value]
            in_recovery = [box for box in others if MailboxPhase(box.phase) in RECOVERING]
            # One read of the counters for both (a mailbox is in one phase or the other).
            starts = phase_starts(in_recovery, self.settings)
            starts.update(
                (box.email, max(since, local_day(box.phase_changed_at, tz))) for box in short
            )
            sums = counter_sums(conn, starts)
            for box in short:
                window = Rates(*(sums.get((scope, box.email), 0) for scope in SCOPES))
                flagged.append((box, assess(window, rules)))
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
            full = {
                box.id: box
                for box in conn.execute(
                    select(*MAILBOX_COLUMNS).where(_M.c.id.in_([mid for mid, _ in pausing]))
                )
            }
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
            campaigns = {
                row.id: row
                for row in conn.execute(
                    select(t.campaign.c.id, t.campaign.c.name, t.campaign.c.status)
                )
            }
            d = t.sending_domain
            domains = {row.id: row for row in conn.execute(select(d.c.id, d.c.name, d.c.paused))}
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
        today = local_day(now, self.settings.tz)
        day = today.isoformat()
        if self._told[0] != day:
            self._told = (day, set())
        known = self._told[1]
        warnings = [w for w in warnings if f"warn:{w[0].id}:{day}" not in known]
        if not warnings:
            return
        with write_tx(self.db) as conn:
            # Today's warnings of these mailboxes only (the key names the local day).
            told = {
                (data or {}).get("key")
                for (data,) in conn.execute(
                    select(t.event.c.data).where(
                        t.event.c.kind == "bounce_warning",
                        t.event.c.created_at >= day_start_utc(today, self.settings.tz),
                        t.event.c.subject_id.in_([str(box.id) for box, _, _ in warnings]),
                    )
                )
            }
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
                        f"{self.settings.monitor.pause_rate:.0%}",
                    )
                )  # fmt: skip
        # Committed: told before (by any process) or now, not looked up again today.
        known.update(f"warn:{box.id}:{day}" for box, _, _ in warnings)


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
