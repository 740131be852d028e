"""Campaign plans and step rendering, shared by the planner, the dispatcher and the explainer.

A `CampaignPlan` is what sending needs of a campaign (its approval, the zone its window is
read in, its senders and its steps), read once per tick. `render_step` is a step as it will
be sent to one lead: spintax is seeded per campaign, lead and step, so a preview (the
explainer's forecast, the approval queue) is the text that goes out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from outreach_tui.core.templates import render
from outreach_tui.core.window import SendWindow
from outreach_tui.db.records import StepRecord
from outreach_tui.db.repos.campaigns import campaign_setups, steps_of


@dataclass(frozen=True, slots=True)
class CampaignPlan:
    """What the planner needs of one campaign, read once per tick."""

    id: int
    name: str
    approval: str
    timezone: str
    default_timezone: str
    window: SendWindow
    mailbox_emails: tuple[str, ...] | None
    steps: dict[int, StepRecord]
    """By position (1-based)."""

    def zone_for(self, lead_timezone: str | None) -> ZoneInfo:
        """The zone the window is read in for a lead: the campaign's, or the lead's own."""
        if self.timezone != "recipient":
            return ZoneInfo(self.timezone)
        if lead_timezone:
            try:
                return ZoneInfo(lead_timezone)
            except (KeyError, ValueError):  # imported leads are validated; be safe anyway
                pass
        return ZoneInfo(self.default_timezone)


def load_campaigns(conn: Connection, statuses: tuple[str, ...]) -> dict[int, CampaignPlan]:
    """The campaigns in one of `statuses` with their steps, by id (two statements)."""
    setups = campaign_setups(conn, statuses)
    steps: dict[int, dict[int, StepRecord]] = {setup.id: {} for setup in setups}
    if setups:
        for step in steps_of(conn, list(steps)):
            steps[step.campaign_id][step.position] = step
    return {
        setup.id: CampaignPlan(
            id=setup.id,
            name=setup.name,
            approval=setup.approval,
            timezone=setup.timezone,
            default_timezone=setup.default_timezone,
            window=SendWindow.parse(setup.window_days or [], setup.window_start, setup.window_end),
            mailbox_emails=tuple(setup.mailbox_emails) if setup.mailbox_emails else None,
            steps=steps[setup.id],
        )
        for setup in setups
    }


class TemplateLead(Protocol):
    """What a template may read of a lead (`db.records.LeadRecord` has it)."""

    @property
    def id(self) -> int: ...
    @property
    def email(self) -> str: ...
    @property
    def domain(self) -> str: ...
    @property
    def first_name(self) -> str | None: ...
    @property
    def last_name(self) -> str | None: ...
    @property
    def company(self) -> str | None: ...
    @property
    def website(self) -> str | None: ...
    @property
    def custom(self) -> dict[str, Any] | None: ...


class Threaded(Protocol):
    """An enrollment, for the subject of a step that threads under the first one."""

    @property
    def first_subject(self) -> str | None: ...


class Sender(Protocol):
    """The mailbox a step goes out from."""

    @property
    def email(self) -> str: ...
    @property
    def from_name(self) -> str | None: ...


def lead_variables(lead: TemplateLead, sender_name: str, sender_email: str) -> dict[str, object]:
    """What a template may use: the lead's columns, its custom fields, and the sender."""
    variables: dict[str, object] = dict(lead.custom or {})
    variables.update(
        email=lead.email,
        domain=lead.domain,
        first_name=lead.first_name,
        last_name=lead.last_name,
        company=lead.company,
        website=lead.website,
        sender_name=sender_name,
        sender_email=sender_email,
    )
    return variables


def render_step(
    campaign: CampaignPlan,
    step: StepRecord,
    lead: TemplateLead,
    enrollment: Threaded,
    sender: Sender,
) -> tuple[str, str]:
    """(subject, body) as they will be sent. Raises MissingVariable / TemplateSyntaxError."""
    seed = f"{campaign.id}:{lead.id}:{step.position}"
    variables = lead_variables(lead, sender.from_name or "", sender.email)
    body = render(step.body, variables, seed + ":body")
    if step.subject:
        subject = render(step.subject, variables, seed + ":subject")
    else:
        first = enrollment.first_subject or ""
        subject = first if first.lower().startswith("re:") else f"Re: {first}"
    return subject, body
