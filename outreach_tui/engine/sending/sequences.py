"""A lead's progress through a campaign: advance after a send, stop on a reply, bounce,
unsubscribe or suppression. Shared by the planner, the dispatcher, the approval queue and
the reply poller, so a sequence stops the same way whoever notices first.

The statements are in db/repos/enrollments.py (`stop_enrollment(s)` and `hold_enrollment`
are used from there as they are) and db/repos/attempts_planned.py.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from outreach_tui.core.bounds import days_later
from outreach_tui.core.states import EnrollmentState, LeadStatus
from outreach_tui.db.repos.attempts_planned import UNSENT_STATES, unsent_attempts, withdraw_attempts
from outreach_tui.db.repos.enrollments import (
    advance_enrollment,
    company_wide_campaign_ids,
    enrollment_progress,
    hold_enrollment,
    open_enrollment_ids,
    open_enrollment_ids_at_domain,
    stop_enrollment,
    stop_enrollments,
)
from outreach_tui.db.repos.journal import write_audit
from outreach_tui.db.repos.leads import lead_standing, set_lead_status

__all__ = [
    "UNSENT_STATES",
    "advance_after_send",
    "hold_enrollment",
    "stop_enrollment",
    "stop_enrollments",
    "stop_lead",
    "withdraw_unsent",
]


def advance_after_send(
    conn: Connection,
    *,
    enrollment_id: int,
    sent_position: int,
    message_id: str,
    subject: str,
    mailbox_id: int,
    sent_at: datetime,
) -> None:
    """Step `sent_position` went out: thread it, and schedule the next step (or finish)."""
    progress = enrollment_progress(conn, enrollment_id, next_position=sent_position + 1)
    if progress is None:
        return
    thread = [*(progress.thread_message_ids or []), message_id]
    first_subject = (
        subject if sent_position == 1 or progress.first_subject is None else progress.first_subject
    )
    state: str | None
    next_due_at: datetime | None = None
    if progress.state in (EnrollmentState.STOPPED.value, EnrollmentState.FINISHED.value):
        # A reply may already have stopped the sequence while this send was in flight.
        state = None
    elif progress.next_delay_days is None:
        state = EnrollmentState.FINISHED.value
    else:
        state = EnrollmentState.ACTIVE.value
        # Clamped: the message has gone out, so a stored delay beyond any date (written
        # before campaign files had bounds) must not stop this send from being recorded.
        next_due_at = days_later(sent_at, progress.next_delay_days)
    advance_enrollment(
        conn,
        enrollment_id=enrollment_id,
        next_step=sent_position + 1,
        thread_message_ids=thread,
        mailbox_id=mailbox_id,
        first_subject=first_subject,
        at=sent_at,
        state=state,
        next_due_at=next_due_at,
    )


def withdraw_unsent(
    conn: Connection,
    *,
    enrollment_ids: list[int],
    reason: str,
    operator_id: str,
    now: datetime,
) -> int:
    """Reject the unsent attempts of these enrollments (so a queued follow-up never races a
    reply). Returns how many were withdrawn."""
    if not enrollment_ids:
        return 0
    attempts = unsent_attempts(conn, enrollment_ids)
    if not attempts:
        return 0
    withdraw_attempts(conn, [a.id for a in attempts], reason=reason, at=now)
    for a in attempts:
        write_audit(
            conn,
            user_id=operator_id,
            policy_result="withdrawn",
            reason=reason,
            at=now,
            lead_email=a.recipient_email,
            sender_email=a.sender_email,
            subject=a.subject,
            attempt_id=a.id,
        )
    return len(attempts)


def stop_lead(
    conn: Connection,
    *,
    lead_id: int,
    reason: str,
    operator_id: str,
    now: datetime,
    lead_status: LeadStatus | None = None,
    company_wide: bool = False,
) -> int:
    """Stop every sequence of a lead (and, for campaigns that ask for it and when
    `company_wide`, of every lead at its domain). Returns the enrollments stopped."""
    lead = lead_standing(conn, lead_id)
    if lead is None:
        return 0
    if lead_status is not None and not LeadStatus(lead.status).final:
        set_lead_status(conn, lead_id, lead_status.value, now)
    enrollments = open_enrollment_ids(conn, lead_id)
    if company_wide and lead.domain:
        wide_campaigns = company_wide_campaign_ids(conn)
        if wide_campaigns:
            enrollments += open_enrollment_ids_at_domain(conn, lead.domain, wide_campaigns)
    unique = sorted(set(enrollments))
    stop_enrollments(conn, [(enrollment_id, reason) for enrollment_id in unique], now)
    withdraw_unsent(
        conn,
        enrollment_ids=unique,
        reason=f"sequence stopped: {reason}",
        operator_id=operator_id,
        now=now,
    )
    return len(unique)
