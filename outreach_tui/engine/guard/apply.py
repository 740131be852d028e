"""Carrying out one `GuardAction` inside a write transaction: a compare-and-set on its subject
(a mailbox on its `version` and phase, a sending domain on its `paused` flag, a campaign on
its status), then an event and an audit row when it went through. Whoever lost the race
(another process moved the subject first) changes nothing and hears False."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from outreach_tui.core.days import local_day
from outreach_tui.core.states import CampaignStatus, MailboxPhase
from outreach_tui.db.repos.campaigns import campaign_names, set_campaign_status
from outreach_tui.db.repos.counters import HEALTH_SCOPES, counter_value
from outreach_tui.db.repos.journal import write_audit, write_event
from outreach_tui.db.repos.mailboxes import KEEP, Keep, PhaseChange, move_phase, paused_campaigns_of
from outreach_tui.db.repos.sending_domains import set_domain_paused
from outreach_tui.engine.guard.actions import GUARD_PREFIX, GuardAction

log = logging.getLogger(__name__)


def apply_action(
    conn: Connection,
    action: GuardAction,
    *,
    now: datetime,
    by: str,
    tz: ZoneInfo,
    shift: timedelta | None = None,
) -> bool:
    """Apply `action` (audited as `by`); False when its subject moved first. `shift`: how
    much later than decided it is applied (a cooldown runs from now, not from the decision)."""
    if action.type == "mailbox":
        return _move_mailbox(conn, action, now, by, tz, shift)
    if action.type in ("domain_pause", "domain_resume"):
        return _set_domain(conn, action, now, by)
    return _pause_campaign(conn, action, now, by)


def _move_mailbox(
    conn: Connection,
    action: GuardAction,
    now: datetime,
    by: str,
    tz: ZoneInfo,
    shift: timedelta | None,
) -> bool:
    tr = action.transition
    assert tr is not None and action.version is not None
    cooldown = tr.cooldown_until
    if cooldown is not None and shift is not None and shift > timedelta(0):
        cooldown += shift
    day = local_day(now, tz)
    # "Sends in this phase" = the counters from today on, less what today held already.
    sent, bounced, complaints, policy, bounce_reports, policy_reports = (
        counter_value(conn, s, action.label, day) for s in HEALTH_SCOPES
    )
    paused_reason: str | Keep | None = KEEP
    if tr.kind != "progress":
        paused_reason = tr.reason
    elif tr.to_phase is MailboxPhase.HEALTHY:
        paused_reason = None
    paused_campaigns: list[int] | Keep | None = KEEP
    recorded: list[int] = []
    if tr.kind == "pause":
        paused_campaigns = list(action.campaigns)
    elif tr.to_phase is MailboxPhase.HEALTHY:
        paused_campaigns = None
        recorded = paused_campaigns_of(conn, action.subject_id)
    change = PhaseChange(
        phase=tr.to_phase.value,
        changed_at=now,
        cooldown_until=cooldown,
        offence_count=tr.offence_count,
        relapse_count=tr.relapse_count,
        needs_review=tr.needs_review,
        resilience_score=tr.resilience_score,
        sent_base=sent,
        bounced_base=bounced,
        complaint_base=complaints,
        paused_reason=paused_reason,
        paused_campaigns=paused_campaigns,
        policy_base=policy,
        bounce_report_base=bounce_reports,
        policy_report_base=policy_reports,
    )
    moved = move_phase(
        conn, action.subject_id, version=action.version, from_phase=tr.from_phase.value,
        change=change,
    )  # fmt: skip
    if not moved:
        return False
    back = ""
    if tr.to_phase is MailboxPhase.HEALTHY:
        names = campaign_names(conn, recorded)
        back = f"; back in rotation for {', '.join(names)}" if names else ""
    severity = "critical" if tr.kind != "progress" else "info"
    write_event(
        conn, kind="phase_change", severity=severity, subject_type="mailbox",
        subject_id=action.subject_id, at=now,
        message=f"{action.label}: {tr.describe()}{back} (by {by})",
        data={"from": tr.from_phase.value, "to": tr.to_phase.value, "kind": tr.kind,
              "reason": tr.reason, "by": by, "rate": action.rate,
              "campaigns": list(action.campaigns)},
    )  # fmt: skip
    write_audit(
        conn, user_id=by, policy_result=f"mailbox_{tr.to_phase.value.lower()}",
        reason=f"{action.label}: {tr.describe()}", at=now, sender_email=action.label,
    )  # fmt: skip
    log.warning("guard: %s: %s (by %s)", action.label, tr.describe(), by)
    return True


def _set_domain(conn: Connection, action: GuardAction, now: datetime, by: str) -> bool:
    pause = action.type == "domain_pause"
    changed = set_domain_paused(
        conn, action.subject_id, paused=pause,
        reason=f"{GUARD_PREFIX}{action.reason}" if pause else None, at=now if pause else None,
    )  # fmt: skip
    if changed:
        verb = "paused" if pause else "resumed"
        write_event(
            conn, kind=f"domain_{verb}", severity="critical" if pause else "info",
            subject_type="domain", subject_id=action.subject_id, at=now,
            message=f"{action.label} {verb}: {action.reason} (by {by})",
            data={"reason": action.reason, "by": by},
        )  # fmt: skip
        write_audit(
            conn, user_id=by, policy_result=f"domain_{verb}",
            reason=f"{action.label} {verb}: {action.reason}", at=now,
        )  # fmt: skip
    return changed


def _pause_campaign(conn: Connection, action: GuardAction, now: datetime, by: str) -> bool:
    changed = set_campaign_status(
        conn, action.subject_id, CampaignStatus.PAUSED.value,
        allowed_from=(CampaignStatus.ACTIVE.value,),
        paused_reason=f"{GUARD_PREFIX}{action.reason}",
    )  # fmt: skip
    if changed:
        write_event(
            conn, kind="campaign_paused", severity="critical", subject_type="campaign",
            subject_id=action.subject_id, at=now,
            message=f"campaign {action.label!r} paused: {action.reason} (by {by})",
            data={"reason": action.reason, "by": by},
        )  # fmt: skip
        write_audit(
            conn, user_id=by, policy_result="campaign_paused",
            reason=f"campaign {action.label!r} paused: {action.reason}", at=now,
        )  # fmt: skip
    return changed
