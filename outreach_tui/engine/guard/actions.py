"""What the deliverability guard decides, as values: a `GuardAction` (move a mailbox, pause or
resume a sending domain, pause a campaign), what became of a batch of them (`Outcome`), and
the guard's modes. Serialisable, so a suggestion's event carries its action and the operator
can accept it later (engine/guard/actor.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from outreach_tui.config import Settings
from outreach_tui.core.recovery import GuardRules, Transition
from outreach_tui.core.states import MailboxPhase, Severity
from outreach_tui.engine.guard.alerts import Alert

Mode = Literal["observe", "suggest", "enforce"]
MODES: tuple[Mode, ...] = ("observe", "suggest", "enforce")
#: A domain or campaign the guard paused says so in its reason (the healer resumes only those).
GUARD_PREFIX = "guard: "


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

    @property
    def subject_type(self) -> str:
        """The `subject_type` of its events: mailbox, domain or campaign."""
        return {"mailbox": "mailbox", "campaign_pause": "campaign"}.get(self.type, "domain")

    def describe(self) -> str:
        if self.transition is not None:
            return f"{self.label}: {self.transition.describe()}"
        verb = {"domain_pause": "pause domain", "domain_resume": "resume domain"}.get(
            self.type, "pause campaign"
        )
        return f"{verb} {self.label}: {self.reason}"

    def done(self) -> str:
        """What carrying it out did, in words (an alert's "already done")."""
        tr = self.transition
        if tr is None:
            return {"domain_pause": "domain paused", "domain_resume": "domain resumed"}.get(
                self.type, "campaign paused; its mailboxes keep sending"
            )
        until = f" until {tr.cooldown_until:%Y-%m-%d %H:%M} UTC" if tr.cooldown_until else ""
        return f"moved to {tr.to_phase.value}{until}"

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
