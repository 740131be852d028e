"""What the demo's sandbox starts with: its mailboxes on three made-up domains, three
campaigns (one on a bought list that the monitor pauses), a few hundred leads, two weeks of
sending history and the settings that point every mailbox at the local sink.

Campaigns and leads go in through the engine's own services (`CampaignService.create`,
`ingest_leads`); what only a sandbox invents (lead health without verification, the
history, DNS results) through `db/repos` functions in one transaction.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from outreach_tui.config import Settings, load_settings
from outreach_tui.core.days import local_day
from outreach_tui.core.states import CounterScope
from outreach_tui.db.repos.counters import increment_counter
from outreach_tui.db.repos.journal import write_event
from outreach_tui.db.repos.sandbox import grade_every_nth_lead, mark_domains_checked
from outreach_tui.db.repos.suppression import add_suppression
from outreach_tui.engine import Engine
from outreach_tui.engine.leads.ingest import ingest_leads
from outreach_tui.engine.sending.campaigns import CampaignSpec

PASSWORD_ENV = "OUTREACH_SANDBOX_PASSWORD"

MAILBOXES = [
    ("alex@brand-news.com", "Alex"),
    ("sam@brand-news.com", "Sam"),
    ("kim@brandmail.io", "Kim"),
    ("lee@brandmail.io", "Lee"),
    ("noor@outreach-hq.net", "Noor"),
    ("max@outreach-hq.net", "Max"),
]
#: This one's list is bad: the monitor pauses it within a minute of sending.
BAD_MAILBOX = "max@outreach-hq.net"

FIRST = [
    "Anna",
    "Ben",
    "Chloé",
    "Dev",
    "Eva",
    "Farid",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Kai",
    "Lena",
    "Mats",
    "Nina",
    "Omar",
    "Paula",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
]
COMPANIES = [
    ("Firma", "de", "Europe/Berlin"),
    ("Studio", "fr", "Europe/Paris"),
    ("Labs", "com", "America/New_York"),
    ("Works", "co.uk", "Europe/London"),
    ("Media", "nl", "Europe/Amsterdam"),
    ("Digital", "com", "America/Chicago"),
    ("Group", "ca", "America/Toronto"),
    ("Press", "com.au", "Australia/Sydney"),
]

CAMPAIGNS = [
    {
        "name": "Guest posts Q1",
        "approval": "auto",
        "timezone": "UTC",
        "postal_address": "Brand News Ltd, 1 Main St, Springfield",
        "window": {
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "start": "00:00",
            "end": "24:00",
        },
        "steps": [
            {
                "subject": "{Quick|Short} question about {{company}}",
                "body": "Hi {{first_name|there}},\n\nwould {{company}} take a guest post about "
                "{outreach|email} that works?\n\n{{sender_name}}",
            },
            {"delay_days": 2, "body": "Just bumping this up, {{first_name|there}}."},
            {"delay_days": 4, "body": "Last note from me. All the best, {{sender_name}}"},
        ],
    },
    {
        "name": "Partnerships",
        "approval": "manual",
        "timezone": "recipient",
        "window": {
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "start": "00:00",
            "end": "24:00",
        },
        "steps": [
            {
                "subject": "Partnership idea for {{company}}",
                "body": "Hello {{first_name|there}},\n\nI think {{company}} and we could do "
                "something together.\n\n{{sender_name}}",
            },
            {"delay_days": 3, "body": "Any thoughts, {{first_name|there}}?"},
        ],
    },
    {
        # A bought list on one mailbox: its bounces make the monitor pause that mailbox.
        "name": "Cold list (bought)",
        "approval": "auto",
        "timezone": "UTC",
        "mailboxes": [BAD_MAILBOX],
        "window": {
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "start": "00:00",
            "end": "24:00",
        },
        "steps": [
            {
                "subject": "Hello {{company}}",
                "body": "Hi {{first_name|there}}, a quick idea for {{company}}.",
            }
        ],
    },
]


def _unsubscribe_key(directory: Path) -> Path:
    """A random key for the sandbox's one-click links, in a file only its owner reads."""
    path = directory / "unsubscribe.key"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
    return path


