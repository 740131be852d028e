"""What the deliverability guard (monitor and healer) does with a decision, by mode.

A decision is a `GuardAction` (engine/guard/actions.py): move a mailbox (a
`core.recovery.Transition`), pause or resume a sending domain, pause a campaign. The mode
says what happens to it:

- observe: an info event "guard_observed" says what would happen; nothing changes;
- suggest: an event "suggestion" carries the action; `accept_suggestion` applies it (the same
  compare-and-set as enforce, so a stale suggestion is refused), `dismiss_suggestion` drops it;
- enforce: applied at once (engine/guard/apply.py).

The mode is database state: the newest "monitor_mode" event, so a switch made in the console
reaches every process on the database at its next pass; without one, `[monitor] mode`
decides. Whoever needs the mode asks `GuardActor.mode()`; nothing writes it into `Settings`.
Every change is a compare-and-set and leaves an event and an audit row.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import Connection

from outreach_tui.config import Settings
from outreach_tui.core.errors import InputError
from outreach_tui.db.repos.journal import (
    acknowledge_event,
    event_of_kind,
    latest_event_data,
    open_event_keys,
    open_events,
    write_audit,
    write_event,
)
from outreach_tui.engine.context import EngineContext
from outreach_tui.engine.guard.actions import MODES, GuardAction, Mode, Outcome, Suggestion
from outreach_tui.engine.guard.apply import apply_action

# The console and the engine facade import the guard's values from here.
__all__ = ["GuardAction", "GuardActor", "Mode", "Suggestion", "current_mode"]

log = logging.getLogger(__name__)

MODE_EVENT = "monitor_mode"
SUGGESTION = "suggestion"
OBSERVED = "guard_observed"
#: Observe/suggest events older than this no longer hold back an identical new one.
DEDUPE_DAYS = 7


def current_mode(conn: Connection, settings: Settings) -> Mode:
    """The switch stored by `set_mode`, else `[monitor] mode`."""
    data = latest_event_data(conn, MODE_EVENT)
    if data is not None and data.get("mode") in MODES:
        return data["mode"]  # type: ignore[no-any-return]
    return settings.monitor.mode


class GuardActor:
    """Carries out guard decisions according to the mode (see the module docstring)."""

    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx

    def mode(self) -> Mode:
        """observe | suggest | enforce: the newest stored switch, else `[monitor] mode`."""
        with self.ctx.db.read() as conn:
            return current_mode(conn, self.ctx.settings)

    def set_mode(self, mode: str, operator: str | None = None) -> Mode:
        """Store the switch (an event and an audit row); every process reads it next pass."""
        if mode not in MODES:
            raise InputError(f"monitor mode {mode!r} is not one of {', '.join(MODES)}")
        who = operator or self.ctx.operator_id
        now = self.ctx.clock.now()
        with self.ctx.db.write() as conn:
            before = current_mode(conn, self.ctx.settings)
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
        now = self.ctx.clock.now()
        if mode != "enforce":
            kind = SUGGESTION if mode == "suggest" else OBSERVED
            with self.ctx.db.write() as conn:
                open_keys = open_event_keys(
                    conn, kind=kind, since=now - timedelta(days=DEDUPE_DAYS)
                )
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
                        subject_type=action.subject_type, subject_id=action.subject_id,
                        data=action.to_data(),
                    )  # fmt: skip
                    (outcome.suggested if mode == "suggest" else outcome.observed).append(action)
                    if mode == "suggest":
                        outcome.alerts.append(
                            action.alert("nothing yet: waiting for the operator", suggested=True)
                        )
            return outcome
        for action in actions:
            if self.apply(action, by=f"guard ({self.ctx.operator_id})"):
                outcome.applied.append(action)
                outcome.alerts.append(action.alert(action.done()))
            else:
                outcome.lost.append(action)
        return outcome

    def apply(self, action: GuardAction, *, by: str, shift: timedelta | None = None) -> bool:
        """Apply one action as a compare-and-set; False when its subject moved first."""
        now = self.ctx.clock.now()
        with self.ctx.db.write() as conn:
            return apply_action(conn, action, now=now, by=by, tz=self.ctx.tz, shift=shift)

    # -- suggestions ------------------------------------------------------------------------

    def accept_suggestion(self, event_id: int, operator: str) -> bool:
        """Apply the suggestion's action (compare-and-set: False when it went stale, e.g. the
        mailbox moved since) and close the suggestion; both audited under `operator`."""
        created_at, action = self._open_suggestion(event_id)
        # A cooldown runs from the acceptance, not from when the suggestion was made.
        applied = self.apply(action, by=operator, shift=self.ctx.clock.now() - created_at)
        self._close(event_id, operator, "accepted" if applied else "stale", action)
        return applied

    def dismiss_suggestion(self, event_id: int, operator: str) -> bool:
        """Drop the suggestion (audited); False if it was already closed."""
        _, action = self._open_suggestion(event_id)
        return self._close(event_id, operator, "dismissed", action)

    def open_suggestions(self, limit: int = 100) -> list[Suggestion]:
        """Suggestions nobody accepted or dismissed yet, newest first (the console's list)."""
        with self.ctx.db.read() as conn:
            events = open_events(conn, SUGGESTION, limit)
        return [
            Suggestion(e.id, e.created_at, e.message, GuardAction.from_data(e.data))
            for e in events
            if isinstance(e.data, dict)
        ]

    def _open_suggestion(self, event_id: int) -> tuple[datetime, GuardAction]:
        """(when it was made, its action) of an open suggestion; InputError otherwise."""
        with self.ctx.db.read() as conn:
            event = event_of_kind(conn, event_id, SUGGESTION)
        if event is None or not isinstance(event.data, dict):
            raise InputError(f"no suggestion with id {event_id}")
        if event.acknowledged:
            raise InputError(f"suggestion {event_id} was already accepted or dismissed")
        return event.created_at, GuardAction.from_data(event.data)

    def _close(self, event_id: int, operator: str, verdict: str, action: GuardAction) -> bool:
        now = self.ctx.clock.now()
        with self.ctx.db.write() as conn:
            if not acknowledge_event(conn, event_id, operator):
                return False
            write_event(
                conn, kind=f"suggestion_{verdict}", at=now,
                message=f"suggestion {event_id} {verdict} by {operator}: {action.describe()}",
                subject_type=action.subject_type, subject_id=action.subject_id,
                data={"suggestion": event_id, "by": operator},
            )  # fmt: skip
            write_audit(
                conn, user_id=operator, policy_result=f"suggestion_{verdict}",
                reason=f"suggestion {event_id}: {action.describe()}", at=now,
                sender_email=action.label if action.type == "mailbox" else None,
            )  # fmt: skip
        return True
