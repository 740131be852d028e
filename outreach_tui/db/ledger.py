"""Queries of the send pipeline: facts for policy, the attempt ledger, counters, audit.

Every function takes an open `Connection` inside a transaction chosen by the caller, so a
policy check and the attempt row it allows are written atomically.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    String,
    and_,
    bindparam,
    cast,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from outreach_tui.core.policy import PolicyFacts, PolicyLimits
from outreach_tui.core.region import domain_of
from outreach_tui.core.states import AttemptState, LeadStatus, MailboxPhase
from outreach_tui.db import tables as t
from outreach_tui.db.session import DriverStatement

SCOPE_USER = "user"
SCOPE_DOMAIN = "domain"
SCOPE_MAILBOX = "mailbox"

#: Attempts whose outcome may already have reached the recipient.
_MAYBE_DELIVERED = (AttemptState.SENDING.value, AttemptState.UNKNOWN.value)

#: Phases in which a mailbox may not send at all.
BLOCKED_PHASES = (MailboxPhase.PAUSED.value, MailboxPhase.QUARANTINE.value)


def parent_domains(domain: str) -> list[str]:
    """`a.b.example.com` → [a.b.example.com, b.example.com, example.com, com]."""
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


# Statements are built once: constructing SQLAlchemy expressions per call cost more than
# running them (bench/send_pipeline.py); a prebuilt statement memoizes its cache key. The
# ones on the path of every send are `DriverStatement`s (compiled once, run with
# exec_driver_sql), so they avoid expanding IN lists: fixed lists are written out as bound
# literals, the suppressed-domain lookup gets one statement per number of parent domains.


def _in(column: Any, values: Iterable[str]) -> Any:
    """`column IN (?, ?)` with each value bound (not an expanding, re-rendered list)."""
    return column.in_([literal(v) for v in values])


def _counter_today(scope: str, key_param: str) -> Any:
    return (
        select(func.coalesce(func.sum(t.daily_counter.c.count), 0))
        .where(
            t.daily_counter.c.scope == scope,
            t.daily_counter.c.key == bindparam(key_param),
            t.daily_counter.c.day == bindparam("day", type_=t.daily_counter.c.day.type),
        )
        .scalar_subquery()
    )


def _in_flight_count(column: Any, param: str) -> Any:
    """Sends that may have been delivered and are not counted yet: in flight, or begun
    today and left `unknown` (a crash, a lost connection after DATA). A cap counts them
    until the operator or the Sent folder settles them: "never over the cap" holds even if
    every one of them went out."""
    return (
        select(func.count())
        .select_from(t.attempt)
        .where(
            _in(t.attempt.c.state, _MAYBE_DELIVERED),
            or_(
                t.attempt.c.state == AttemptState.SENDING.value,
                t.attempt.c.sending_started_at >= bindparam("day_start"),
            ),
            column == bindparam(param),
        )
        .scalar_subquery()
    )


_SINCE = bindparam("since", type_=t.attempt.c.updated_at.type)


def _facts_select(parent_count: int) -> Any:
    """The policy facts in one SELECT; `parent_0..` are the recipient domain's parents."""
    return select(
        (_counter_today(SCOPE_USER, "operator")
         + _in_flight_count(t.attempt.c.operator_id, "operator")).label("user_count"),
        (_counter_today(SCOPE_DOMAIN, "rdomain")
         + _in_flight_count(t.attempt.c.recipient_domain, "rdomain")).label("domain_count"),
        (_counter_today(SCOPE_MAILBOX, "mailbox_email")
         + _in_flight_count(t.attempt.c.mailbox_id, "mailbox_id")).label("mailbox_count"),
        exists().where(
            t.suppression.c.kind == "address", t.suppression.c.value == bindparam("recipient")
        ).label("suppressed_address"),
        select(t.suppression.c.value)
        .where(
            t.suppression.c.kind == "domain",
            t.suppression.c.value.in_([bindparam(f"parent_{i}") for i in range(parent_count)]),
        )
        .order_by(func.length(t.suppression.c.value).desc())
        .limit(1)
        .scalar_subquery()
        .label("suppressed_domain"),
        or_(
            exists().where(
                t.idempotency_key.c.key == bindparam("idem_key"),
                t.idempotency_key.c.sent_at > _SINCE,
            ),
            exists().where(
                t.attempt.c.idempotency_key == bindparam("idem_key"),
                _in(t.attempt.c.state, _MAYBE_DELIVERED),
                t.attempt.c.updated_at > _SINCE,
                t.attempt.c.id != bindparam("exclude_attempt"),
            ),
        ).label("duplicate"),
        select(t.campaign.c.status)
        .where(t.campaign.c.id == bindparam("campaign_id"))
        .scalar_subquery()
        .label("campaign_status"),
    )  # fmt: skip