def sandbox_settings(directory: Path, port: int, ca_file: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{directory / 'sandbox.db'}",
        "mailboxes": [
            {
                "email": email,
                "from_name": name,
                "smtp_host": "127.0.0.1",
                "smtp_port": port,
                "smtp_security": "starttls",
                "smtp_password": f"env:{PASSWORD_ENV}",
                # Established mailboxes (14 days of history below), not new ones on the
                # warmup ramp: the demo shows a day of sending within minutes.
                "daily_limit": 150,
            }
            for email, name in MAILBOXES
        ],
        "tls": {"ca_file": str(ca_file)},
        "smtp_send_timeout": 10,
        "sending": {
            "min_gap_seconds": 1,
            "max_gap_seconds": 4,
            "default_daily_limit": 150,
            "postal_address": "Brand News Ltd, 1 Main St, Springfield",
            # Signed one-click links, as a real setup carries them (nothing serves this
            # name: the sandbox's mail never leaves the machine).
            "unsubscribe_url": "https://unsubscribe.sandbox.invalid/unsubscribe/{token}",
            "unsubscribe_key": f"file:{_unsubscribe_key(directory)}",
        },
        "policy": {"daily_user_cap": 5000, "daily_domain_cap": 20},
        "scheduler": {
            "plan_seconds": 3,
            "dispatch_seconds": 1,
            "monitor_seconds": 5,
            "poll_minutes": 0.05,
            "lease_seconds": 30,
        },
        "logging": {"file": str(directory / "sandbox.log")},
        # The sandbox's domains are not real: no DNS health lookups leave the machine.
        "dns": {"health_checks": False},
        # Nor SMTP probes: the sandbox's leads go out unverified (some are marked
        # YELLOW and RED below to show the health gate).
        "verify": {"required": False},
    }
    values.update(overrides)
    return load_settings(None, **values)


def seed_world(engine: Engine, leads: int) -> None:
    """The sandbox's campaigns and `leads` leads (two thirds in "Guest posts Q1", the rest
    in "Partnerships", some graded YELLOW or RED), two weeks of sending history for all but
    the bad list's mailbox, two suppression entries and the DNS results of its domains."""
    for spec in CAMPAIGNS:
        engine.campaigns.create(CampaignSpec.model_validate(spec), source_file="sandbox")
    rows = []
    for i in range(leads):
        first = FIRST[i % len(FIRST)]
        word, tld, zone = COMPANIES[i % len(COMPANIES)]
        company = f"{first[:3].title()}{word}"
        rows.append(
            (
                f"sandbox:{i + 2}",
                {
                    "email": f"{first.lower().replace('é', 'e')}.{i}@{company.lower()}.{tld}",
                    "first_name": first if i % 7 else "",
                    "company": company,
                    "timezone": zone,
                },
            )
        )
    half = len(rows) * 2 // 3
    ingest_leads(
        engine.ctx.db,
        rows[:half],
        clock=engine.clock,
        operator_id=engine.operator_id,
        campaign="Guest posts Q1",
        source="sandbox",
    )
    ingest_leads(
        engine.ctx.db,
        rows[half:],
        clock=engine.clock,
        operator_id=engine.operator_id,
        campaign="Partnerships",
        source="sandbox",
    )
    now = engine.clock.now()
    today = local_day(now, engine.settings.tz)
    with engine.ctx.db.write() as conn:
        grade_every_nth_lead(conn, 9, "YELLOW")
        grade_every_nth_lead(conn, 23, "RED")
        for index, (email, _) in enumerate(MAILBOXES):
            if email == BAD_MAILBOX:  # new this week: no history dilutes its bounce rate
                continue
            for back in range(1, 14):
                day = today - timedelta(days=back)
                sent = 20 + (index * 7 + back * 5) % 30
                increment_counter(conn, CounterScope.MAILBOX, email, day, sent)
        for value, kind, reason in (
            ("competitor.com", "domain", "competitor"),
            ("legal@firma.de", "address", "asked not to be contacted"),
        ):
            add_suppression(
                conn,
                kind=kind,
                value=value,
                reason=reason,
                source="sandbox",
                at=now,
                created_by=engine.operator_id,
            )
        write_event(
            conn,
            kind="sandbox",
            severity="info",
            at=now,
            message="sandbox started: nothing leaves this machine",
        )
        mark_domains_checked(conn, now, dmarc_failing=["outreach-hq.net"])
