"""The facts a policy decision reads (`core.policy.evaluate`), in one statement.

Counts include attempts in flight (`sending`) and today's `unknown` ones: they may have been
delivered, so a cap counts them until the operator or the Sent folder settles them ("never
over the cap" holds even if every one of them went out).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, exists, func, or_, select

from outreach_tui.core.policy import PolicyFacts, PolicyLimits
from outreach_tui.core.region import domain_of, parent_domains
from outreach_tui.core.states import AttemptState, CounterScope, LeadStatus, MailboxPhase
from outreach_tui.db import tables as t
from outreach_tui.db.records import MailboxRecord
from outreach_tui.db.repos._sql import in_bound
from outreach_tui.db.session import DriverStatement

#: Attempts whose outcome may already have reached the recipient.
MAYBE_DELIVERED = (AttemptState.SENDING.value, AttemptState.UNKNOWN.value)

#: Phases in which a mailbox may not send at all.
BLOCKED_PHASES = (MailboxPhase.PAUSED.value, MailboxPhase.QUARANTINE.value)


def _counter_today(scope: CounterScope, key_param: str) -> Any:
    return (
        select(func.coalesce(func.sum(t.daily_counter.c.count), 0))
        .where(
            t.daily_counter.c.scope == scope.value,
            t.daily_counter.c.key == bindparam(key_param),
            t.daily_counter.c.day == bindparam("day", type_=t.daily_counter.c.day.type),
        )
        .scalar_subquery()
    )


def _in_flight_count(column: Any, param: str) -> Any:
    """Sends that may have been delivered and are not counted yet: in flight, or begun
    today and left `unknown` (a crash, a lost connection after DATA)."""
    return (
        select(func.count())
        .select_from(t.attempt)
        .where(
            in_bound(t.attempt.c.state, MAYBE_DELIVERED),
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
        (_counter_today(CounterScope.USER, "operator")
         + _in_flight_count(t.attempt.c.operator_id, "operator")).label("user_count"),
        (_counter_today(CounterScope.DOMAIN, "rdomain")
         + _in_flight_count(t.attempt.c.recipient_domain, "rdomain")).label("domain_count"),
        (_counter_today(CounterScope.MAILBOX, "mailbox_email")
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
                in_bound(t.attempt.c.state, MAYBE_DELIVERED),
                t.attempt.c.updated_at > _SINCE,
                t.attempt.c.id != bindparam("exclude_attempt"),
            ),
        ).label("duplicate"),
        select(t.campaign.c.status)
        .where(t.campaign.c.id == bindparam("campaign_id"))
        .scalar_subquery()
        .label("campaign_status"),
    )  # fmt: skip


# One statement per number of parent domains: a fixed list of bound parameters, so it can
# be a DriverStatement (no expanding IN list re-rendered per call).
_FACTS: dict[int, DriverStatement] = {}


def _facts_statement(parent_count: int) -> DriverStatement:
    stmt = _FACTS.get(parent_count)
    if stmt is None:
        stmt = _FACTS[parent_count] = DriverStatement(_facts_select(parent_count))
    return stmt


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
    mailbox: MailboxRecord | None,
    mailbox_daily_limit: int | None,
    campaign_id: int | None = None,
    lead_status: str | None = None,
    exclude_attempt: int | None = None,
) -> PolicyFacts:
    """Everything `core.policy.evaluate` needs, read in one statement of the caller's
    transaction (`day_start`: the start of the local `day`, in UTC)."""
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
        sending_domain_paused=mailbox is not None and mailbox.domain_paused,
        campaign_paused=campaign_status is not None and campaign_status != "active",
        lead_final_status=final,
    )
