"""Storing an inbound message and threading it to the attempt of ours it answers.

A message is stored once. Its reply row is unique by where it sits (mailbox, folder,
UIDVALIDITY, UID): a message found there already is a duplicate (`already_here`). One
already stored under another location (a re-scan after a UIDVALIDITY change, or a copy) is
recognised by its Message-ID (or, without one, the SHA-256 of its bytes) and only moved
(`move_if_stored`). Threading (`thread`) finds our attempt and the lead and address its
effects are about: a person's reply by the Message-IDs it names (In-Reply-To, References),
else by its sender and subject; a report (bounce, complaint, delivery report) only by what
matches something this mailbox was handed to send: one of our Message-IDs it quotes, else a
recipient it names that this mailbox sent to within `[replies] report_match_days`. A report
that matches nothing is tied to no attempt and no lead: an "unmatched report". What the
message then does is engine/inbox/effects.py; everything here runs in the caller's
transaction, with the chunk's lookups (engine/inbox/reply_lookups.py).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from sqlalchemy import Connection

from outreach_tui.core.event_effects import REPORT_KINDS, Match
from outreach_tui.db.repos.attempts_inbox import ThreadAttempt
from outreach_tui.db.repos.replies import NewReply, StoredReply, insert_reply, move_reply
from outreach_tui.engine.inbox.reply_lookups import ChunkLookups, clean
from outreach_tui.mail.inbound import InboundAnalysis

_RE_PREFIX = re.compile(
    r"^\s*((re|aw|sv|vs|antw|antwort|r|rif|ref|fw|fwd|wg|tr)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A message as the poller found it (or the sandbox made it)."""

    mailbox_id: int
    folder: str
    uidvalidity: int
    uid: int
    raw: bytes
    internaldate: datetime | None = None


@dataclass(frozen=True, slots=True)
class Applied:
    reply_id: int
    kind: str
    duplicate: bool = False
    attempt_id: int | None = None
    effects: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Thread:
    """Whom a message is about: our attempt it answers (None: threaded to none), the
    address its effects concern, that address's lead, and for a report how it was matched
    to a send of this mailbox (None: unmatched; it then has no attempt and no lead)."""

    attempt: ThreadAttempt | None
    affected: str | None
    lead_id: int | None
    match: Match | None = None
    report: bool = False


def base_subject(subject: str | None) -> str:
    """The subject without "Re:"/"AW:"/"Fwd:" prefixes, for matching a reply to our send."""
    return _RE_PREFIX.sub("", subject or "").strip().lower()


def reply_subject(subject: str | None) -> str:
    stripped = _RE_PREFIX.sub("", subject or "").strip()
    return f"Re: {stripped}" if stripped else "Re: your message"


def message_digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def already_here(lookups: ChunkLookups, message: InboundMessage) -> Applied | None:
    """The reply stored at this message's location, as a duplicate; None if there is none."""
    here = lookups.at_location.get((message.folder, message.uidvalidity, message.uid))
    return None if here is None else Applied(here.id, here.classification, duplicate=True)


def move_if_stored(
    conn: Connection,
    lookups: ChunkLookups,
    message: InboundMessage,
    message_id: str | None,
    digest: str,
) -> Applied | None:
    """A message already applied under an earlier UIDVALIDITY (or a copy of it): the stored
    reply now points at where the message is, and nothing is applied again."""
    seen = lookups.by_message_id.get(message_id) if message_id else lookups.by_digest.get(digest)
    if seen is None:
        return None
    move_reply(conn, seen.id, message.folder, message.uidvalidity, message.uid)
    lookups.at_location[(message.folder, message.uidvalidity, message.uid)] = seen
    return Applied(seen.id, seen.classification, duplicate=True)


def is_report(analysis: InboundAnalysis) -> bool:
    """A report about a send (a bounce, a complaint, a delivery report), not a reply."""
    return analysis.kind in REPORT_KINDS or analysis.delivery_status is not None


