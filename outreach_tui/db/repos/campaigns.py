"""Campaigns and their sequence steps: the life cycle of a campaign (create,
pause/resume/archive, finished, its progress) and what sending reads of campaigns (their
setup and steps). The enrollments (`campaign_lead`) the planner and the sequences move are
in db/repos/enrollments.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, case, func, insert, or_, select, update

from outreach_tui.core.states import CampaignStatus, EnrollmentState
from outreach_tui.db import tables as t
from outreach_tui.db.records import StepRecord, columns
from outreach_tui.db.repos.enrollments import OPEN_ENROLLMENT_STATES
from outreach_tui.db.session import DriverStatement

_C, _S, _CL = t.campaign, t.sequence_step, t.campaign_lead

# -- the life cycle of a campaign ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewCampaign:
    """A campaign to store, as its file describes it (engine/sending/campaigns.py)."""

    name: str
    status: str
    approval: str
    timezone: str
    default_timezone: str
    postal_address: str | None
    window_days: list[str]
    window_start: str
    window_end: str
    mailbox_emails: list[str] | None
    stop_on_company_reply: bool
    source_file: str | None


@dataclass(frozen=True, slots=True)
class NewStep:
    """A step of a new campaign's sequence (positions follow the order given)."""

    subject: str | None
    body: str
    delay_days: float


@dataclass(frozen=True, slots=True)
class CampaignSummary:
    """A campaign with its progress, as the console's Campaigns pane and the CLI list it."""

    id: int
    name: str
    status: str
    approval: str
    steps: int
    leads: int
    active: int
    finished: int
    stopped: int
    sent: int


_ID_BY_NAME = select(_C.c.id).where(_C.c.name == bindparam("name"))


def campaign_id_by_name(conn: Connection, name: str) -> int | None:
    found = conn.execute(_ID_BY_NAME, {"name": name}).scalar()
    return None if found is None else int(found)


def insert_campaign(
    conn: Connection, campaign: NewCampaign, steps: Sequence[NewStep], *, at: datetime
) -> int:
    """Store a campaign and its steps (positions 1, 2, ...); returns its id."""
    result = conn.execute(
        insert(_C).values(
            name=campaign.name,
            status=campaign.status,
            approval=campaign.approval,
            timezone=campaign.timezone,
            default_timezone=campaign.default_timezone,
            postal_address=campaign.postal_address,
            window_days=campaign.window_days,
            window_start=campaign.window_start,
            window_end=campaign.window_end,
            mailbox_emails=campaign.mailbox_emails,
            stop_on_company_reply=campaign.stop_on_company_reply,
            source_file=campaign.source_file,
            created_at=at,
        )
    )
    assert result.inserted_primary_key is not None
    campaign_id = int(result.inserted_primary_key[0])
    conn.execute(
        insert(_S),
        [
            {
                "campaign_id": campaign_id,
                "position": index,
                "subject": step.subject,
                "body": step.body,
                "delay_days": step.delay_days,
            }
            for index, step in enumerate(steps, start=1)
        ],
    )
    return campaign_id


def set_campaign_status(
    conn: Connection,
    campaign_id: int,
    status: str,
    *,
    allowed_from: Sequence[str],
    paused_reason: str | None,
) -> bool:
    """Move the campaign to `status` if it is in one of `allowed_from` (and not there
    already); True when it moved."""
    changed = conn.execute(
        update(_C)
        .where(_C.c.id == campaign_id, _C.c.status.in_(list(allowed_from)), _C.c.status != status)
        .values(status=status, paused_reason=paused_reason)
    ).rowcount
    return bool(changed)


_PROGRESS = (
    select(
        _CL.c.campaign_id,
        func.count().label("leads"),
        func.sum(case((_CL.c.state.in_(OPEN_ENROLLMENT_STATES), 1), else_=0)).label("active"),
        func.sum(case((_CL.c.state == EnrollmentState.FINISHED.value, 1), else_=0)).label(
            "finished"
        ),
        func.sum(case((_CL.c.state == EnrollmentState.STOPPED.value, 1), else_=0)).label("stopped"),
        func.sum(_CL.c.next_step - 1).label("sent"),
    )
    .group_by(_CL.c.campaign_id)
    .subquery()
)
_STEP_COUNTS = (
    select(_S.c.campaign_id, func.count().label("steps")).group_by(_S.c.campaign_id).subquery()
)
_SUMMARIES = (
    select(
        _C.c.id,
        _C.c.name,
        _C.c.status,
        _C.c.approval,
        func.coalesce(_STEP_COUNTS.c.steps, 0),
        func.coalesce(_PROGRESS.c.leads, 0),
        func.coalesce(_PROGRESS.c.active, 0),
        func.coalesce(_PROGRESS.c.finished, 0),
        func.coalesce(_PROGRESS.c.stopped, 0),
        func.coalesce(_PROGRESS.c.sent, 0),
    )
    .select_from(
        _C.outerjoin(_PROGRESS, _PROGRESS.c.campaign_id == _C.c.id).outerjoin(
            _STEP_COUNTS, _STEP_COUNTS.c.campaign_id == _C.c.id
        )
    )
    .order_by(_C.c.id)
)


