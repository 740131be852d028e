"""Campaigns: the TOML file format, loading it into the database, and the life cycle
(active → paused → active, archived, finished when every enrolled lead is final).

A campaign file, in full (README shows it too):

    name = "Guest posts Q1"
    approval = "auto"                   # or "manual"
    mailboxes = ["alex@brand-news.com"] # omitted: every mailbox
    timezone = "recipient"              # or an IANA zone
    default_timezone = "Europe/Berlin"  # recipient mode: for leads without a timezone
    postal_address = "Example Ltd, 1 Main St, Springfield"
    stop_on_company_reply = false
    [window]
    days = ["mon", "tue", "wed", "thu", "fri"]
    start = "09:00"
    end = "17:00"
    [[steps]]
    subject = "{Quick|Short} question about {{company}}"
    body = "Hi {{first_name|there}}, ..."
    [[steps]]
    delay_days = 3
    body = "Just bumping this up."      # no subject: threaded "Re:" of step 1
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import Engine, case, func, insert, select, update

from outreach_tui.core.addresses import normalize_address
from outreach_tui.core.errors import InputError
from outreach_tui.core.states import CampaignStatus, EnrollmentState
from outreach_tui.core.templates import check_template
from outreach_tui.core.window import SendWindow
from outreach_tui.db import tables as t
from outreach_tui.db.repos.journal import write_audit
from outreach_tui.db.session import read_tx, write_tx
from outreach_tui.engine.clock import Clock


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WindowSpec(_Strict):
    days: list[str] = Field(default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"])
    start: str = "09:00"
    end: str = "17:00"

    @model_validator(mode="after")
    def _parses(self) -> WindowSpec:
        try:
            SendWindow.parse(self.days, self.start, self.end)
        except InputError as exc:
            raise ValueError(str(exc)) from None
        return self


class StepSpec(_Strict):
    subject: str | None = None
    body: str
    delay_days: float = Field(0, ge=0)

    @field_validator("subject", "body")
    @classmethod
    def _template_ok(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                check_template(value)
            except InputError as exc:
                raise ValueError(str(exc)) from None
        return value


class CampaignSpec(_Strict):
    name: str = Field(min_length=1, max_length=200)
    approval: Literal["auto", "manual"] = "auto"
    mailboxes: list[str] | None = None
    timezone: str = "recipient"
    default_timezone: str = "UTC"
    postal_address: str | None = None
    stop_on_company_reply: bool = False
    window: WindowSpec = Field(default_factory=WindowSpec)
    steps: list[StepSpec] = Field(min_length=1)

    @field_validator("timezone", "default_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if value == "recipient":
            return value
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown timezone {value!r} (use an IANA name such as Europe/Berlin, "
                'or "recipient")'
            ) from None
        return value

    @field_validator("mailboxes")
    @classmethod
    def _addresses(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        try:
            return [normalize_address(v) for v in value]
        except InputError as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _first_step_has_subject(self) -> CampaignSpec:
        if not self.steps[0].subject:
            raise ValueError("the first step needs a subject (later steps may thread as Re:)")
        if self.default_timezone == "recipient":
            raise ValueError('default_timezone must be an IANA zone, not "recipient"')
        return self


def load_campaign_file(path: Path) -> CampaignSpec:
    """Parse and validate a campaign file; errors name the file and the key."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return CampaignSpec.model_validate(data)
    except ValidationError as exc:
        lines = [f"{path}: invalid campaign:"]
        for err in exc.errors():
            key = ""
            for part in err["loc"]:
                key += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if key else part)
            message = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            lines.append(f"  {key or '(top level)'}: {message.removeprefix('Value error, ')}")
        raise InputError("\n".join(lines)) from None


@dataclass(frozen=True, slots=True)
class CampaignSummary:
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


