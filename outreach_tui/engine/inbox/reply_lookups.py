"""What applying a chunk of inbound messages reads, read once for the whole chunk.

The poller applies `[replies] commit_batch` messages per transaction. Asked one message at a
time, each would cost a handful of lookups (is it stored already, our attempt by Message-ID,
by sender, the lead by address, the mailbox); `ChunkLookups.load` makes them once for all of
the chunk, and the messages then look up in memory. Only our side of the threads is read
ahead (attempts, leads, the mailbox): applying a message never creates or re-threads those,
so what a later message of the chunk sees is what it would have read itself. The replies the
chunk stores are added to the maps as they are stored, so a second copy of a message in the
same chunk is still recognised as one.

The statements the poller runs for every message are built once here (see
`db.session.DriverStatement`); their SQL is what the Core expressions they replace compiled
to, so every backend keeps its behaviour.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, bindparam, insert, or_, select, update

from outreach_tui.core.states import AttemptState, EnrollmentState, LeadStatus
from outreach_tui.db import tables as t
from outreach_tui.db.session import DriverStatement
from outreach_tui.engine.sending.sequences import UNSENT_STATES
from outreach_tui.mail.inbound import InboundAnalysis

#: How many of our sends to one address are looked at when threading by sender and subject.
SENT_CANDIDATES = 50

_R = t.reply
_A = t.attempt

_REPLIES_AT = DriverStatement(
    select(_R.c.uid, _R.c.id, _R.c.classification).where(
        _R.c.mailbox_id == bindparam("mailbox_id"),
        _R.c.folder == bindparam("folder"),
        _R.c.uidvalidity == bindparam("uidvalidity"),
        _R.c.uid >= bindparam("low"),
        _R.c.uid <= bindparam("high"),
    )
)
_REPLIES_BY_MESSAGE_ID = select(_R.c.id, _R.c.classification, _R.c.message_id).where(
    _R.c.mailbox_id == bindparam("mailbox_id"),
    _R.c.message_id.in_(bindparam("values", expanding=True)),
)
_REPLIES_BY_DIGEST = select(_R.c.id, _R.c.classification, _R.c.digest).where(
    _R.c.mailbox_id == bindparam("mailbox_id"),
    _R.c.digest.in_(bindparam("values", expanding=True)),
)
_MAILBOX = DriverStatement(
    select(t.mailbox.c.id, t.mailbox.c.email).where(t.mailbox.c.id == bindparam("mailbox_id"))
)
_ATTEMPT_COLUMNS = (
    _A.c.id,
    _A.c.lead_id,
    _A.c.message_id,
    _A.c.recipient_email,
    _A.c.sender_email,
    _A.c.subject,
)
_ATTEMPTS_BY_MESSAGE_ID = select(*_ATTEMPT_COLUMNS).where(
    _A.c.message_id.in_(bindparam("values", expanding=True))
)
_ATTEMPTS_SENT_TO = (
    select(*_ATTEMPT_COLUMNS)
    .where(
        _A.c.recipient_email.in_(bindparam("values", expanding=True)),
        or_(
            _A.c.state == AttemptState.SENT.value,
            _A.c.state == AttemptState.UNKNOWN.value,
        ),
        or_(_A.c.mailbox_id == bindparam("mailbox_id"), _A.c.mailbox_id.is_(None)),
    )
    .order_by(_A.c.id.desc())
)
_LEADS_BY_EMAIL = select(t.lead.c.id, t.lead.c.email).where(
    t.lead.c.email.in_(bindparam("values", expanding=True))
)

# -- writes ----------------------------------------------------------------------------------
# A WHERE parameter of an UPDATE is never named after a column of the table: SQLAlchemy
# reserves those names for the SET clause (PostgreSQL runs these through `conn.execute`).

REPLY_COLUMNS = (
    "mailbox_id", "folder", "uidvalidity", "uid", "attempt_id", "lead_id", "message_id",
    "from_email", "subject", "received_at", "classification", "classified_by", "return_date",
    "snippet", "raw", "handled", "created_at", "reason", "problem", "affected_email", "digest",
    "review",
)  # fmt: skip
INSERT_REPLY = DriverStatement(
    insert(_R).values({name: bindparam(name) for name in REPLY_COLUMNS}).returning(_R.c.id)
)
MOVE_REPLY = DriverStatement(
    update(_R)
    .where(_R.c.id == bindparam("reply_id"))
    .values(folder=bindparam("folder"), uidvalidity=bindparam("uidvalidity"), uid=bindparam("uid"))
)
AUDIT_COLUMNS = (
    "user_id", "lead_email", "sender_email", "subject", "policy_result", "reason", "legal_basis",
    "timestamp", "attempt_id",
)  # fmt: skip
INSERT_AUDIT = DriverStatement(
    insert(t.audit_log).values({name: bindparam(name) for name in AUDIT_COLUMNS})
)
INSERT_EVENT = DriverStatement(
    insert(t.event).values(
        {
            name: bindparam(name)
            for name in (
                "kind", "severity", "subject_type", "subject_id", "message", "data",
                "created_at", "acknowledged",
            )
        }
    )
)  # fmt: skip
SUPPRESSION_EXISTS = DriverStatement(
    select(t.suppression.c.id).where(
        t.suppression.c.kind == bindparam("kind"), t.suppression.c.value == bindparam("value")
    )
)
INSERT_SUPPRESSION = DriverStatement(
    insert(t.suppression).values(
        {
            name: bindparam(name)
            for name in ("kind", "value", "reason", "source", "created_at", "created_by")
        }
    )
)
_FINAL_LEAD = [s.value for s in LeadStatus if s.final]
SET_LEAD_STATUS_UNLESS_FINAL = DriverStatement(
    update(t.lead)
    .where(
        t.lead.c.email == bindparam("for_email"), and_(*(t.lead.c.status != s for s in _FINAL_LEAD))
    )
    .values(status=bindparam("status"), updated_at=bindparam("updated_at"))
)
MARK_ATTEMPT_BOUNCED = DriverStatement(
    update(_A)
    .where(_A.c.id == bindparam("attempt_id"))
    .values(
        error_class="hard_bounce",
        error_detail=bindparam("error_detail"),
        updated_at=bindparam("updated_at"),
    )
)
_CL = t.campaign_lead
POSTPONE_ENROLLMENTS = DriverStatement(
    update(_CL)
    .where(
        _CL.c.lead_id == bindparam("for_lead"),
        _CL.c.state == EnrollmentState.ACTIVE.value,
        or_(_CL.c.next_due_at.is_(None), _CL.c.next_due_at < bindparam("resume")),
    )
    .values(next_due_at=bindparam("resume"), updated_at=bindparam("updated_at"))
)
POSTPONE_ATTEMPTS = DriverStatement(
    update(_A)
    .where(
        _A.c.lead_id == bindparam("for_lead"),
        or_(*(_A.c.state == s for s in UNSENT_STATES)),
        or_(_A.c.next_attempt_at.is_(None), _A.c.next_attempt_at < bindparam("resume")),
    )
    .values(next_attempt_at=bindparam("resume"), updated_at=bindparam("updated_at"))
)


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
class StoredReply:
    id: int
    classification: str


@dataclass
class ChunkLookups:
    """Reads for a chunk of messages of one mailbox, made once (see the module docstring)."""

    mailbox_id: int
    mailbox_email: str
    at_location: dict[tuple[str, int, int], StoredReply] = field(default_factory=dict)
    by_message_id: dict[str, StoredReply] = field(default_factory=dict)
    by_digest: dict[str, StoredReply] = field(default_factory=dict)
    attempts_by_message_id: dict[str, Any] = field(default_factory=dict)
    sent_to: dict[str, list[Any]] = field(default_factory=dict)
    lead_ids: dict[str, int | None] = field(default_factory=dict)
    audit_rows: list[dict[str, Any]] = field(default_factory=list)
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
        box = _MAILBOX.execute(conn, {"mailbox_id": mailbox_id}).one()
        out = cls(mailbox_id=int(box.id), mailbox_email=str(box.email))
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
            found = _REPLIES_AT.execute(
                conn,
                {
                    "mailbox_id": self.mailbox_id,
                    "folder": folder,
                    "uidvalidity": uidvalidity,
                    "low": min(uids),
                    "high": max(uids),
                },
            )
            for row in found:
                if int(row.uid) in wanted:
                    self.at_location[(folder, uidvalidity, int(row.uid))] = StoredReply(
                        int(row.id), str(row.classification)
                    )
        ids = sorted({m[3] for m in messages if m[3]})
        digests = sorted({m[4] for m in messages if not m[3]})
        for statement, values, target, key in (
            (_REPLIES_BY_MESSAGE_ID, ids, self.by_message_id, "message_id"),
            (_REPLIES_BY_DIGEST, digests, self.by_digest, "digest"),
        ):
            if not values:
                continue
            matches: list[Any] = list(
                conn.execute(statement, {"mailbox_id": self.mailbox_id, "values": values})
            )
            for stored in sorted(matches, key=lambda r: int(r.id)):
                target.setdefault(
                    str(getattr(stored, key)),
                    StoredReply(int(stored.id), str(stored.classification)),
                )

    def _load_attempts(self, conn: Connection, analyses: Sequence[InboundAnalysis]) -> None:
        wanted = sorted({x for a in analyses for x in thread_ids(a)})
        if wanted:
            for attempt in conn.execute(_ATTEMPTS_BY_MESSAGE_ID, {"values": wanted}):
                self.attempts_by_message_id[str(attempt.message_id)] = attempt
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
            newest_first = conn.execute(
                _ATTEMPTS_SENT_TO, {"values": addresses, "mailbox_id": self.mailbox_id}
            )
            for attempt in newest_first:
                sent = self.sent_to[str(attempt.recipient_email)]
                if len(sent) < SENT_CANDIDATES:
                    sent.append(attempt)
        emails = {x for a in analyses for x in affected_candidates(a)}
        emails.update(str(r.recipient_email) for r in self.attempts_by_message_id.values())
        for sent_rows in self.sent_to.values():
            emails.update(str(r.recipient_email) for r in sent_rows)
        emails.discard("")
        if emails:
            self.lead_ids = dict.fromkeys(emails)
            for lead in conn.execute(_LEADS_BY_EMAIL, {"values": sorted(emails)}):
                self.lead_ids[str(lead.email)] = int(lead.id)

    # -- in-memory lookups -------------------------------------------------------------------

    def thread(self, analysis: InboundAnalysis, subject_key: Any) -> Any:
        """Our attempt `analysis` answers (or reports on), or None (see `ReplyEffects`)."""
        for candidate in thread_ids(analysis):
            found = self.attempts_by_message_id.get(candidate)
            if found is not None:
                return found
        addresses = fallback_addresses(analysis)
        if not addresses:
            return None
        merged: dict[int, Any] = {}
        for address in addresses:
            for row in self.sent_to.get(address, ()):
                merged[int(row.id)] = row
        sent = [merged[k] for k in sorted(merged, reverse=True)][:SENT_CANDIDATES]
        if not sent:
            return None
        subject = subject_key(analysis.subject)
        for row in sent:
            if subject and subject_key(row.subject) == subject:
                return row
        # A bounce's subject is the MTA's own: the failed recipient alone identifies it.
        return sent[0] if analysis.bounced_recipients else None

    def lead_id(self, conn: Connection, email: str) -> int | None:
        if email not in self.lead_ids:  # not foreseen by `load`: ask
            found = conn.execute(_LEADS_BY_EMAIL, {"values": [email]}).first()
            self.lead_ids[email] = int(found.id) if found is not None else None
        return self.lead_ids[email]

    def stored(self, location: tuple[str, int, int], message_id: str | None, digest: str,
               reply: StoredReply) -> None:  # fmt: skip
        """A reply this chunk stored (or moved): later copies in the chunk find it."""
        self.at_location[location] = reply
        if message_id:
            self.by_message_id.setdefault(message_id, reply)
        else:
            self.by_digest.setdefault(digest, reply)

    def audit(self, row: dict[str, Any]) -> None:
        self.audit_rows.append(row)

    def flush(self, conn: Connection) -> None:
        """Write what was held back (the audit rows), in the order it was made."""
        rows, self.audit_rows = self.audit_rows, []
        if rows:
            INSERT_AUDIT.executemany(conn, rows)


def thread_ids(analysis: InboundAnalysis) -> list[str]:
    """Our Message-IDs a message names: a report's quoted one, In-Reply-To, References
    (newest first), bracketed as our attempts store them."""
    wanted = [
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
