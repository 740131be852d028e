"""What the deliverability guard (monitor and healer) does with a decision, by mode.

A decision is a `GuardAction`: move a mailbox (a `core.recovery.Transition`), pause or resume
a sending domain, pause a campaign. The mode says what happens to it:

- observe: an info event "guard_observed" says what would happen; nothing changes;
- suggest: an event "suggestion" carries the action; `accept_suggestion` applies it (the same
  compare-and-set as enforce, so a stale suggestion is refused), `dismiss_suggestion` drops it;
- enforce: applied at once.

The mode is stored as the newest "monitor_mode" event, so a switch made in the console reaches
every process on the database at its next pass; without one, `[monitor] mode` decides.
Every change is a compare-and-set (a mailbox on its `version` and phase, a domain on its
`paused` flag, a campaign on its status) and leaves an event and an audit row.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, Engine, select, update

from outreach_tui.config import Settings
from outreach_tui.core.days import local_day
from outreach_tui.core.errors import InputError
from outreach_tui.core.recovery import GuardRules, Transition
from outreach_tui.core.states import CampaignStatus, CounterScope, MailboxPhase, Severity
from outreach_tui.db import tables as t
from outreach_tui.db.repos.counters import counter_value
from outreach_tui.db.repos.journal import write_audit, write_event
from outreach_tui.db.session import read_tx, write_tx
from outreach_tui.engine.clock import Clock
from outreach_tui.engine.guard.alerts import Alert

log = logging.getLogger(__name__)

Mode = Literal["observe", "suggest", "enforce"]
MODES: tuple[Mode, ...] = ("observe", "suggest", "enforce")
MODE_EVENT = "monitor_mode"
SUGGESTION = "suggestion"
OBSERVED = "guard_observed"
#: A domain or campaign the guard paused says so in its reason (the healer resumes only those).
GUARD_PREFIX = "guard: "
#: Observe/suggest events older than this no longer hold back an identical new one.
DEDUPE_DAYS = 7


def guard_rules(settings: Settings) -> GuardRules:
    m = settings.monitor
    return GuardRules(
        min_sends=m.min_sends,
        warn_rate=m.warn_rate,
        pause_rate=m.pause_rate,
        pause_on_complaints=m.pause_on_complaints,
        resilience_cost=m.resilience_cost,
        cooldown_hours=tuple(m.cooldown_hours),
        restricted_clean_sends=m.restricted_clean_sends,
        restricted_clean_sends_repeat=m.restricted_clean_sends_repeat,
        recovery_min_days=m.recovery_min_days,
        recovery_max_rate=m.recovery_max_rate,
        recovery_min_sends=m.recovery_min_sends,
    )


def current_mode(conn: Connection, settings: Settings) -> Mode:
    """The switch stored by `set_mode`, else `[monitor] mode`."""
    data = conn.execute(
        select(t.event.c.data)
        .where(t.event.c.kind == MODE_EVENT)
        .order_by(t.event.c.id.desc())
        .limit(1)
    ).scalar()
    if isinstance(data, dict) and data.get("mode") in MODES:
        return data["mode"]  # type: ignore[no-any-return]
    return settings.monitor.mode


@dataclass(frozen=True)
class GuardAction:
    """One decision of the guard, serialisable into a suggestion's event data."""

    type: Literal["mailbox", "domain_pause", "domain_resume", "campaign_pause"]
    subject_id: int
    label: str
    """The mailbox address, domain name or campaign name."""
    reason: str
    transition: Transition | None = None
    version: int | None = None
    """The mailbox's version the transition was decided on (the compare-and-set)."""
    campaigns: tuple[int, ...] = ()
    """mailbox pauses: the campaigns it was sending for (recorded; it returns to them)."""
    campaign_names: tuple[str, ...] = ()
    rate: float | None = None

    @property
    def key(self) -> str:
        if self.transition is not None:
            return f"{self.type}:{self.subject_id}:v{self.version}:{self.transition.to_phase}"
        return f"{self.type}:{self.subject_id}"

    def describe(self) -> str:
        if self.transition is not None:
            return f"{self.label}: {self.transition.describe()}"
        verb = {"domain_pause": "pause domain", "domain_resume": "resume domain"}.get(
            self.type, "pause campaign"
        )
        return f"{verb} {self.label}: {self.reason}"

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "key": self.key,
            "type": self.type,
            "subject_id": self.subject_id,
            "label": self.label,
            "reason": self.reason,
            "campaigns": list(self.campaigns),
            "campaign_names": list(self.campaign_names),
            "rate": self.rate,
        }
        if self.transition is not None:
            tr = self.transition
            data["version"] = self.version
            data["transition"] = {
                "kind": tr.kind,
                "from": tr.from_phase.value,
                "to": tr.to_phase.value,
                "reason": tr.reason,
                "cooldown_until": tr.cooldown_until.isoformat() if tr.cooldown_until else None,
                "offence_count": tr.offence_count,
                "relapse_count": tr.relapse_count,
                "needs_review": tr.needs_review,
                "resilience_score": tr.resilience_score,
            }
        return data

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> GuardAction:
        raw = data.get("transition")
        transition = None
        if raw is not None:
            until = raw["cooldown_until"]
            transition = Transition(
                kind=raw["kind"],
                from_phase=MailboxPhase(raw["from"]),
                to_phase=MailboxPhase(raw["to"]),
                reason=raw["reason"],
                cooldown_until=datetime.fromisoformat(until) if until else None,
                offence_count=int(raw["offence_count"]),
                relapse_count=int(raw["relapse_count"]),
                needs_review=bool(raw["needs_review"]),
                resilience_score=int(raw["resilience_score"]),
            )
        return cls(
            type=data["type"],
            subject_id=int(data["subject_id"]),
            label=str(data["label"]),
            reason=str(data["reason"]),
            transition=transition,
            version=data.get("version"),
            campaigns=tuple(int(c) for c in data.get("campaigns") or ()),
            campaign_names=tuple(str(c) for c in data.get("campaign_names") or ()),
            rate=data.get("rate"),
        )

    def alert(self, done: str, *, suggested: bool = False) -> Alert:
        """`suggested`: not done, only proposed (SUGGEST mode); the title says so, so a
        chat message never reads as if the mailbox were already paused."""
        tr = self.transition
        bad = self.type in ("domain_pause", "campaign_pause") or (
            tr is not None and tr.kind in ("pause", "relapse")
        )
        return Alert(
            severity=Severity.CRITICAL if bad else Severity.INFO,
            key=f"{self.type}:{self.subject_id}:{tr.to_phase if tr else ''}",
            title=f"suggested: {self.describe()}" if suggested else self.describe(),
            subject_type="mailbox" if tr is not None else self.type.split("_")[0],
            subject_id=str(self.subject_id),
            mailbox=self.label if tr is not None else None,
            rate=self.rate,
            campaigns=self.campaign_names,
            action_taken=done,
        )