def thread(
    conn: Connection, lookups: ChunkLookups, analysis: InboundAnalysis, match_since: datetime
) -> Thread:
    """Our attempt a message is about. A person's reply: by the Message-IDs it names, else
    by its sender and subject. A report: only what matches something this mailbox sent
    (`ChunkLookups.report_thread`, recipients sent to since `match_since`); an unmatched
    one is tied to no attempt and no lead."""
    if is_report(analysis):
        attempt, match = lookups.report_thread(analysis, match_since)
        affected = affected_email(analysis, attempt)
        lead_id = attempt.lead_id if attempt is not None else None
        if lead_id is None and affected and match is not None:
            lead_id = lookups.lead_id(conn, affected)
        return Thread(attempt, affected, lead_id, match, report=True)
    attempt = lookups.thread(analysis, base_subject)
    affected = affected_email(analysis, attempt)
    lead_id = attempt.lead_id if attempt is not None else None
    if lead_id is None and affected:
        lead_id = lookups.lead_id(conn, affected)
    return Thread(attempt, affected, lead_id)


def store(
    conn: Connection,
    lookups: ChunkLookups,
    message: InboundMessage,
    analysis: InboundAnalysis,
    found: Thread,
    *,
    message_id: str | None,
    digest: str,
    handled: bool,
    review: str | None,
    now: datetime,
    counted: str | None = None,
    effect: str | None = None,
) -> int:
    """The reply row (sender-controlled strings cleaned and cut to their columns); later
    copies in the chunk find it. Its id."""
    reply_id = insert_reply(
        conn,
        NewReply(
            mailbox_id=lookups.mailbox_id,
            folder=message.folder,
            uidvalidity=message.uidvalidity,
            uid=message.uid,
            attempt_id=found.attempt.id if found.attempt is not None else None,
            lead_id=found.lead_id,
            message_id=message_id,
            from_email=clean((analysis.from_email or "").strip().lower(), 320) or None,
            subject=clean(analysis.subject, 2000),
            received_at=received_at(analysis.received_at, message.internaldate, now),
            classification=analysis.kind,
            classified_by=analysis.classified_by,
            return_date=analysis.return_date,
            snippet=clean(analysis.snippet, 1000),
            raw=message.raw,
            handled=handled,
            created_at=now,
            reason=clean(analysis.reason, 500),
            problem=clean(analysis.problem, 500),
            affected_email=found.affected,
            digest=digest,
            review=review,
            bounce_class=analysis.bounce_class,
            delivery_status=analysis.delivery_status,
            expired=analysis.expired,
            report_match=(found.match or "unmatched") if found.report else None,
            counted=counted,
            effect=clean(effect, 300),
        ),
    )
    location = (message.folder, message.uidvalidity, message.uid)
    lookups.stored(location, message_id, digest, StoredReply(reply_id, analysis.kind))
    return reply_id


def affected_email(analysis: InboundAnalysis, attempt: ThreadAttempt | None) -> str | None:
    """Whom the effects are about: a bounce's (or complaint's) failed recipient, else the
    sender; our attempt's recipient when the message does not say."""
    if analysis.kind in ("bounce_hard", "bounce_soft", "complaint"):
        if analysis.bounced_recipients:
            return clean(analysis.bounced_recipients[0].strip().lower(), 320)
        return attempt.recipient_email if attempt is not None else None
    if analysis.from_email:
        return clean(analysis.from_email.strip().lower(), 320)
    return attempt.recipient_email if attempt is not None else None


def received_at(header: str | None, internaldate: datetime | None, now: datetime) -> datetime:
    """The Date header in UTC; the arrival time (INTERNALDATE, else now) when it cannot be
    read or lies beyond what a datetime holds (31 Dec 9999 with a negative offset)."""
    if header:
        try:
            parsed = parsedate_to_datetime(header)
            return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except (TypeError, ValueError, IndexError, OverflowError):
            pass
    return internaldate or now
