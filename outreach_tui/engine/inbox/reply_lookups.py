"""What applying a chunk of inbound messages reads, read once for the whole chunk.

The poller applies `[replies] commit_batch` messages per transaction. Asked one message at a
time, each would cost a handful of lookups (is it stored already, our attempt by Message-ID,
by sender, the lead by address, the mailbox); `ChunkLookups.load` makes them once for all of
the chunk, and the messages then look up in memory. Only our side of the threads is read
ahead (attempts, leads, the mailbox): applying a message never creates or re-threads those,
so what a later message of the chunk sees is what it would have read itself. The replies the
chunk stores are added to the maps as they are stored, so a second copy of a message in the
same chunk is still recognised as one.

The reads are the repositories' batch lookups (db/repos/replies.py, attempts_inbox.py,
leads.py): one statement per kind of lookup for the whole chunk.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection

from outreach_tui.core.event_effects import Match
from outreach_tui.core.states import AttemptState
from outreach_tui.db.repos.attempts_inbox import (
    ThreadAttempt,
    attempts_by_message_id,
    attempts_sent_to,
)
from outreach_tui.db.repos.journal import AuditEntry, write_audits
from outreach_tui.db.repos.leads import lead_id_by_email, lead_ids_by_email
from outreach_tui.db.repos.mailboxes import mailbox_email_by_id
from outreach_tui.db.repos.replies import (
    StoredReply,
    replies_at,
    replies_by_digest,
    replies_by_message_id,
)
from outreach_tui.mail.inbound import InboundAnalysis

#: How many of our sends to one address are looked at when threading by sender and subject.
SENT_CANDIDATES = 50
#: Attempts the server was handed: a report can only be about one of these.
HANDED_OVER = frozenset({AttemptState.SENT.value, AttemptState.UNKNOWN.value})


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean(value: str | None, limit: int | None = None) -> str | None:
    """A sender-controlled string fit for a column: control characters (NUL above all, which
    PostgreSQL refuses in text) become U+FFFD; None stays None."""
    if value is None:
        return None
    value = _CONTROL.sub("\ufffd", value)
    return value[:limit] if limit else value


def bracketed(message_id: str | None) -> str | None:
    """Our attempts store Message-IDs as written in the header: with angle brackets."""
    if not message_id:
        return None
    value = clean(message_id.strip().strip("<>").strip(), 900)
    return f"<{value}>" if value else None


@dataclass
class ChunkLookups:
    """Reads for a chunk of messages of one mailbox, made once (see the module docstring)."""

    mailbox_id: int
    mailbox_email: str
    at_location: dict[tuple[str, int, int], StoredReply] = field(default_factory=dict)
    by_message_id: dict[str, StoredReply] = field(default_factory=dict)
    by_digest: dict[str, StoredReply] = field(default_factory=dict)
    attempts_by_message_id: dict[str, ThreadAttempt] = field(default_factory=dict)
    sent_to: dict[str, list[ThreadAttempt]] = field(default_factory=dict)
    lead_ids: dict[str, int | None] = field(default_factory=dict)
    audit_rows: list[AuditEntry] = field(default_factory=list)
    """Audit rows of the chunk, written together by `flush` (same transaction)."""

    @classmethod
    def load(
        cls,
        conn: Connection,
        mailbox_id: int,
        messages: Sequence[tuple[str, int, int, str | None, str]],
        analyses: Sequence[InboundAnalysis],
    ) -> ChunkLookups:
        """`messages`: (folder, uidvalidity, uid, bracketed Message-ID or None, digest)."""
        out = cls(mailbox_id=mailbox_id, mailbox_email=mailbox_email_by_id(conn, mailbox_id))
        out._load_stored(conn, messages)
        out._load_attempts(conn, analyses)
        return out

    def _load_stored(
        self, conn: Connection, messages: Sequence[tuple[str, int, int, str | None, str]]
    ) -> None:
        places: dict[tuple[str, int], list[int]] = {}
        for folder, uidvalidity, uid, _, _ in messages:
            places.setdefault((folder, uidvalidity), []).append(uid)
        for (folder, uidvalidity), uids in places.items():
            wanted = set(uids)
            found = replies_at(conn, self.mailbox_id, folder, uidvalidity, min(uids), max(uids))
            for uid, stored in found:
                if uid in wanted:
                    self.at_location[(folder, uidvalidity, uid)] = stored
        ids = sorted({m[3] for m in messages if m[3]})
        digests = sorted({m[4] for m in messages if not m[3]})
        for lookup, values, target in (
            (replies_by_message_id, ids, self.by_message_id),
            (replies_by_digest, digests, self.by_digest),
        ):
            if not values:
                continue
            # The oldest reply stored under a key is the one a later copy is taken for.
            for key, stored in sorted(lookup(conn, self.mailbox_id, values), key=_by_id):
                target.setdefault(key, stored)

    def _load_attempts(self, conn: Connection, analyses: Sequence[InboundAnalysis]) -> None:
        wanted = sorted({x for a in analyses for x in thread_ids(a)})
        if wanted:
            for attempt in attempts_by_message_id(conn, wanted):
                self.attempts_by_message_id[attempt.message_id] = attempt
        addresses = sorted(
            {
                x
                for a in analyses
                if not any(i in self.attempts_by_message_id for i in thread_ids(a))
                for x in fallback_addresses(a)
            }
        )
        if addresses:
            self.sent_to = {x: [] for x in addresses}
            for attempt in attempts_sent_to(conn, addresses, self.mailbox_id):  # newest first
                sent = self.sent_to[attempt.recipient_email]
                if len(sent) < SENT_CANDIDATES:
                    sent.append(attempt)
        emails = {x for a in analyses for x in affected_candidates(a)}
        emails.update(r.recipient_email for r in self.attempts_by_message_id.values())
        for sent_rows in self.sent_to.values():
            emails.update(r.recipient_email for r in sent_rows)
        emails.discard("")
        if emails:
            self.lead_ids = dict.fromkeys(emails)
            self.lead_ids.update(lead_ids_by_email(conn, sorted(emails)))

    # -- in-memory lookups -------------------------------------------------------------------

    def thread(
        self, analysis: InboundAnalysis, subject_key: Callable[[str | None], str]
    ) -> ThreadAttempt | None:
        """Our attempt `analysis` answers (or reports on), or None (engine/inbox/storing.py)."""
        for candidate in thread_ids(analysis):
            found = self.attempts_by_message_id.get(candidate)
            if found is not None:
                return found
        addresses = fallback_addresses(analysis)
        if not addresses:
            return None
        merged: dict[int, ThreadAttempt] = {}
        for address in addresses:
            for row in self.sent_to.get(address, ()):
                merged[row.id] = row
        sent = [merged[k] for k in sorted(merged, reverse=True)][:SENT_CANDIDATES]
        if not sent:
            return None
        subject = subject_key(analysis.subject)
        for row in sent:
            if subject and subject_key(row.subject) == subject:
                return row
        # A bounce's subject is the MTA's own: the failed recipient alone identifies it.
        return sent[0] if analysis.bounced_recipients else None

    def report_thread(
        self, analysis: InboundAnalysis, since: datetime
    ) -> tuple[ThreadAttempt | None, Match | None]:
        """A report's attempt and how it was matched: one of our Message-IDs it quotes (the
        returned headers, X-Original-Message-ID, In-Reply-To, References, a provider's JSON),
        else a recipient it names that this mailbox sent to since `since` (the newest such
        send). (None, None): it matches nothing this mailbox sent, and is not believed."""
        for candidate in thread_ids(analysis):
            found = self.attempts_by_message_id.get(candidate)
            if found is not None and found.state in HANDED_OVER:
                return found, "message_id"
        for address in fallback_addresses(analysis):
            for row in self.sent_to.get(address, ()):  # newest first
                if row.sent_at is not None and row.sent_at >= since:
                    return row, "recipient"
        return None, None

    def lead_id(self, conn: Connection, email: str) -> int | None:
        if email not in self.lead_ids:  # not foreseen by `load`: ask
            self.lead_ids[email] = lead_id_by_email(conn, email)
        return self.lead_ids[email]

    def stored(self, location: tuple[str, int, int], message_id: str | None, digest: str,
               reply: StoredReply) -> None:  # fmt: skip
        """A reply this chunk stored (or moved): later copies in the chunk find it."""
        self.at_location[location] = reply
        if message_id:
            self.by_message_id.setdefault(message_id, reply)
        else:
            self.by_digest.setdefault(digest, reply)

    def audit(self, entry: AuditEntry) -> None:
        self.audit_rows.append(entry)

    def flush(self, conn: Connection) -> None:
        """Write what was held back (the audit rows), in the order it was made."""
        rows, self.audit_rows = self.audit_rows, []
        write_audits(conn, rows)


def _by_id(found: tuple[str, StoredReply]) -> int:
    return found[1].id


def thread_ids(analysis: InboundAnalysis) -> list[str]:
    """Our Message-IDs a message names: a report's quoted ones (most reliable first),
    In-Reply-To, References (newest first), bracketed as our attempts store them."""
    wanted = [
        *(bracketed(x) for x in analysis.report_message_ids),
        bracketed(analysis.original_message_id),
        bracketed(analysis.in_reply_to),
        *(bracketed(x) for x in reversed(analysis.references)),
    ]
    return [x for x in dict.fromkeys(wanted) if x]


def fallback_addresses(analysis: InboundAnalysis) -> list[str]:
    """Addresses a message is threaded by when it names none of our Message-IDs: a bounce's
    failed recipients, else the sender."""
    addresses = [clean(x.strip().lower(), 320) or "" for x in analysis.bounced_recipients]
    if analysis.from_email and not addresses:
        addresses = [clean(analysis.from_email.strip().lower(), 320) or ""]
    return addresses


def affected_candidates(analysis: InboundAnalysis) -> Iterable[str]:
    """The addresses `_affected_email` may name without our attempt's help."""
    if analysis.bounced_recipients:
        yield clean(analysis.bounced_recipients[0].strip().lower(), 320) or ""
    if analysis.from_email:
        yield clean(analysis.from_email.strip().lower(), 320) or ""
