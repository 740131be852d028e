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
    delay_days = 3                      # days after the previous step, 0 to 365
    body = "Just bumping this up."      # no subject: threaded "Re:" of step 1

Numbers and texts have bounds (steps at most 50, a subject 500 characters, a body 100,000),
checked when the file is loaded: an error names the key (`steps[2].delay_days: must be
between 0 and 365`).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from outreach_tui.core.addresses import normalize_address
from outreach_tui.core.bounds import MAX_STEP_DELAY_DAYS, Range
from outreach_tui.core.errors import InputError
from outreach_tui.core.keys import key_path
from outreach_tui.core.states import CampaignStatus
from outreach_tui.core.templates import check_template
from outreach_tui.core.window import SendWindow
from outreach_tui.db.repos.campaigns import (
    CampaignSummary,
    NewCampaign,
    NewStep,
    campaign_id_by_name,
    campaign_summaries,
    campaigns_to_finish,
    insert_campaign,
    mark_campaigns_finished,
    set_campaign_status,
)
from outreach_tui.db.repos.journal import write_audit, write_event
from outreach_tui.db.repos.mailboxes import mailbox_emails_among
from outreach_tui.engine.context import EngineContext

# CampaignSummary (db/repos/campaigns.py) is what the console's Campaigns pane shows.
__all__ = [
    "CampaignService",
    "CampaignSpec",
    "CampaignSummary",
    "StepSpec",
    "WindowSpec",
    "load_campaign_file",
]


#: How far a campaign file may go: a sequence, its texts, its mailboxes.
MAX_STEPS = 50
MAX_SUBJECT_CHARS = 500
MAX_BODY_CHARS = 100_000
MAX_CAMPAIGN_MAILBOXES = 1_000


class _Strict(BaseModel):
    # Every number has a range (core/bounds.py): a delay beyond any date would only fail
    # after the server accepted the message.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class WindowSpec(_Strict):
    days: list[str] = Field(
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"], max_length=7
    )
    start: str = Field("09:00", max_length=5)
    end: str = Field("17:00", max_length=5)

    @model_validator(mode="after")
    def _parses(self) -> WindowSpec:
        try:
            SendWindow.parse(self.days, self.start, self.end)
        except InputError as exc:
            raise ValueError(str(exc)) from None
        return self


class StepSpec(_Strict):
    subject: str | None = Field(None, max_length=MAX_SUBJECT_CHARS)
    body: str = Field(max_length=MAX_BODY_CHARS)
    delay_days: Annotated[float, Range(0, MAX_STEP_DELAY_DAYS)] = 0
    """Days after the previous step went out (0 to 365)."""

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
    mailboxes: list[str] | None = Field(None, max_length=MAX_CAMPAIGN_MAILBOXES)
    timezone: str = Field("recipient", max_length=100)
    default_timezone: str = Field("UTC", max_length=100)
    postal_address: str | None = Field(None, max_length=500)
    stop_on_company_reply: bool = False
    window: WindowSpec = Field(default_factory=WindowSpec)
    steps: list[StepSpec] = Field(min_length=1, max_length=MAX_STEPS)

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
            key = key_path(err["loc"], first_index=1)
            message = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            lines.append(f"  {key or '(top level)'}: {message.removeprefix('Value error, ')}")
        raise InputError("\n".join(lines)) from None


class CampaignService:
    """Campaigns from their files into the database, and their life cycle."""

    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx

    def create(self, spec: CampaignSpec, *, source_file: str | None = None) -> int:
        """Store a new campaign with its steps; a name already in use is an error."""
        now = self.ctx.clock.now()
        with self.ctx.db.write() as conn:
            if campaign_id_by_name(conn, spec.name) is not None:
                raise InputError(f"a campaign named {spec.name!r} already exists")
            if spec.mailboxes:
                known = mailbox_emails_among(conn, spec.mailboxes)
                missing = [m for m in spec.mailboxes if m not in known]
                if missing:
                    raise InputError(
                        f"campaign {spec.name!r}: unknown mailbox(es) {', '.join(missing)} "
                        "(configure them in config.toml or `outreach-tui mailboxes import`)"
                    )
            campaign = NewCampaign(
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
            )
            steps = [NewStep(s.subject, s.body, s.delay_days) for s in spec.steps]
            campaign_id = insert_campaign(conn, campaign, steps, at=now)
            write_audit(
                conn,
                user_id=self.ctx.operator_id,
                policy_result="campaign_created",
                reason=f"campaign {spec.name!r} created with {len(spec.steps)} steps "
                f"({spec.approval} approval)",
                at=now,
            )
        return campaign_id

    def id_of(self, name: str) -> int:
        with self.ctx.db.read() as conn:
            found = campaign_id_by_name(conn, name)
        if found is None:
            raise InputError(f"no campaign named {name!r}")
        return found

    def set_status(self, name: str, status: CampaignStatus, *, reason: str = "") -> bool:
        """Pause, resume or archive. Progress is kept: resuming never restarts the list."""
        campaign_id = self.id_of(name)
        now = self.ctx.clock.now()
        allowed_from = {
            CampaignStatus.PAUSED: (CampaignStatus.ACTIVE,),
            CampaignStatus.ACTIVE: (CampaignStatus.PAUSED,),
            CampaignStatus.ARCHIVED: tuple(CampaignStatus),
        }[status]
        with self.ctx.db.write() as conn:
            changed = set_campaign_status(
                conn,
                campaign_id,
                status.value,
                allowed_from=[s.value for s in allowed_from],
                paused_reason=reason or None if status is CampaignStatus.PAUSED else None,
            )
            if changed:
                write_audit(
                    conn,
                    user_id=self.ctx.operator_id,
                    policy_result=f"campaign_{status.value}",
                    reason=f"campaign {name!r} {status.value}" + (f": {reason}" if reason else ""),
                    at=now,
                )
        return changed

    def summaries(self) -> list[CampaignSummary]:
        """Every campaign with its progress (read from the enrollment index alone)."""
        with self.ctx.db.read() as conn:
            return campaign_summaries(conn)

    def refresh_finished(self) -> list[str]:
        """Mark active campaigns finished once every enrolled lead is in a final state."""
        now = self.ctx.clock.now()
        with self.ctx.db.write() as conn:
            names = campaigns_to_finish(conn)
            if names:
                mark_campaigns_finished(conn, names, at=now)
                for name in names:
                    write_audit(
                        conn,
                        user_id=self.ctx.operator_id,
                        policy_result="campaign_finished",
                        reason=f"campaign {name!r} finished: every lead reached a final state",
                        at=now,
                    )
                    # The console's journal and the outbound webhooks (campaign.finished).
                    write_event(
                        conn,
                        kind="campaign_finished",
                        message=f"campaign {name!r} finished: every lead reached a final state",
                        at=now,
                        subject_type="campaign",
                        data={"campaign": name},
                    )
        return names
