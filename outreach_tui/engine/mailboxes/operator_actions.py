"""What an operator does by hand to mailboxes, sending domains and replies.

Every action is audited under the operator's OS login. A mailbox's phase changes by
compare-and-set on its `version`, so a console and a worker (or the monitor) never both
move one mailbox.
"""

from __future__ import annotations

from sqlalchemy import Engine, select, update

from outreach_tui.core.errors import InputError
from outreach_tui.core.states import MailboxPhase
from outreach_tui.db import tables as t
from outreach_tui.db.repos.journal import write_audit, write_event
from outreach_tui.db.session import write_tx
from outreach_tui.engine.clock import Clock


class OperatorActions:
    def __init__(self, db: Engine, clock: Clock, operator_id: str) -> None:
        self.db = db
        self.clock = clock
        self.operator_id = operator_id

    def set_mailbox_phase(self, mailbox_id: int, phase: MailboxPhase, *, reason: str) -> bool:
        """Move a mailbox to `phase` (compare-and-set); False if it changed under us or was
        already there."""
        now = self.clock.now()
        with write_tx(self.db) as conn:
            row = conn.execute(
                select(t.mailbox.c.email, t.mailbox.c.phase, t.mailbox.c.version).where(
                    t.mailbox.c.id == mailbox_id
                )
            ).first()
            if row is None:
                raise InputError(f"no mailbox with id {mailbox_id}")
            if row.phase == phase.value:
                return False
            paused = phase is MailboxPhase.PAUSED
            changed = conn.execute(
                update(t.mailbox)
                .where(t.mailbox.c.id == mailbox_id, t.mailbox.c.version == row.version)
                .values(
                    phase=phase.value,
                    phase_changed_at=now,
                    version=row.version + 1,
                    paused_reason=reason if paused else None,
                    cooldown_until=None,
                    clean_sends_in_phase=0,
                )
            ).rowcount
            if not changed:
                return False
            write_event(
                conn,
                kind="phase_change",
                severity="warning" if paused else "info",
                subject_type="mailbox",
                subject_id=mailbox_id,
                at=now,
                message=f"{row.email}: {row.phase} → {phase.value} by {self.operator_id}"
                + (f" ({reason})" if reason else ""),
                data={"from": row.phase, "to": phase.value, "by": self.operator_id},
            )
            write_audit(
                conn,
                user_id=self.operator_id,
                policy_result=f"mailbox_{phase.value.lower()}",
                reason=f"{row.email}: {row.phase} → {phase.value}"
                + (f": {reason}" if reason else ""),
                at=now,
                sender_email=row.email,
            )
        return True

    def pause_mailbox(self, mailbox_id: int, reason: str = "paused by operator") -> bool:
        return self.set_mailbox_phase(mailbox_id, MailboxPhase.PAUSED, reason=reason)

    def resume_mailbox(self, mailbox_id: int) -> bool:
        """An operator's resume: straight back to HEALTHY (the automatic path walks the
        staged recovery instead)."""
        return self.set_mailbox_phase(mailbox_id, MailboxPhase.HEALTHY, reason="")

    def set_domain_paused(self, domain_id: int, paused: bool, reason: str = "") -> bool:
        now = self.clock.now()
        with write_tx(self.db) as conn:
            name = conn.execute(
                select(t.sending_domain.c.name).where(t.sending_domain.c.id == domain_id)
            ).scalar()
            if name is None:
                raise InputError(f"no sending domain with id {domain_id}")
            changed = conn.execute(
                update(t.sending_domain)
                .where(t.sending_domain.c.id == domain_id, t.sending_domain.c.paused != paused)
                .values(
                    paused=paused,
                    paused_reason=(reason or "paused by operator") if paused else None,
                    paused_at=now if paused else None,
                )
            ).rowcount
            if changed:
                verb = "paused" if paused else "resumed"
                write_event(
                    conn,
                    kind="domain_paused" if paused else "domain_resumed",
                    severity="warning" if paused else "info",
                    subject_type="domain",
                    subject_id=domain_id,
                    at=now,
                    message=f"{name} {verb} by {self.operator_id}",
                )
                write_audit(
                    conn,
                    user_id=self.operator_id,
                    policy_result=f"domain_{verb}",
                    reason=f"{name} {verb}",
                    at=now,
                )
        return bool(changed)

    def mark_reply_handled(self, reply_id: int, handled: bool = True) -> bool:
        now = self.clock.now()
        with write_tx(self.db) as conn:
            row = conn.execute(select(t.reply.c.from_email).where(t.reply.c.id == reply_id)).first()
            if row is None:
                raise InputError(f"no reply with id {reply_id}")
            changed = conn.execute(
                update(t.reply)
                .where(t.reply.c.id == reply_id, t.reply.c.handled != handled)
                .values(handled=handled)
            ).rowcount
            if changed:
                write_audit(
                    conn,
                    user_id=self.operator_id,
                    policy_result="reply_handled" if handled else "reply_reopened",
                    reason=f"reply {reply_id}",
                    at=now,
                    lead_email=row.from_email,
                )
        return bool(changed)

    def acknowledge_event(self, event_id: int) -> bool:
        with write_tx(self.db) as conn:
            return bool(
                conn.execute(
                    update(t.event)
                    .where(t.event.c.id == event_id, t.event.c.acknowledged.is_(False))
                    .values(acknowledged=True, acknowledged_by=self.operator_id)
                ).rowcount
            )
