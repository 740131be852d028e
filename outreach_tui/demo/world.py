"""The sandbox behind `outreach-tui demo`: a temporary SQLite database with campaigns,
mailboxes on several domains and leads, and an in-process mail world that plays the
recipients (accepts, hard-bounces a few percent, answers some with interested, not
interested, out-of-office and unsubscribe replies, sends DSN bounces back later).

Nothing leaves the process: the sandbox transport stands where the SMTP transport stands
and never opens a socket. Every decision it makes is derived from the recipient and a seed,
so the same sandbox plays the same way twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update

from outreach_tui.config import Settings, load_settings
from outreach_tui.core.days import local_day
from outreach_tui.core.states import LeadStatus
from outreach_tui.db import ledger
from outreach_tui.db import tables as t
from outreach_tui.db.session import write_tx
from outreach_tui.engine import Engine, build_engine
from outreach_tui.engine.campaigns import CampaignSpec
from outreach_tui.engine.clock import Clock, SystemClock
from outreach_tui.engine.leads import ingest_leads
from outreach_tui.engine.pool import SCOPE_MAILBOX, SCOPE_MAILBOX_BOUNCE

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

REPLY_KINDS = [
    ("interested", "Re: {subject}", "Sounds good, send me the details. When can we talk?"),
    ("not_interested", "Re: {subject}", "Thanks, but we are not interested."),
    ("out_of_office", "Automatic reply: {subject}", "I am out of the office until Monday."),
    ("unsubscribe", "Re: {subject}", "Please unsubscribe me from this list."),
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


@dataclass
class SandboxWorld:
    """Decides how the recipients of the sandbox behave and plays their answers back."""

    engine: Engine | None = None
    seed: str = "outreach-demo"
    bounce_percent: int = 4
    reply_percent: int = 30
    dsn_percent: int = 3
    pending: list[tuple[datetime, str, str, str]] = field(default_factory=list)
    subjects: dict[str, str] = field(default_factory=dict)
    received: int = 0

    def roll(self, *parts: str) -> int:
        digest = hashlib.sha256("\x1f".join((self.seed, *parts)).encode()).digest()
        return int.from_bytes(digest[:4], "big") % 100

    # -- what the sink asks ---------------------------------------------------------------

    def refuses(self, sender: str, recipient: str) -> bool:
        """A hard bounce at RCPT (550 5.1.1) for a few percent; many more for the bad list."""
        bad = sender == BAD_MAILBOX
        return self.roll("bounce", recipient) < (20 if bad else self.bounce_percent)

    def accepted(self, sender: str, recipient: str, message: bytes) -> None:
        """A message reached the sink: maybe a reply, maybe a DSN bounce later."""
        self.received += 1
        if self.engine is None:
            return
        now = self.engine.clock.now()
        self.subjects[recipient] = _header(message, b"Subject")
        roll = self.roll("reply", recipient)
        if self.roll("dsn", recipient) < self.dsn_percent:
            self.pending.append(
                (now + timedelta(seconds=3 + roll % 10), "bounce", sender, recipient)
            )
        elif roll < self.reply_percent:
            kind = REPLY_KINDS[roll % len(REPLY_KINDS)][0]
            self.pending.append((now + timedelta(seconds=4 + roll % 20), kind, sender, recipient))

    # -- replies arrive -----------------------------------------------------------------

    async def play_replies(self) -> None:
        """A job (in place of the IMAP poller): answers whose time has come land in the
        Inbox and stop sequences; DSN bounces suppress the address."""
        if self.engine is None:
            return
        now = self.engine.clock.now()
        due = [p for p in self.pending if p[0] <= now]
        self.pending = [p for p in self.pending if p[0] > now]
        for at, kind, mailbox, lead in due:
            await asyncio.to_thread(self.receive, kind, mailbox, lead, at)

    def receive(self, kind: str, mailbox: str, lead: str, at: datetime) -> None:
        engine = self.engine
        assert engine is not None
        original = self.subjects.get(lead, "your email")
        if kind == "bounce":
            raw = dsn_message(mailbox, lead, original, at)
            subject, snippet = "Undelivered Mail Returned to Sender", f"5.1.1 <{lead}>: unknown"
            sender = f"MAILER-DAEMON@{mailbox.split('@')[1]}"
        else:
            template = next(k for k in REPLY_KINDS if k[0] == kind)
            subject, snippet, raw, sender = (
                template[1].format(subject=original),
                template[2],
                None,
                lead,
            )
        with write_tx(engine.db) as conn:
            mailbox_id = conn.execute(
                select(t.mailbox.c.id).where(t.mailbox.c.email == mailbox)
            ).scalar()
            lead_id = conn.execute(select(t.lead.c.id).where(t.lead.c.email == lead)).scalar()
            uid = (
                int(
                    conn.execute(
                        select(t.reply.c.id).order_by(t.reply.c.id.desc()).limit(1)
                    ).scalar()
                    or 0
                )
                + 1
            )
            conn.execute(
                insert(t.reply).values(
                    mailbox_id=mailbox_id,
                    folder="INBOX",
                    uidvalidity=1,
                    uid=uid,
                    lead_id=lead_id,
                    message_id=f"<sandbox-{uid}@{sender.split('@')[1]}>",
                    from_email=sender,
                    subject=subject,
                    received_at=at,
                    classification=kind,
                    classified_by="rules",
                    snippet=snippet,
                    raw=raw,
                    handled=kind == "bounce",
                    created_at=at,
                )
            )
            if kind == "bounce":
                ledger.increment_counter(
                    conn, SCOPE_MAILBOX_BOUNCE, mailbox, local_day(at, engine.settings.tz)
                )
        if kind == "out_of_office":
            return
        if kind == "bounce":
            engine.stop_sequences(lead, reason="hard bounce (DSN)", status=LeadStatus.BOUNCED)
            engine.suppression.add(lead, reason="hard bounce (DSN 5.1.1)", source="bounce:sandbox")
            return
        status = LeadStatus.UNSUBSCRIBED if kind == "unsubscribe" else LeadStatus.REPLIED
        engine.stop_sequences(
            lead, reason=f"reply: {kind.replace('_', ' ')}", status=status, company_wide=True
        )
        if kind == "unsubscribe":
            engine.suppression.add(lead, reason="unsubscribed by reply", source="reply:sandbox")


def dsn_message(mailbox: str, lead: str, subject: str, at: datetime) -> bytes:
    """An RFC 3464 delivery status notification, as a receiving server would send it."""
    domain = mailbox.split("@")[1]
    boundary = f"dsn-{hashlib.sha256(lead.encode()).hexdigest()[:16]}"
    text = f"""From: MAILER-DAEMON@{domain}
