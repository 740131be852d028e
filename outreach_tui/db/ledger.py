"""Queries of the send pipeline: facts for policy, the attempt ledger, counters, audit.

Every function takes an open `Connection` inside a transaction chosen by the caller, so a
policy check and the attempt row it allows are written atomically.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, and_, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from outreach_tui.core.policy import PolicyFacts, PolicyLimits
from outreach_tui.core.region import domain_of
from outreach_tui.core.states import AttemptState, LeadStatus, MailboxPhase
from outreach_tui.db import tables as t

SCOPE_USER = "user"
SCOPE_DOMAIN = "domain"
SCOPE_MAILBOX = "mailbox"

#: Attempts whose outcome may already have reached the recipient.
_IN_FLIGHT = (AttemptState.SENDING.value,)
_MAYBE_DELIVERED = (AttemptState.SENDING.value, AttemptState.UNKNOWN.value)

#: Phases in which a mailbox may not send at all.
BLOCKED_PHASES = (MailboxPhase.PAUSED.value, MailboxPhase.QUARANTINE.value)


def parent_domains(domain: str) -> list[str]:
    """`a.b.example.com` → [a.b.example.com, b.example.com, example.com, com]."""
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


def counter_value(conn: Connection, scope: str, key: str, day: date) -> int:
    value = conn.execute(
        select(t.daily_counter.c.count).where(
            t.daily_counter.c.scope == scope,
            t.daily_counter.c.key == key,
            t.daily_counter.c.day == day,
        )
    ).scalar()
    return int(value or 0)


def increment_counter(conn: Connection, scope: str, key: str, day: date, by: int = 1) -> None:
    """Atomic upsert: `count = count + by` (SQLite and PostgreSQL)."""
    dialect = conn.dialect.name
    values = {"scope": scope, "key": key, "day": day, "count": by}
    if dialect == "postgresql":
        stmt: Any = pg_insert(t.daily_counter).values(**values)
    else:
        stmt = sqlite_insert(t.daily_counter).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["scope", "key", "day"],
        set_={"count": t.daily_counter.c.count + stmt.excluded.count},
    )
    conn.execute(stmt)


def _in_flight(conn: Connection, *conditions: Any) -> int:
    value = conn.execute(
        select(func.count())
        .select_from(t.attempt)
        .where(t.attempt.c.state.in_(_IN_FLIGHT), *conditions)
    ).scalar()
    return int(value or 0)


def suppression_hits(conn: Connection, recipient: str) -> tuple[bool, str | None]:
    """(address suppressed, suppressed domain or None) for a recipient."""
    domain = domain_of(recipient)
    rows = conn.execute(
        select(t.suppression.c.kind, t.suppression.c.value).where(
            or_(
                and_(t.suppression.c.kind == "address", t.suppression.c.value == recipient),
                and_(
                    t.suppression.c.kind == "domain",
                    t.suppression.c.value.in_(parent_domains(domain)),
                ),
            )
        )
    ).all()
    address = any(kind == "address" for kind, _ in rows)
    domains = [value for kind, value in rows if kind == "domain"]
    return address, (max(domains, key=len) if domains else None)


def is_duplicate(conn: Connection, key: str, since: datetime, *, exclude_attempt: int | None) -> bool:
    """Sent (or possibly sent) with the same idempotency key since `since`."""
    sent = conn.execute(
        select(t.idempotency_key.c.key).where(
            t.idempotency_key.c.key == key, t.idempotency_key.c.sent_at > since
        )
    ).first()
    if sent is not None:
        return True
    conditions = [
        t.attempt.c.idempotency_key == key,
        t.attempt.c.state.in_(_MAYBE_DELIVERED),
        t.attempt.c.updated_at > since,
    ]
    if exclude_attempt is not None:
        conditions.append(t.attempt.c.id != exclude_attempt)
    return conn.execute(select(t.attempt.c.id).where(*conditions).limit(1)).first() is not None


def mailbox_by_email(conn: Connection, email: str) -> Row[Any] | None:
    return conn.execute(select(t.mailbox).where(t.mailbox.c.email == email.lower())).first()


def sending_domain_paused(conn: Connection, domain_id: int | None) -> bool:
    if domain_id is None:
        return False
    return bool(
        conn.execute(
            select(t.sending_domain.c.paused).where(t.sending_domain.c.id == domain_id)
        ).scalar()
    )


def campaign_paused(conn: Connection, campaign_id: int | None) -> bool:
    if campaign_id is None:
        return False
    status = conn.execute(
        select(t.campaign.c.status).where(t.campaign.c.id == campaign_id)
    ).scalar()
    return status is not None and status != "active"


def gather_facts(
    conn: Connection,
    *,
    operator_id: str,
    sender: str,
    recipient: str,
    subject: str,
    idem_key: str,
    day: date,
    now: datetime,
    limits: PolicyLimits,
    mailbox: Row[Any] | None,
    mailbox_daily_limit: int | None,
    campaign_id: int | None = None,
    lead_status: str | None = None,
    exclude_attempt: int | None = None,
) -> PolicyFacts:
    """Everything `core.policy.evaluate` needs, read in the caller's transaction."""
    rdomain = domain_of(recipient)
    user_count = counter_value(conn, SCOPE_USER, operator_id, day) + _in_flight(
        conn, t.attempt.c.operator_id == operator_id
    )
    domain_count = counter_value(conn, SCOPE_DOMAIN, rdomain, day) + _in_flight(
        conn, t.attempt.c.recipient_domain == rdomain
    )
    mailbox_count = 0
    if mailbox is not None:
        mailbox_count = counter_value(conn, SCOPE_MAILBOX, mailbox.email, day) + _in_flight(
            conn, t.attempt.c.mailbox_id == mailbox.id
        )
    address_hit, domain_hit = suppression_hits(conn, recipient)
    duplicate = is_duplicate(
        conn,
        idem_key,
        now - timedelta(hours=limits.idempotency_window_hours),
        exclude_attempt=exclude_attempt,
    )
    final = lead_status if lead_status and LeadStatus(lead_status).final else None
    return PolicyFacts(
        operator_id=operator_id,
        sender=sender,
        recipient=recipient,
        subject=subject,
        user_count_today=user_count,
        domain_count_today=domain_count,
        mailbox_count_today=mailbox_count,
        mailbox_daily_limit=mailbox_daily_limit,
        suppressed_address=address_hit,
        suppressed_domain=domain_hit,
        duplicate_within_window=duplicate,
        mailbox_paused=mailbox is not None and mailbox.phase in BLOCKED_PHASES,
        sending_domain_paused=mailbox is not None
        and sending_domain_paused(conn, mailbox.domain_id),
        campaign_paused=campaign_paused(conn, campaign_id),
        lead_final_status=final,
    )