_FACTS: dict[int, DriverStatement] = {}


def _facts_statement(parent_count: int) -> DriverStatement:
    stmt = _FACTS.get(parent_count)
    if stmt is None:
        stmt = _FACTS[parent_count] = DriverStatement(_facts_select(parent_count))
    return stmt


_MAILBOX_BY_EMAIL = (
    select(t.mailbox, t.sending_domain.c.paused.label("domain_paused"))
    .select_from(
        t.mailbox.outerjoin(t.sending_domain, t.sending_domain.c.id == t.mailbox.c.domain_id)
    )
    .where(t.mailbox.c.email == bindparam("email"))
)
_MAILBOX_BY_ID = (
    select(t.mailbox, t.sending_domain.c.paused.label("domain_paused"))
    .select_from(
        t.mailbox.outerjoin(t.sending_domain, t.sending_domain.c.id == t.mailbox.c.domain_id)
    )
    .where(t.mailbox.c.id == bindparam("id"))
)


def counter_value(conn: Connection, scope: str, key: str, day: date) -> int:
    value = conn.execute(
        select(t.daily_counter.c.count).where(
            t.daily_counter.c.scope == scope,
            t.daily_counter.c.key == key,
            t.daily_counter.c.day == day,
        )
    ).scalar()
    return int(value or 0)