To: {mailbox}
Subject: Undelivered Mail Returned to Sender
Date: {at.strftime("%a, %d %b %Y %H:%M:%S +0000")}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"

--{boundary}
Content-Type: text/plain; charset=us-ascii

Your message "{subject}" to <{lead}> could not be delivered.

--{boundary}
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.{lead.split("@")[1]}

Final-Recipient: rfc822; {lead}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 user unknown

--{boundary}--
"""
    return text.replace("\n", "\r\n").encode("utf-8", "replace")


def _header(payload: bytes, name: bytes) -> str:
    for line in payload.split(b"\r\n"):
        if line.lower().startswith(name.lower() + b":"):
            return line.split(b":", 1)[1].strip().decode("ascii", "replace")
        if not line:
            break
    return ""


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
    }
    values.update(overrides)
    return load_settings(None, **values)


@dataclass
class Sandbox:
    engine: Engine
    world: SandboxWorld
    sink: Any
    directory: Path

    async def start(self) -> None:
        await self.sink.start()

    async def stop(self) -> None:
        await self.sink.stop()

    def add_jobs(self, jobs: Any) -> None:
        """The sandbox's stand-in for the reply poller runs with the poll job."""
        jobs.hooks["poll"].append(self.world.play_replies)


def build_sandbox(
    directory: Path | None = None, *, clock: Clock | None = None, leads: int = 240, **overrides: Any
) -> Sandbox:
    """Create the sandbox database, its SMTP sink (served once `start()` runs inside the
    event loop) and an engine that sends to it through the real transport."""
    from outreach_tui.demo.sink import SandboxSink

    directory = directory or Path(tempfile.mkdtemp(prefix="outreach-sandbox-"))
    password = os.environ.setdefault(PASSWORD_ENV, secrets.token_urlsafe(12))
    world = SandboxWorld()
    sink = SandboxSink(world, directory, password)
    settings = sandbox_settings(directory, sink.port, sink.ca_file, **overrides)
    engine = build_engine(settings, headless=False, clock=clock or SystemClock())
    world.engine = engine
    seed_world(engine, leads)
    return Sandbox(engine, world, sink, directory)


def seed_world(engine: Engine, leads: int) -> None:
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
        engine.db,
        rows[:half],
        clock=engine.clock,
        operator_id=engine.operator_id,
        campaign="Guest posts Q1",
        source="sandbox",
    )
    ingest_leads(
        engine.db,
        rows[half:],
        clock=engine.clock,
        operator_id=engine.operator_id,
        campaign="Partnerships",
        source="sandbox",
    )
    now = engine.clock.now()
    today = local_day(now, engine.settings.tz)
    with write_tx(engine.db) as conn:
        conn.execute(update(t.lead).where(t.lead.c.id % 9 == 0).values(health="YELLOW"))
        conn.execute(update(t.lead).where(t.lead.c.id % 23 == 0).values(health="RED"))
        for index, (email, _) in enumerate(MAILBOXES):
            if email == BAD_MAILBOX:  # new this week: no history dilutes its bounce rate
                continue
            for back in range(1, 14):
                day = today - timedelta(days=back)
                sent = 20 + (index * 7 + back * 5) % 30
                ledger.increment_counter(conn, SCOPE_MAILBOX, email, day, sent)
        for value, kind, reason in (
            ("competitor.com", "domain", "competitor"),
            ("legal@firma.de", "address", "asked not to be contacted"),
        ):
            ledger.add_suppression(
                conn,
                kind=kind,
                value=value,
                reason=reason,
                source="sandbox",
                at=now,
                created_by=engine.operator_id,
            )
        ledger.write_event(
            conn,
            kind="sandbox",
            severity="info",
            at=now,
            message="sandbox started: nothing leaves this machine",
        )
        conn.execute(
            update(t.sending_domain).values(
                spf_ok=True, dkim_ok=True, dmarc_ok=True, blocklisted=False, dns_checked_at=now
            )
        )
        conn.execute(
            update(t.sending_domain)
            .where(t.sending_domain.c.name == "outreach-hq.net")
            .values(dmarc_ok=False)
        )
