"""What came back about a lead's sends, for `outreach-tui leads why`: hard bounces, policy
refusals (the receiver refused the sending mailbox: the address is kept), soft bounces and
the separate days they fell on (`[replies] soft_bounce_days` of them suppress), complaints,
messages returned undelivered, at SMTP time or reported later. Reports that matched none of
our sends are left out: they did nothing (core/event_effects.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from outreach_tui.config import Settings
from outreach_tui.db.records import LeadRecord
from outreach_tui.db.repos.soft_bounces import soft_bounce_days
from outreach_tui.db.repos.views_history import refused_sends, reports_about

#: (campaign or None, what happened)
HistoryLine = tuple[str | None, str]


def _when(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d}" if at is not None else "(date unknown)"


def _step(campaign: str | None, step: int | None) -> str:
    return f" (step {step})" if campaign and step else ""


def lead_history(conn: Connection, lead: LeadRecord, settings: Settings) -> list[HistoryLine]:
    """The lead's bounce, policy, soft and complaint history, newest first, then its soft
    bounce days."""
    out: list[HistoryLine] = []
    for sent in refused_sends(conn, lead.id):
        said = f"{sent.smtp_code or ''} {sent.smtp_response or ''}".strip()[:120]
        what = "hard bounce" if sent.error_class == "hard_bounce" else "refused"
        out.append(
            (
                sent.campaign,
                f"{what} at SMTP time on {_when(sent.at)}{_step(sent.campaign, sent.step)} "
                f"from {sent.sender}: {said}",
            )
        )
    for report in reports_about(conn, lead.id, lead.email):
        if report.classification == "complaint":
            what = "spam complaint"
        elif report.delivery_status == "delayed":
            what = "delay notice (still being tried)"
        else:
            klass = report.bounce_class or (
                "hard" if report.classification == "bounce_hard" else "soft"
            )
            what = {"policy": "policy refusal (the address is kept)"}.get(klass, f"{klass} bounce")
            if report.expired:
                what += ", returned after retries ran out"
        effect = f": {report.effect}" if report.effect else ""
        out.append(
            (
                report.campaign,
                f"{what} reported on {_when(report.at)}{_step(report.campaign, report.step)} "
                f"to {report.mailbox}{effect}",
            )
        )
    days = soft_bounce_days(conn, lead.email)
    if days:
        needed = settings.replies.soft_bounce_days
        listed = ", ".join(f"{d:%Y-%m-%d}" for d in days[-needed:])
        verdict = "suppressed" if len(days) >= needed else f"{needed} suppress"
        out.append((None, f"soft bounces on {len(days)} separate day(s) ({listed}); {verdict}"))
    return out
