"""The guard's reads of a mailbox's health: its attempts, failures and complaints, over the
monitor's window or since its phase began, and which campaigns its failures came from.

The rates come from the daily counters (db/repos/counters.py `HEALTH_SCOPES`), each event
counted once by engine/sending/event_effects.py: sends the server accepted (`mailbox`),
refusals at SMTP time (`mailbox_bounce`, `mailbox_policy`: attempts and failures), reports
that came back later about accepted sends (`mailbox_bounce_report`, `mailbox_policy_report`:
failures only, their send was counted when it was accepted) and complaints. A few seeks on
the counters' primary key per mailbox, so neither the monitor's pass nor the healer's grows
with the history. Only the campaign breakdown of failing mailboxes reads the attempt ledger,
through its (mailbox_id, state) index.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from outreach_tui.core.days import local_day
from outreach_tui.core.recovery import GuardRules, MailboxState, Rates
from outreach_tui.core.states import AttemptState, ErrorClass, MailboxPhase
from outreach_tui.db.repos.attempts import bounce_reports_by_campaign, outcomes_by_campaign
from outreach_tui.db.repos.counters import (
    HEALTH_SCOPES,
    WindowFigures,
    health_counter_sums,
    window_candidates,
)
from outreach_tui.db.repos.mailboxes import MailboxPhaseRecord

#: Reply kinds (mail.inbound) that are a hard bounce of one of our messages.
BOUNCE_REPLY_KINDS = ("bounce_hard",)


def mailbox_state(box: MailboxPhaseRecord) -> MailboxState:
    return MailboxState(
        phase=MailboxPhase(box.phase),
        phase_changed_at=box.phase_changed_at,
        cooldown_until=box.cooldown_until,
        offence_count=int(box.offence_count),
        relapse_count=int(box.relapse_count),
        needs_review=bool(box.needs_review),
        resilience_score=int(box.resilience_score),
    )


def phase_starts(boxes: Sequence[MailboxPhaseRecord], tz: ZoneInfo) -> dict[str, date]:
    """mailbox email → the local day its phase began (the counters of that day on count)."""
    return {
        box.email: local_day(box.phase_changed_at, tz) if box.phase_changed_at else date.min
        for box in boxes
    }


def phase_bases(box: MailboxPhaseRecord) -> tuple[int, ...]:
    """What the counters of `HEALTH_SCOPES` held on the day the mailbox's phase began, before
    it began, in their order."""
    return (
        int(box.phase_sent_base),
        int(box.phase_bounced_base),
        int(box.phase_complaint_base),
        int(box.phase_policy_base),
        int(box.phase_bounce_report_base),
        int(box.phase_policy_report_base),
    )


def rates_in_phase(
    boxes: Sequence[MailboxPhaseRecord], sums: Mapping[tuple[str, str], int]
) -> dict[int, Rates]:
    """Each mailbox's figures since its phase began, from `health_counter_sums` over
    `phase_starts`, less what the first day held before (the bases)."""
    return {
        box.id: Rates(
            *(
                max(0, sums.get((scope, box.email), 0) - base)
                for scope, base in zip(HEALTH_SCOPES, phase_bases(box), strict=True)
            )
        )
        for box in boxes
    }


def phase_rates_many(
    conn: Connection, boxes: Sequence[MailboxPhaseRecord], tz: ZoneInfo
) -> dict[int, Rates]:
    """Sends, bounces and complaints since each mailbox's phase began, in one read of the
    counters."""
    if not boxes:
        return {}
    return rates_in_phase(boxes, health_counter_sums(conn, phase_starts(boxes, tz)))


def summed_rates(sums: Mapping[tuple[str, str], int], email: str) -> Rates:
    """The mailbox's sums of `health_counter_sums` as rates (no bases taken off)."""
    return Rates(*(sums.get((scope, email), 0) for scope in HEALTH_SCOPES))


def window_rates(figures: WindowFigures) -> Rates:
    """A full window's figures as rates: the SMTP-time refusals and the reports come summed
    (hard and policy together), which is all the verdict reads."""
    return Rates(
        sent=figures.sent,
        bounced=figures.refused,
        complaints=figures.complaints,
        bounce_reports=figures.reported,
    )


def full_window_candidates(
    conn: Connection, *, since: date, cutoff: datetime, rules: GuardRules
) -> list[WindowFigures]:
    """The mailboxes HEALTHY since before `cutoff` whose window (from `since` on) may warn or
    pause. The filter is a superset of `core.recovery.assess`'s (the rate line lowered by a
    hair, so a float rounded differently in SQL cannot hide a mailbox); assess decides on
    what comes back."""
    return window_candidates(
        conn,
        since=since,
        cutoff=cutoff,
        complaints=rules.pause_on_complaints,
        min_sends=rules.min_sends,
        rate_floor=max(0.0, min(rules.warn_rate, rules.pause_rate) - 1e-9),
    )


def campaign_breakdown(
    conn: Connection, mailbox_ids: list[int], since: datetime
) -> dict[int, dict[int, list[int]]]:
    """mailbox id → campaign id → [sent, bounced] since `since`, from the attempt ledger (its
    (mailbox_id, state) index) and the inbox's bounce reports linked to an attempt."""
    out: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    if not mailbox_ids:
        return out
    for row in outcomes_by_campaign(conn, mailbox_ids, since):
        if row.state == AttemptState.SENT.value:
            out[row.mailbox_id][row.campaign_id][0] += row.count
        elif row.error_class == ErrorClass.HARD_BOUNCE.value:
            out[row.mailbox_id][row.campaign_id][1] += row.count
    for report in bounce_reports_by_campaign(conn, mailbox_ids, BOUNCE_REPLY_KINDS, since):
        out[report.mailbox_id][report.campaign_id][1] += report.count
    return out
