"""The monitor: watches each mailbox's bounce and complaint rates and pauses the ones that
cross the line (DESIGN.md: warn above 3 %, pause above 5 % after a minimum number of sends,
any complaint pauses). Pausing costs resilience, starts a cooldown (24 h, 72 h on a second
offence, 7 days from the third) and is a compare-and-set on the mailbox's version.

Modes: observe (log only), suggest (an event the operator can act on), enforce (act).
The staged recovery and the domain/campaign correlation build on this.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, update

from outreach_tui.config import Settings
from outreach_tui.core.days import local_day
from outreach_tui.core.states import MailboxPhase
from outreach_tui.db import ledger
from outreach_tui.db import tables as t
from outreach_tui.db.session import read_tx, write_tx
from outreach_tui.engine.clock import Clock
from outreach_tui.engine.pool import BOUNCE_WINDOW_DAYS, SCOPE_MAILBOX, SCOPE_MAILBOX_BOUNCE

log = logging.getLogger(__name__)

WARN_RATE = 0.03
PAUSE_RATE = 0.05
MIN_SENDS = 20
RESILIENCE_COST = 15
SCOPE_MAILBOX_COMPLAINT = "mailbox_complaint"


def cooldown_for(offences: int) -> timedelta:
    """24 h for a first offence, 72 h for a second, 7 days from the third."""
    return timedelta(hours=24 if offences <= 1 else 72 if offences == 2 else 24 * 7)


@dataclass
class MonitorReport:
    paused: list[str] = field(default_factory=list)
    warned: list[str] = field(default_factory=list)
    suggested: list[str] = field(default_factory=list)


class Monitor:
    def __init__(self, db: Engine, settings: Settings, clock: Clock, operator_id: str) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.operator_id = operator_id
        self._warned: set[str] = set()

    def tick(self) -> MonitorReport:
        report = MonitorReport()
        now = self.clock.now()
        mode = self.settings.monitor.mode
        since = local_day(now, self.settings.tz) - timedelta(days=BOUNCE_WINDOW_DAYS - 1)
        with read_tx(self.db) as conn:
            totals: dict[tuple[str, str], int] = {}
            for scope, key, count in conn.execute(
                select(
                    t.daily_counter.c.scope, t.daily_counter.c.key, t.daily_counter.c.count
                ).where(
                    t.daily_counter.c.scope.in_(
                        [SCOPE_MAILBOX, SCOPE_MAILBOX_BOUNCE, SCOPE_MAILBOX_COMPLAINT]
                    ),
                    t.daily_counter.c.day >= since,
                )
            ):
                totals[(scope, key)] = totals.get((scope, key), 0) + int(count)
            boxes = conn.execute(
                select(
                    t.mailbox.c.id,
                    t.mailbox.c.email,
                    t.mailbox.c.version,
                    t.mailbox.c.offence_count,
                    t.mailbox.c.resilience_score,
                ).where(t.mailbox.c.phase == MailboxPhase.HEALTHY.value)
            ).all()
        for box in boxes:
            sent = totals.get((SCOPE_MAILBOX, box.email), 0)
            bounced = totals.get((SCOPE_MAILBOX_BOUNCE, box.email), 0)
            complaints = totals.get((SCOPE_MAILBOX_COMPLAINT, box.email), 0)
            attempted = sent + bounced
            rate = bounced / attempted if attempted else 0.0
            reason = None
            if complaints:
                reason = f"{complaints} spam complaint(s)"
            elif attempted >= MIN_SENDS and rate > PAUSE_RATE:
                reason = f"bounce rate {rate:.1%} over {attempted} sends (limit {PAUSE_RATE:.0%})"
            elif attempted >= MIN_SENDS and rate > WARN_RATE and box.email not in self._warned:
                self._warned.add(box.email)
                report.warned.append(box.email)
                self._event(
                    "bounce_warning",
                    "warning",
                    box.id,
                    f"{box.email}: bounce rate {rate:.1%} above {WARN_RATE:.0%}",
                )
            if reason is None:
                continue
            if mode == "observe":
                log.warning("monitor (observe): would pause %s: %s", box.email, reason)
            elif mode == "suggest":
                report.suggested.append(box.email)
                self._event(
                    "suggestion", "warning", box.id, f"suggest pausing {box.email}: {reason}"
                )
            elif self._pause(box, reason, now):
                report.paused.append(box.email)
        return report

    def _event(self, kind: str, severity: str, mailbox_id: int, message: str) -> None:
        with write_tx(self.db) as conn:
            ledger.write_event(
                conn,
                kind=kind,
                severity=severity,
                subject_type="mailbox",
                subject_id=mailbox_id,
                message=message,
                at=self.clock.now(),
            )

    def _pause(self, box: Any, reason: str, now: datetime) -> bool:
        offences = int(box.offence_count) + 1
        with write_tx(self.db) as conn:
            changed = conn.execute(
                update(t.mailbox)
                .where(
                    t.mailbox.c.id == box.id,
                    t.mailbox.c.version == box.version,
                    t.mailbox.c.phase == MailboxPhase.HEALTHY.value,
                )
                .values(
                    phase=MailboxPhase.PAUSED.value,
                    phase_changed_at=now,
                    paused_reason=reason,
                    offence_count=offences,
                    cooldown_until=now + cooldown_for(offences),
                    resilience_score=max(0, int(box.resilience_score) - RESILIENCE_COST),
                    version=t.mailbox.c.version + 1,
                )
            ).rowcount
            if changed:
                email = box.email
                ledger.write_event(
                    conn,
                    kind="mailbox_paused",
                    severity="critical",
                    subject_type="mailbox",
                    subject_id=box.id,
                    at=now,
                    message=f"{email} paused: {reason}; cooldown {cooldown_for(offences)}",
                )
                ledger.write_audit(
                    conn,
                    user_id=self.operator_id,
                    policy_result="mailbox_paused",
                    reason=f"monitor: {email}: {reason}",
                    at=now,
                    sender_email=email,
                )
                log.warning("monitor paused %s: %s", email, reason)
        return bool(changed)