def _upsert(conn: Connection, table: Any) -> Any:
    return (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(table)


_COUNTER_UPSERT: dict[str, DriverStatement] = {}


def increment_counters(
    conn: Connection, keys: list[tuple[str, str]], day: date, by: int = 1
) -> None:
    """Atomic upsert of several counters: `count = count + by` (SQLite and PostgreSQL)."""
    stmt = _COUNTER_UPSERT.get(conn.dialect.name)
    if stmt is None:
        base = _upsert(conn, t.daily_counter).values(
            scope=bindparam("scope"), key=bindparam("key"), day=bindparam("day"),
            count=bindparam("count"),
        )  # fmt: skip
        stmt = DriverStatement(
            base.on_conflict_do_update(
                index_elements=["scope", "key", "day"],
                set_={"count": t.daily_counter.c.count + base.excluded.count},
            )
        )
        _COUNTER_UPSERT[conn.dialect.name] = stmt
    stmt.executemany(conn, [{"scope": s, "key": k, "day": day, "count": by} for s, k in keys])


# PostgreSQL: the operator's cap lock and the counters in one round trip. The lock comes
# first: no row is inserted or locked before the (materialised) lock row exists.
def _locked_counters_pg(lock: str) -> Any:
    return text(
        "WITH cap_lock AS MATERIALIZED ("
        f" SELECT {lock}(hashtextextended(:lock_key, 0)))"
        " INSERT INTO daily_counter (scope, key, day, count)"
        " SELECT v.scope, v.key, CAST(:day AS DATE), :by"
        " FROM cap_lock, (VALUES (:s0, :k0), (:s1, :k1), (:s2, :k2)) AS v (scope, key)"
        " ON CONFLICT (scope, key, day) DO UPDATE"
        " SET count = daily_counter.count + excluded.count"
    )


_LOCKED_COUNTERS_PG = {
    False: _locked_counters_pg("pg_advisory_xact_lock"),
    True: _locked_counters_pg("pg_advisory_xact_lock_shared"),
}


def consume_caps(
    conn: Connection,
    operator_id: str,
    recipient_domain: str,
    mailbox_email: str,
    day: date,
    *,
    shared: bool = False,
) -> None:
    """A send's three cap counters (operator, recipient domain, mailbox) after its final
    250; on PostgreSQL under the operator's lock (`lock_scopes`; `shared` as the sends that
    count it take it), taken before the counter rows' own locks, the order every
    transaction that counts or consumes caps keeps."""
    keys = [
        (SCOPE_USER, operator_id),
        (SCOPE_DOMAIN, recipient_domain),
        (SCOPE_MAILBOX, mailbox_email),
    ]
    if conn.dialect.name != "postgresql":
        increment_counters(conn, keys, day)
        return
    params: dict[str, Any] = {"lock_key": operator_scope(operator_id), "day": day, "by": 1}
    for i, (scope, key) in enumerate(keys):
        params[f"s{i}"], params[f"k{i}"] = scope, key
    conn.execute(_LOCKED_COUNTERS_PG[shared], params)


def increment_counter(conn: Connection, scope: str, key: str, day: date, by: int = 1) -> None:
    increment_counters(conn, [(scope, key)], day, by)


def mailbox_by_email(conn: Connection, email: str) -> Row[Any] | None:
    """The mailbox with its sending domain's paused flag (`domain_paused`)."""
    return conn.execute(_MAILBOX_BY_EMAIL, {"email": email.lower()}).first()


def mailbox_by_id(conn: Connection, mailbox_id: int) -> Row[Any] | None:
    return conn.execute(_MAILBOX_BY_ID, {"id": mailbox_id}).first()


def gather_facts(
    conn: Connection,
    *,
    operator_id: str,
    sender: str,
    recipient: str,
    subject: str,
    idem_key: str,
    day: date,
    day_start: datetime,
    now: datetime,
    limits: PolicyLimits,
    mailbox: Row[Any] | None,
    mailbox_daily_limit: int | None,
    campaign_id: int | None = None,
    lead_status: str | None = None,
    exclude_attempt: int | None = None,
) -> PolicyFacts:
    """Everything `core.policy.evaluate` needs, read in one statement of the caller's
    transaction. Counts include attempts in flight (`sending`) and today's `unknown` ones
    (`day_start`: the start of the local `day`, in UTC)."""
    rdomain = domain_of(recipient)
    parents = parent_domains(rdomain)
    params = {
        "operator": operator_id,
        "rdomain": rdomain,
        "mailbox_email": mailbox.email if mailbox is not None else "",
        "mailbox_id": mailbox.id if mailbox is not None else -1,
        "day": day,
        "day_start": day_start,
        "recipient": recipient,
        "idem_key": idem_key,
        "since": now - timedelta(hours=limits.idempotency_window_hours),
        "exclude_attempt": exclude_attempt if exclude_attempt is not None else -1,
        "campaign_id": campaign_id if campaign_id is not None else -1,
    }
    params.update((f"parent_{i}", parent) for i, parent in enumerate(parents))
    row = _facts_statement(len(parents)).execute(conn, params).one()
    final = lead_status if lead_status and LeadStatus(lead_status).final else None
    campaign_status = row.campaign_status
    return PolicyFacts(
        operator_id=operator_id,
        sender=sender,
        recipient=recipient,
        subject=subject,
        user_count_today=int(row.user_count),
        domain_count_today=int(row.domain_count),
        mailbox_count_today=int(row.mailbox_count) if mailbox is not None else 0,
        mailbox_daily_limit=mailbox_daily_limit,
        suppressed_address=bool(row.suppressed_address),
        suppressed_domain=row.suppressed_domain,
        duplicate_within_window=bool(row.duplicate),
        mailbox_paused=mailbox is not None and mailbox.phase in BLOCKED_PHASES,
        sending_domain_paused=mailbox is not None and bool(mailbox.domain_paused),
        campaign_paused=campaign_status is not None and campaign_status != "active",
        lead_final_status=final,
    )


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


_AUDIT_INSERT = DriverStatement(
    insert(t.audit_log).values(
        {
            name: bindparam(name)
            for name in ("user_id", "lead_email", "sender_email", "subject", "policy_result",
                         "reason", "legal_basis", "timestamp", "attempt_id")
        }
    )
)  # fmt: skip


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
    _AUDIT_INSERT.execute(
        conn,
        {
            "user_id": user_id,
            "lead_email": lead_email,
            "sender_email": sender_email,
            "subject": subject,
            "policy_result": policy_result,
            "reason": reason,
            "legal_basis": legal_basis,
            "timestamp": at,
            "attempt_id": attempt_id,
        },
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


_LEAD_BY_EMAIL = select(t.lead).where(t.lead.c.email == bindparam("email"))
_LEAD_CREATE: dict[str, Any] = {}


def get_or_create_lead(conn: Connection, email: str, *, source: str, at: datetime) -> Row[Any]:
    """The lead with this address, created (status `new`) if there is none.

    One statement for a new lead: INSERT ... ON CONFLICT (email) DO NOTHING RETURNING the
    row; an existing lead returns nothing there and is read by its address.
    """
    email = email.strip().lower()
    stmt = _LEAD_CREATE.get(conn.dialect.name)
    if stmt is None:
        stmt = (
            _upsert(conn, t.lead)
            .on_conflict_do_nothing(index_elements=["email"])
            .returning(*t.lead.c)
        )
        _LEAD_CREATE[conn.dialect.name] = stmt
    created = conn.execute(
        stmt,
        {"email": email, "domain": domain_of(email), "status": "new", "source": source,
         "created_at": at},
    ).first()  # fmt: skip
    if created is not None:
        return created
    row = conn.execute(_LEAD_BY_EMAIL, {"email": email}).first()
    assert row is not None
    return row


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
            kind=kind,
            value=value,
            reason=reason,
            source=source,
            created_at=at,
            created_by=created_by,
        )
    )
    return True


_IDEM_UPSERT: dict[str, DriverStatement] = {}