@dataclass(frozen=True)
class Suggestion:
    event_id: int
    created_at: datetime
    message: str
    action: GuardAction


@dataclass
class Outcome:
    applied: list[GuardAction] = field(default_factory=list)
    suggested: list[GuardAction] = field(default_factory=list)
    observed: list[GuardAction] = field(default_factory=list)
    lost: list[GuardAction] = field(default_factory=list)
    """Lost the compare-and-set: someone else moved the subject first."""
    alerts: list[Alert] = field(default_factory=list)


class GuardActor:
    """Carries out guard decisions according to the mode (see the module docstring)."""

    def __init__(self, db: Engine, settings: Settings, clock: Clock, operator_id: str) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.operator_id = operator_id

    def mode(self) -> Mode:
        with read_tx(self.db) as conn:
            return current_mode(conn, self.settings)

    def set_mode(self, mode: str, operator: str | None = None) -> Mode:
        if mode not in MODES:
            raise InputError(f"monitor mode {mode!r} is not one of {', '.join(MODES)}")
        who = operator or self.operator_id
        now = self.clock.now()
        with write_tx(self.db) as conn:
            before = current_mode(conn, self.settings)
            write_event(
                conn, kind=MODE_EVENT, message=f"monitor mode {before} → {mode} by {who}",
                at=now, data={"mode": mode, "from": before, "by": who},
            )  # fmt: skip
            write_audit(
                conn, user_id=who, policy_result="monitor_mode",
                reason=f"monitor mode {before} → {mode}", at=now,
            )  # fmt: skip
        return mode

    def carry_out(self, actions: Iterable[GuardAction], mode: Mode) -> Outcome:
        outcome = Outcome()
        actions = list(actions)
        if not actions:
            return outcome
        now = self.clock.now()
        if mode != "enforce":
            kind = SUGGESTION if mode == "suggest" else OBSERVED
            with write_tx(self.db) as conn:
                open_keys = _open_keys(conn, kind, now)
                for action in actions:
                    if action.key in open_keys:
                        continue
                    open_keys.add(action.key)
                    verb = "suggest" if mode == "suggest" else "would"
                    text = f"{verb}: {action.describe()}"
                    log.warning("guard (%s): %s", mode, text)
                    write_event(
                        conn, kind=kind, at=now, message=text,
                        severity="warning" if mode == "suggest" else "info",
                        subject_type=_subject_type(action), subject_id=action.subject_id,
                        data=action.to_data(),
                    )  # fmt: skip
                    (outcome.suggested if mode == "suggest" else outcome.observed).append(action)
                    if mode == "suggest":
                        outcome.alerts.append(
                            action.alert("nothing yet: waiting for the operator", suggested=True)
                        )
            return outcome
        for action in actions:
            if self.apply(action, by=f"guard ({self.operator_id})"):
                outcome.applied.append(action)
                outcome.alerts.append(action.alert(_done(action)))
            else:
                outcome.lost.append(action)
        return outcome

    def apply(self, action: GuardAction, *, by: str, shift: timedelta | None = None) -> bool:
        """Apply one action as a compare-and-set; False when its subject moved first."""
        now = self.clock.now()
        with write_tx(self.db) as conn:
            if action.type == "mailbox":
                return _apply_transition(conn, action, now, by, self.settings, shift)
            if action.type in ("domain_pause", "domain_resume"):
                return _set_domain(conn, action, now, by)
            return _pause_campaign(conn, action, now, by)

    # -- suggestions ------------------------------------------------------------------------

    def accept_suggestion(self, event_id: int, operator: str) -> bool:
        """Apply the suggestion's action (compare-and-set: False when it went stale, e.g. the
        mailbox moved since) and close the suggestion; both audited under `operator`."""
        row = self._open_suggestion(event_id)
        action = GuardAction.from_data(row.data)
        # A cooldown runs from the acceptance, not from when the suggestion was made.
        applied = self.apply(action, by=operator, shift=self.clock.now() - row.created_at)
        self._close(event_id, operator, "accepted" if applied else "stale", action)
        return applied

    def dismiss_suggestion(self, event_id: int, operator: str) -> bool:
        """Drop the suggestion (audited); False if it was already closed."""
        row = self._open_suggestion(event_id)
        return self._close(event_id, operator, "dismissed", GuardAction.from_data(row.data))

    def open_suggestions(self, limit: int = 100) -> list[Suggestion]:
        """Suggestions nobody accepted or dismissed yet, newest first (the console's list)."""
        with read_tx(self.db) as conn:
            rows = conn.execute(
                select(t.event.c.id, t.event.c.created_at, t.event.c.message, t.event.c.data)
                .where(t.event.c.kind == SUGGESTION, t.event.c.acknowledged.is_(False))
                .order_by(t.event.c.id.desc())
                .limit(limit)
            ).all()
        return [
            Suggestion(row.id, row.created_at, row.message, GuardAction.from_data(row.data))
            for row in rows
            if isinstance(row.data, dict)
        ]

    def _open_suggestion(self, event_id: int) -> Any:
        with read_tx(self.db) as conn:
            row = conn.execute(
                select(t.event.c.data, t.event.c.created_at, t.event.c.acknowledged).where(
                    t.event.c.id == event_id, t.event.c.kind == SUGGESTION
                )
            ).first()
        if row is None or not isinstance(row.data, dict):
            raise InputError(f"no suggestion with id {event_id}")
        if row.acknowledged:
            raise InputError(f"suggestion {event_id} was already accepted or dismissed")
        return row

    def _close(self, event_id: int, operator: str, verdict: str, action: GuardAction) -> bool:
        now = self.clock.now()
        with write_tx(self.db) as conn:
            closed = conn.execute(
                update(t.event)
                .where(t.event.c.id == event_id, t.event.c.acknowledged.is_(False))
                .values(acknowledged=True, acknowledged_by=operator)
            ).rowcount
            if not closed:
                return False
            write_event(
                conn, kind=f"suggestion_{verdict}", at=now,
                message=f"suggestion {event_id} {verdict} by {operator}: {action.describe()}",
                subject_type=_subject_type(action), subject_id=action.subject_id,
                data={"suggestion": event_id, "by": operator},
            )  # fmt: skip
            write_audit(
                conn, user_id=operator, policy_result=f"suggestion_{verdict}",
                reason=f"suggestion {event_id}: {action.describe()}", at=now,
                sender_email=action.label if action.type == "mailbox" else None,
            )  # fmt: skip
        return True


