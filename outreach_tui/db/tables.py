"""The tables as SQLAlchemy Core `Table`s, one name each: what the repositories (db/repos)
build every statement from. The schema itself is declared once, as the SQLModel classes of
db/models.py (which the migrations' autogenerate compares against); nothing in the project
uses the ORM's sessions or model instances."""

from __future__ import annotations

from sqlalchemy import Table

from outreach_tui.db import models


def _t(model: type) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


operator = _t(models.Operator)
sending_domain = _t(models.SendingDomain)
mailbox = _t(models.Mailbox)
campaign = _t(models.Campaign)
sequence_step = _t(models.SequenceStep)
lead = _t(models.Lead)
campaign_lead = _t(models.CampaignLead)
attempt = _t(models.OutreachAttempt)
audit_log = _t(models.AuditLog)
suppression = _t(models.Suppression)
daily_counter = _t(models.DailyCounter)
idempotency_key = _t(models.IdempotencyKey)
reply = _t(models.Reply)
imap_cursor = _t(models.ImapCursor)
soft_bounce = _t(models.SoftBounce)
domain_insight = _t(models.DomainInsight)
event = _t(models.Event)
lease = _t(models.Lease)
worker_process = _t(models.WorkerProcess)
webhook_delivery = _t(models.WebhookDelivery)
webhook_cursor = _t(models.WebhookCursor)