class CampaignService:
    def __init__(self, db: Engine, clock: Clock, operator_id: str) -> None:
        self.db = db
        self.clock = clock
        self.operator_id = operator_id

    def create(self, spec: CampaignSpec, *, source_file: str | None = None) -> int:
        """Store a new campaign with its steps; a name already in use is an error."""
        now = self.clock.now()
        with write_tx(self.db) as conn:
            if conn.execute(select(t.campaign.c.id).where(t.campaign.c.name == spec.name)).first():
                raise InputError(f"a campaign named {spec.name!r} already exists")
            if spec.mailboxes:
                known = set(
                    conn.execute(
                        select(t.mailbox.c.email).where(t.mailbox.c.email.in_(spec.mailboxes))
                    ).scalars()
                )
                missing = [m for m in spec.mailboxes if m not in known]
                if missing:
                    raise InputError(
                        f"campaign {spec.name!r}: unknown mailbox(es) {', '.join(missing)} "
                        "(configure them in config.toml or `outreach-tui mailboxes import`)"
                    )
            result = conn.execute(
                insert(t.campaign).values(
                    name=spec.name,
                    status=CampaignStatus.ACTIVE.value,
                    approval=spec.approval,
                    timezone=spec.timezone,
                    default_timezone=spec.default_timezone,
                    postal_address=spec.postal_address,
                    window_days=spec.window.days,
                    window_start=spec.window.start,
                    window_end=spec.window.end,
                    mailbox_emails=spec.mailboxes,
                    stop_on_company_reply=spec.stop_on_company_reply,
                    source_file=source_file,
                    created_at=now,
                )
            )
            assert result.inserted_primary_key is not None
            campaign_id = int(result.inserted_primary_key[0])
            conn.execute(
                insert(t.sequence_step),
                [
                    {
                        "campaign_id": campaign_id,
                        "position": index,
                        "subject": step.subject,
                        "body": step.body,
                        "delay_days": step.delay_days,
                    }
                    for index, step in enumerate(spec.steps, start=1)
                ],
            )
            write_audit(
                conn,
                user_id=self.operator_id,
                policy_result="campaign_created",
                reason=f"campaign {spec.name!r} created with {len(spec.steps)} steps "
                f"({spec.approval} approval)",
                at=now,
            )
        return campaign_id

    def id_of(self, name: str) -> int:
        with read_tx(self.db) as conn:
            found = conn.execute(select(t.campaign.c.id).where(t.campaign.c.name == name)).scalar()
        if found is None:
            raise InputError(f"no campaign named {name!r}")
        return int(found)

    def set_status(self, name: str, status: CampaignStatus, *, reason: str = "") -> bool:
        """Pause, resume or archive. Progress is kept: resuming never restarts the list."""
        campaign_id = self.id_of(name)
        now = self.clock.now()
        allowed_from = {
            CampaignStatus.PAUSED: (CampaignStatus.ACTIVE,),
            CampaignStatus.ACTIVE: (CampaignStatus.PAUSED,),
            CampaignStatus.ARCHIVED: tuple(CampaignStatus),
        }[status]
        with write_tx(self.db) as conn:
            changed = conn.execute(
                update(t.campaign)
                .where(
                    t.campaign.c.id == campaign_id,
                    t.campaign.c.status.in_([s.value for s in allowed_from]),
                    t.campaign.c.status != status.value,
                )
                .values(
                    status=status.value,
                    paused_reason=reason or None if status is CampaignStatus.PAUSED else None,
                )
            ).rowcount
            if changed:
                write_audit(
                    conn,
                    user_id=self.operator_id,
                    policy_result=f"campaign_{status.value}",
                    reason=f"campaign {name!r} {status.value}" + (f": {reason}" if reason else ""),
                    at=now,
                )
        return bool(changed)

    def summaries(self) -> list[CampaignSummary]:
        """Every campaign with its progress, read from the enrollment index alone
        (ix_campaign_lead_progress), never from the ledger: every step sent moved its
        enrollment's `next_step` on by one, so the sum of `next_step - 1` is the sends."""
        cl = t.campaign_lead
        progress = (
            select(
                cl.c.campaign_id,
                func.count().label("leads"),
                func.sum(case((cl.c.state.in_(_OPEN_STATES), 1), else_=0)).label("active"),
                func.sum(case((cl.c.state == EnrollmentState.FINISHED.value, 1), else_=0)).label(
                    "finished"
                ),
                func.sum(case((cl.c.state == EnrollmentState.STOPPED.value, 1), else_=0)).label(
                    "stopped"
                ),
                func.sum(cl.c.next_step - 1).label("sent"),
            )
            .group_by(cl.c.campaign_id)
            .subquery()
        )
        steps = (
            select(t.sequence_step.c.campaign_id, func.count().label("steps"))
            .group_by(t.sequence_step.c.campaign_id)
            .subquery()
        )
        query = (
            select(
                t.campaign.c.id,
                t.campaign.c.name,
                t.campaign.c.status,
                t.campaign.c.approval,
                func.coalesce(steps.c.steps, 0),
                func.coalesce(progress.c.leads, 0),
                func.coalesce(progress.c.active, 0),
                func.coalesce(progress.c.finished, 0),
                func.coalesce(progress.c.stopped, 0),
                func.coalesce(progress.c.sent, 0),
            )
            .select_from(
                t.campaign.outerjoin(progress, progress.c.campaign_id == t.campaign.c.id).outerjoin(
                    steps, steps.c.campaign_id == t.campaign.c.id
                )
            )
            .order_by(t.campaign.c.id)
        )
        with read_tx(self.db) as conn:
            return [
                CampaignSummary(*(row[0:4]), *(int(v) for v in row[4:]))
                for row in conn.execute(query)
            ]

    def refresh_finished(self) -> list[str]:
        """Mark active campaigns finished once every enrolled lead is in a final state."""
        cl = t.campaign_lead
        now = self.clock.now()
        open_leads = (
            select(cl.c.id)
            .where(cl.c.campaign_id == t.campaign.c.id, cl.c.state.in_(_OPEN_STATES))
            .exists()
        )
        any_leads = select(cl.c.id).where(cl.c.campaign_id == t.campaign.c.id).exists()
        with write_tx(self.db) as conn:
            names = list(
                conn.execute(
                    select(t.campaign.c.name).where(
                        t.campaign.c.status == CampaignStatus.ACTIVE.value,
                        any_leads,
                        ~open_leads,
                    )
                ).scalars()
            )
            if names:
                conn.execute(
                    update(t.campaign)
                    .where(t.campaign.c.name.in_(names))
                    .values(status=CampaignStatus.FINISHED.value, finished_at=now)
                )
                for name in names:
                    write_audit(
                        conn,
                        user_id=self.operator_id,
                        policy_result="campaign_finished",
                        reason=f"campaign {name!r} finished: every lead reached a final state",
                        at=now,
                    )
        return names


_OPEN_STATES = [
    EnrollmentState.ACTIVE.value,
    EnrollmentState.QUEUED.value,
    EnrollmentState.HELD.value,
]