def _subject_type(action: GuardAction) -> str:
    return {"mailbox": "mailbox", "campaign_pause": "campaign"}.get(action.type, "domain")


def _done(action: GuardAction) -> str:
    tr = action.transition
    if tr is None:
        return {"domain_pause": "domain paused", "domain_resume": "domain resumed"}.get(
            action.type, "campaign paused; its mailboxes keep sending"
        )
    until = f" until {tr.cooldown_until:%Y-%m-%d %H:%M} UTC" if tr.cooldown_until else ""
    return f"moved to {tr.to_phase.value}{until}"


def _open_keys(conn: Connection, kind: str, now: datetime) -> set[str]:
    keys = set()
    for (data,) in conn.execute(
        select(t.event.c.data).where(
            t.event.c.kind == kind,
            t.event.c.acknowledged.is_(False),
            t.event.c.created_at >= now - timedelta(days=DEDUPE_DAYS),
        )
    ):
        if isinstance(data, dict) and "key" in data:
            keys.add(str(data["key"]))
    return keys


def _today_counts(conn: Connection, email: str, now: datetime, settings: Settings) -> list[int]:
    day = local_day(now, settings.tz)
    return [
        counter_value(conn, scope, email, day)
        for scope in (
            CounterScope.MAILBOX,
            CounterScope.MAILBOX_BOUNCE,
            CounterScope.MAILBOX_COMPLAINT,
        )
    ]


