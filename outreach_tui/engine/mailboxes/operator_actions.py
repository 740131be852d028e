"""What an operator does by hand to mailboxes, sending domains and replies.

Every action is audited under the operator's OS login. A mailbox's phase changes by
compare-and-set on its `version`, so a console and a worker (or the monitor) never both
move one mailbox.
"""

from __future__ import annotations

from outreach_tui.core.errors import InputError
from outreach_tui.core.states import MailboxPhase
from outreach_tui.db.repos.journal import acknowledge_event, write_audit, write_event
from outreach_tui.db.repos.mailboxes import mailbox_phases_by_id, set_phase_by_hand
from outreach_tui.db.repos.replies import reply_sender, set_reply_handled
from outreach_tui.db.repos.sending_domains import sending_domain_name, set_domain_paused
from outreach_tui.engine.context import EngineContext


class OperatorActions:
    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx
        self.db = ctx.db
        self.clock = ctx.clock
        self.operator_id = ctx.operator_id

    def set_mailbox_phase(self, mailbox_id: int, phase: MailboxPhase, *, reason: str) -> bool:
        """Move a mailbox to `phase` (compare-and-set); False if it changed under us or was
        already there."""
        now = self.clock.now()
        with self.db.write() as conn:
            found = mailbox_phases_by_id(conn, [mailbox_id])
            if not found:
                raise InputError(f"no mailbox with id {mailbox_id}")
            row = found[0]
            if row.phase == phase.value:
                return False
            paused = phase is MailboxPhase.PAUSED
            changed = set_phase_by_hand(
                conn,
                mailbox_id,
                version=row.version,
                phase=phase.value,
                at=now,
                paused_reason=reason if paused else None,
            )
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
        with self.db.write() as conn:
            name = sending_domain_name(conn, domain_id)
            if name is None:
                raise InputError(f"no sending domain with id {domain_id}")
            changed = set_domain_paused(
                conn,
                domain_id,
                paused=paused,
                reason=(reason or "paused by operator") if paused else None,
                at=now if paused else None,
            )
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
        with self.db.write() as conn:
            row = reply_sender(conn, reply_id)
            if row is None:
                raise InputError(f"no reply with id {reply_id}")
            changed = set_reply_handled(conn, reply_id, handled)
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
        with self.db.write() as conn:
            return acknowledge_event(conn, event_id, self.operator_id)