def record_idempotency(conn: Connection, key: str, attempt_id: int, at: datetime) -> None:
    stmt = _IDEM_UPSERT.get(conn.dialect.name)
    if stmt is None:
        base = _upsert(conn, t.idempotency_key).values(
            key=bindparam("key"), attempt_id=bindparam("attempt_id"), sent_at=bindparam("sent_at")
        )
        stmt = DriverStatement(
            base.on_conflict_do_update(
                index_elements=["key"],
                set_={"attempt_id": base.excluded.attempt_id, "sent_at": base.excluded.sent_at},
            )
        )
        _IDEM_UPSERT[conn.dialect.name] = stmt
    stmt.execute(conn, {"key": key, "attempt_id": attempt_id, "sent_at": at})


def mark_interrupted_unknown(
    conn: Connection,
    at: datetime,
    *,
    mailbox_ids: list[int] | None = None,
    unless_leased: bool = False,
) -> list[int]:
    """Attempts left in `sending` by a crash become `unknown` (never re-sent blindly).

    `mailbox_ids`: only those mailboxes' attempts (a dead worker's mailboxes, taken over).
    `unless_leased`: leave the attempts of mailboxes some live process holds: with several
    workers on one database, a worker starting up must not judge another's send in flight.
    """
    query = select(t.attempt.c.id).where(t.attempt.c.state == AttemptState.SENDING.value)
    if mailbox_ids is not None:
        query = query.where(t.attempt.c.mailbox_id.in_(mailbox_ids))
    if unless_leased:
        query = query.where(
            ~exists().where(
                t.lease.c.name == literal("mailbox:") + cast(t.attempt.c.mailbox_id, String),
                t.lease.c.expires_at >= at,
            )
        )
    ids = [row[0] for row in conn.execute(query)]
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


def lock_scopes(conn: Connection, *keys: str, shared: Sequence[bool] = ()) -> None:
    """PostgreSQL: take transaction-scoped advisory locks on `keys` (in the order given;
    `shared[i]`: key i's lock in shared mode, see core/cap_locks.py), held until COMMIT; a
    no-op on SQLite, whose BEGIN IMMEDIATE already lets one writer in.

    What makes the caps hold across workers: a policy check counts the sends of today plus
    those in flight, then claims the attempt, in one transaction. Under READ COMMITTED two
    workers could both count 19 of 20 and both claim; with the scope's lock held from before
    the count to the COMMIT, the second one waits, then counts (a fresh snapshot per
    statement) the first one's claim. Taken late (just before the count, and before the
    counters move after a 250) and held to the COMMIT of a transaction of its own
    (db/session.py `ConcurrentWrites`). Far from a cap the lock is shared and nobody waits;
    near it, exclusive, and the sends take turns for it, for a few statements each.
    """
    if conn.dialect.name != "postgresql" or not keys:
        return
    modes = tuple(shared) + (False,) * (len(keys) - len(shared))
    statement = _ADVISORY_LOCKS.get(modes)
    if statement is None:
        statement = _ADVISORY_LOCKS[modes] = _advisory_lock_statement(modes)
    statement.execute(conn, {f"k{i}": key for i, key in enumerate(keys)})


def concurrent_transactions_bound(conn: Connection) -> int:
    """PostgreSQL: the most transactions the server runs at once (connections, plus
    prepared transactions waiting for their COMMIT PREPARED)."""
    return int(
        conn.execute(
            text(
                "SELECT current_setting('max_connections')::int"
                " + current_setting('max_prepared_transactions')::int"
            )
        ).scalar_one()
    )


def operator_scope(operator_id: str) -> str:
    return f"outreach:{SCOPE_USER}:{operator_id}"


def cap_scopes(operator_id: str, recipient_domain: str, mailbox_email: str) -> tuple[str, ...]:
    """The lock keys of the caps a send counts against, the operator's first: every
    transaction that counts or consumes caps takes that one before any other, so they
    queue on it and never wait for each other in a cycle."""
    return (
        operator_scope(operator_id),
        f"outreach:{SCOPE_DOMAIN}:{recipient_domain}",
        f"outreach:{SCOPE_MAILBOX}:{mailbox_email}",
    )


def _advisory_lock_statement(shared: tuple[bool, ...]) -> DriverStatement:
    # Select-list items are evaluated left to right: the locks are taken in the order given.
    return DriverStatement(
        select(
            *(
                (func.pg_advisory_xact_lock_shared if share else func.pg_advisory_xact_lock)(
                    func.hashtextextended(bindparam(f"k{i}", type_=String), 0)
                )
                for i, share in enumerate(shared)
            )
        )
    )


_ADVISORY_LOCKS: dict[tuple[bool, ...], DriverStatement] = {}


def ids(rows: Iterable[Row[Any]]) -> list[int]:
    return [int(r[0]) for r in rows]