def write_audit(
    conn: Connection,
    *,
    user_id: str,
    policy_result: str,
    reason: str,
    at: datetime,
    lead_email: str | None = None,
    sender_email: str | None = None,
    subject: str | None = None,
    legal_basis: str | None = None,
    attempt_id: int | None = None,
) -> None:
    conn.execute(
        insert(t.audit_log).values(
            user_id=user_id,
            lead_email=lead_email,
            sender_email=sender_email,
            subject=subject,
            policy_result=policy_result,
            reason=reason,
            legal_basis=legal_basis,
            timestamp=at,
            attempt_id=attempt_id,
        )
    )


def write_event(
    conn: Connection,
    *,
    kind: str,
    message: str,
    at: datetime,
    severity: str = "info",
    subject_type: str | None = None,
    subject_id: str | int | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        insert(t.event).values(
            kind=kind,
            severity=severity,
            subject_type=subject_type,
            subject_id=None if subject_id is None else str(subject_id),
            message=message,
            data=data,
            created_at=at,
            acknowledged=False,
        )
    )


def get_or_create_lead(conn: Connection, email: str, *, source: str, at: datetime) -> Row[Any]:
    email = email.strip().lower()
    row = conn.execute(select(t.lead).where(t.lead.c.email == email)).first()
    if row is not None:
        return row
    conn.execute(
        insert(t.lead).values(
            email=email, domain=domain_of(email), status="new", source=source, created_at=at
        )
    )
    created = conn.execute(select(t.lead).where(t.lead.c.email == email)).first()
    assert created is not None
    return created


def add_suppression(
    conn: Connection,
    *,
    kind: str,
    value: str,
    reason: str,
    source: str,
    at: datetime,
    created_by: str | None,
) -> bool:
    """Insert unless present; True when a new entry was made."""
    value = value.strip().lower()
    exists = conn.execute(
        select(t.suppression.c.id).where(
            t.suppression.c.kind == kind, t.suppression.c.value == value
        )
    ).first()
    if exists is not None:
        return False
    conn.execute(
        insert(t.suppression).values(
            kind=kind, value=value, reason=reason, source=source, created_at=at,
            created_by=created_by,
        )
    )
    return True


def record_idempotency(conn: Connection, key: str, attempt_id: int, at: datetime) -> None:
    dialect = conn.dialect.name
    values = {"key": key, "attempt_id": attempt_id, "sent_at": at}
    stmt: Any = (pg_insert if dialect == "postgresql" else sqlite_insert)(t.idempotency_key)
    stmt = stmt.values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["key"], set_={"attempt_id": attempt_id, "sent_at": at}
    )
    conn.execute(stmt)


def mark_interrupted_unknown(conn: Connection, at: datetime) -> list[int]:
    """Attempts left in `sending` by a crash become `unknown` (never re-sent blindly)."""
    ids = [
        row[0]
        for row in conn.execute(
            select(t.attempt.c.id).where(t.attempt.c.state == AttemptState.SENDING.value)
        )
    ]
    if ids:
        conn.execute(
            update(t.attempt)
            .where(t.attempt.c.id.in_(ids), t.attempt.c.state == AttemptState.SENDING.value)
            .values(
                state=AttemptState.UNKNOWN.value,
                error_class="unknown_outcome",
                error_detail="process stopped while sending; check the Sent folder",
                updated_at=at,
            )
        )
    return ids


def ids(rows: Iterable[Row[Any]]) -> list[int]:
    return [int(r[0]) for r in rows]