def _apply_transition(
    conn: Connection,
    action: GuardAction,
    now: datetime,
    by: str,
    settings: Settings,
    shift: timedelta | None,
) -> bool:
    tr = action.transition
    assert tr is not None and action.version is not None
    cooldown = tr.cooldown_until
    if cooldown is not None and shift is not None and shift > timedelta(0):
        cooldown += shift
    sent, bounced, complaints = _today_counts(conn, action.label, now, settings)
    values: dict[str, Any] = {
        "phase": tr.to_phase.value,
        "phase_changed_at": now,
        "cooldown_until": cooldown,
        "offence_count": tr.offence_count,
        "relapse_count": tr.relapse_count,
        "needs_review": tr.needs_review,
        "resilience_score": tr.resilience_score,
        "clean_sends_in_phase": 0,
        # "Sends in this phase" = the counters from today on, less what today held already.
        "phase_sent_base": sent,
        "phase_bounced_base": bounced,
        "phase_complaint_base": complaints,
        "version": action.version + 1,
    }
    if tr.kind != "progress":
        values["paused_reason"] = tr.reason
    elif tr.to_phase is MailboxPhase.HEALTHY:
        values["paused_reason"] = None
    recorded: list[int] = []
    if tr.kind == "pause":
        values["paused_campaigns"] = list(action.campaigns)
    elif tr.to_phase is MailboxPhase.HEALTHY:
        values["paused_campaigns"] = None
        recorded = list(
            conn.execute(
                select(t.mailbox.c.paused_campaigns).where(t.mailbox.c.id == action.subject_id)
            ).scalar()
            or ()
        )
    changed = conn.execute(
        update(t.mailbox)
        .where(
            t.mailbox.c.id == action.subject_id,
            t.mailbox.c.version == action.version,
            t.mailbox.c.phase == tr.from_phase.value,
        )
        .values(**values)
    ).rowcount
    if not changed:
        return False
    back = ""
    if tr.to_phase is MailboxPhase.HEALTHY:
        names = _campaign_names(conn, recorded)
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


def _campaign_names(conn: Connection, ids: list[int]) -> list[str]:
    if not ids:
        return []
    return sorted(conn.execute(select(t.campaign.c.name).where(t.campaign.c.id.in_(ids))).scalars())


def _set_domain(conn: Connection, action: GuardAction, now: datetime, by: str) -> bool:
    pause = action.type == "domain_pause"
    changed = conn.execute(
        update(t.sending_domain)
        .where(t.sending_domain.c.id == action.subject_id, t.sending_domain.c.paused != pause)
        .values(
            paused=pause,
            paused_reason=f"{GUARD_PREFIX}{action.reason}" if pause else None,
            paused_at=now if pause else None,
        )
    ).rowcount
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
    return bool(changed)


def _pause_campaign(conn: Connection, action: GuardAction, now: datetime, by: str) -> bool:
    changed = conn.execute(
        update(t.campaign)
        .where(
            t.campaign.c.id == action.subject_id,
            t.campaign.c.status == CampaignStatus.ACTIVE.value,
        )
        .values(status=CampaignStatus.PAUSED.value, paused_reason=f"{GUARD_PREFIX}{action.reason}")
    ).rowcount
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
    return bool(changed)


class EventAlertSink:
    """The alert sink until the engine's `Alerter` (console + Telegram + Slack) is wired in:
    each alert becomes an "alert" event, which the console shows."""

    def __init__(self, db: Engine, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def send(self, alert: Alert) -> bool:
        await asyncio.to_thread(self._record, alert)
        return True

    def _record(self, alert: Alert) -> None:
        with write_tx(self.db) as conn:
            write_event(
                conn, kind="alert", severity=alert.severity.value, at=self.clock.now(),
                message=f"{alert.title} — {alert.action_taken}" if alert.action_taken
                else alert.title,
                subject_type=alert.subject_type, subject_id=alert.subject_id,
                data={"key": alert.key, "mailbox": alert.mailbox, "rate": alert.rate,
                      "campaigns": list(alert.campaigns), "action_taken": alert.action_taken},
            )  # fmt: skip


class ListAlertSink:
    """Keeps alerts in a list (tests, the sandbox)."""

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    async def send(self, alert: Alert) -> bool:
        self.alerts.append(alert)
        return True