def campaign_summaries(conn: Connection) -> list[CampaignSummary]:
    """Every campaign with its progress, read from the enrollment index alone
    (ix_campaign_lead_progress), never from the ledger: every step sent moved its
    enrollment's `next_step` on by one, so the sum of `next_step - 1` is the sends."""
    return [
        CampaignSummary(*(row[0:4]), *(int(v) for v in row[4:])) for row in conn.execute(_SUMMARIES)
    ]


_TO_FINISH = select(_C.c.name).where(
    _C.c.status == CampaignStatus.ACTIVE.value,
    select(_CL.c.id).where(_CL.c.campaign_id == _C.c.id).exists(),
    ~select(_CL.c.id)
    .where(_CL.c.campaign_id == _C.c.id, _CL.c.state.in_(OPEN_ENROLLMENT_STATES))
    .exists(),
)


def campaigns_to_finish(conn: Connection) -> list[str]:
    """Names of the active campaigns with enrollments, none of them still open."""
    return [str(name) for name in conn.execute(_TO_FINISH).scalars()]


def mark_campaigns_finished(conn: Connection, names: Sequence[str], *, at: datetime) -> None:
    conn.execute(
        update(_C)
        .where(_C.c.name.in_(list(names)))
        .values(status=CampaignStatus.FINISHED.value, finished_at=at)
    )


# -- what the planner, the dispatcher and the explainer read of campaigns -----------------


@dataclass(frozen=True, slots=True)
class CampaignSetup:
    """What a campaign's file set up that sending needs: approval, zones, window, senders."""

    id: int
    name: str
    approval: str
    timezone: str
    default_timezone: str
    window_days: list[str] | None
    window_start: str
    window_end: str
    mailbox_emails: list[str] | None


_SETUPS = select(*columns(CampaignSetup, _C)).where(
    _C.c.status.in_(bindparam("statuses", expanding=True))
)
_STEPS = select(*columns(StepRecord, _S)).where(
    _S.c.campaign_id.in_(bindparam("campaign_ids", expanding=True))
)


def campaign_setups(conn: Connection, statuses: Sequence[str]) -> list[CampaignSetup]:
    """The campaigns in one of `statuses`."""
    return [CampaignSetup(*row) for row in conn.execute(_SETUPS, {"statuses": list(statuses)})]


def steps_of(conn: Connection, campaign_ids: Sequence[int]) -> list[StepRecord]:
    """The sequence steps of these campaigns (in no particular order)."""
    return [StepRecord(*row) for row in conn.execute(_STEPS, {"campaign_ids": list(campaign_ids)})]


# -- what inbound mail reads and moves (engine/inbox) -------------------------------------

# Prebuilt: an out-of-office reply postpones its lead's next step. (A WHERE parameter of an
# UPDATE is never named after a column: SQLAlchemy reserves those for the SET clause.)
_POSTPONE = DriverStatement(
    update(_CL)
    .where(
        _CL.c.lead_id == bindparam("for_lead"),
        _CL.c.state == EnrollmentState.ACTIVE.value,
        or_(_CL.c.next_due_at.is_(None), _CL.c.next_due_at < bindparam("resume")),
    )
    .values(next_due_at=bindparam("resume"), updated_at=bindparam("updated_at"))
)
_STATE = select(_CL.c.state).where(_CL.c.id == bindparam("enrollment_id"))


def postpone_enrollments(conn: Connection, lead_id: int, resume: datetime, at: datetime) -> int:
    """The lead's active enrollments wait until `resume` for their next step (those due later
    keep their time); how many moved."""
    params = {"for_lead": lead_id, "resume": resume, "updated_at": at}
    return int(_POSTPONE.execute(conn, params).rowcount)


def enrollment_state(conn: Connection, enrollment_id: int) -> str | None:
    value = conn.execute(_STATE, {"enrollment_id": enrollment_id}).scalar()
    return None if value is None else str(value)


# -- what the deliverability guard reads of campaigns ---------------------------------------


@dataclass(frozen=True, slots=True)
class CampaignBrief:
    id: int
    name: str
    status: str


_BRIEFS = select(_C.c.id, _C.c.name, _C.c.status)
_NAMES_BY_ID = select(_C.c.name).where(_C.c.id.in_(bindparam("ids", expanding=True)))


def campaign_briefs(conn: Connection) -> list[CampaignBrief]:
    """Every campaign's id, name and status."""
    return [CampaignBrief(*row) for row in conn.execute(_BRIEFS)]


def campaign_names(conn: Connection, ids: Sequence[int]) -> list[str]:
    """The names of these campaigns (those that exist), sorted."""
    if not ids:
        return []
    return sorted(conn.execute(_NAMES_BY_ID, {"ids": list(ids)}).scalars())
