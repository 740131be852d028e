"""Sends interrupted in flight: attempts left in `sending` by a process that stopped.

The server may or may not have accepted such a message, so it is never resent blindly: the
attempt becomes `unknown` and its sequence waits for the operator, or for the Sent folder to
settle it (engine/inbox/reconcile.py). Two moments find them: start-up (`recover_interrupted`,
after a crash or a kill) and the take-over of a mailbox whose holder let its lease expire
(`settle_orphans`, called by the dispatcher).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Connection

from outreach_tui.core.states import ErrorClass
from outreach_tui.db.repos.attempts import mark_interrupted_unknown
from outreach_tui.db.repos.attempts_sending import enrollments_of
from outreach_tui.db.repos.enrollments import hold_queued_enrollments_of
from outreach_tui.db.repos.journal import write_event
from outreach_tui.engine.context import EngineContext
from outreach_tui.engine.sending import leases
from outreach_tui.engine.sending.outcomes import SHORT_MESSAGES
from outreach_tui.engine.sending.sequences import hold_enrollment

log = logging.getLogger(__name__)


def recover_interrupted(ctx: EngineContext) -> list[int]:
    """At start-up: attempts left `sending` by a crash become `unknown`; their ids."""
    now = ctx.clock.now()
    with ctx.db.write() as conn:
        # Another live process on this database (a console and a worker on one SQLite
        # file, workers on one PostgreSQL) may be sending right now: the attempts of the
        # mailboxes it holds are its sends in flight. The leases of local processes that
        # are gone are freed first, so what a dead process left is judged here.
        leases.release_dead_local(conn)
        found = mark_interrupted_unknown(conn, now, unless_leased=True)
        # Their sequences wait for the operator (or the Sent folder), as after any
        # unknown outcome; left `queued` they would wait for nothing, unseen.
        if found:
            reason = SHORT_MESSAGES[ErrorClass.UNKNOWN_OUTCOME]
            hold_queued_enrollments_of(conn, found, reason, now)
        for attempt_id in found:
            write_event(
                conn,
                kind="attempt_unknown",
                severity="warning",
                subject_type="attempt",
                subject_id=attempt_id,
                message="a send was interrupted; its outcome is unknown and it will not be "
                "resent automatically",
                at=now,
            )
    if found:
        log.warning("marked %d interrupted attempts as unknown: %s", len(found), found)
    return found


def settle_orphans(conn: Connection, mailbox_ids: list[int], now: datetime) -> None:
    """Mailboxes taken over from a holder whose lease expired (it died, or stalled): its
    sends in flight may or may not have gone out, so they become `unknown` (never re-sent
    blindly) and their sequences wait for the operator, as after a crash."""
    found = mark_interrupted_unknown(conn, now, mailbox_ids=mailbox_ids)
    if not found:
        return
    reason = "the process sending it stopped; outcome unknown, not resent"
    for enrollment_id in enrollments_of(conn, found):
        hold_enrollment(conn, enrollment_id, reason, now)
    for attempt_id in found:
        write_event(
            conn, kind="attempt_unknown", severity="warning", subject_type="attempt",
            subject_id=attempt_id, at=now, message=reason,
        )  # fmt: skip
    log.warning(
        "took over mailboxes %s: %d sends in flight marked unknown", mailbox_ids, len(found)
    )
