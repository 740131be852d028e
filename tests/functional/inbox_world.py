"""A world for the reply-inbox tests: an engine whose mailbox reads a real Dovecot user over
IMAP, and our side of the threads (leads, enrollments, sent attempts with known Message-IDs)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from outreach_tui.config import load_settings
from outreach_tui.db import tables as t
from outreach_tui.db.repos.leads import get_or_create_lead
from outreach_tui.db.session import read_tx, write_tx
from outreach_tui.engine import Engine, build_engine
from outreach_tui.engine.clock import SimulatedClock
from outreach_tui.logsetup import configure_logging
from tests.functional.backend import database_url
from tests.functional.helpers import START
from tests.servers.dovecot import DovecotServer, DovecotUser

MAILBOX = "sam@outreach.test"  # the corpus's messages are addressed to this mailbox
IMAP_PASSWORD_ENV = "TEST_IMAP_PASSWORD"
SMTP_PASSWORD_ENV = "TEST_SMTP_PASSWORD"
CORPUS = Path(__file__).resolve().parents[1] / "data" / "inbound"


@dataclass(frozen=True)
class Case:
    file: str
    kind: str
    raw: bytes
    spec: dict[str, Any]


def corpus() -> list[Case]:
    manifest = tomllib.loads((CORPUS / "cases.toml").read_text(encoding="utf-8"))
    return [
        Case(c["file"], c["kind"], (CORPUS / c["file"]).read_bytes(), c) for c in manifest["case"]
    ]


def ca_bundle(tmp_path: Path, dovecot: DovecotServer, pki: Any) -> Path:
    """The test CA and the Dovecot's own: the session's Dovecot may have been started from a
    directory whose conftest defines another `pki` (tests/servers_selftest)."""
    if dovecot.pki.ca_file == pki.ca_file:
        return Path(pki.ca_file)
    bundle = tmp_path / "ca-bundle.pem"
    bundle.write_bytes(Path(pki.ca_file).read_bytes() + Path(dovecot.pki.ca_file).read_bytes())
    return bundle


def inbox_engine(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    dovecot: DovecotServer,
    user: DovecotUser,
    pki: Any,
    *,
    security: str = "tls",
    smtp: Any = None,
    clock: SimulatedClock | None = None,
    transport: Any = None,
    **extra: Any,
) -> Engine:
    monkeypatch.setenv(IMAP_PASSWORD_ENV, user.password)
    monkeypatch.setenv(SMTP_PASSWORD_ENV, "smtp-secret")
    mailbox: dict[str, Any] = {
        "email": MAILBOX,
        "from_name": "Sam",
        "smtp_host": smtp.host if smtp else "127.0.0.1",
        "smtp_port": smtp.port if smtp else 9,
        "smtp_user": MAILBOX,
        "smtp_password": f"env:{SMTP_PASSWORD_ENV}",
        "imap_host": dovecot.host,
        "imap_port": dovecot.imaps_port if security == "tls" else dovecot.imap_port,
        "imap_security": security,
        "imap_user": user.name,
        "imap_password": f"env:{IMAP_PASSWORD_ENV}",
    }
    mailbox.update(extra.pop("mailbox", {}))
    overrides: dict[str, Any] = {
        "database_url": database_url(tmp_path),
        "mailboxes": [mailbox],
        "tls": {"ca_file": str(ca_bundle(tmp_path, dovecot, pki))},
        "smtp_send_timeout": 30,
        "logging": {"file": str(tmp_path / "outreach.log")},
        "replies": {"imap_timeout_seconds": 10, "reconcile_min_age_minutes": 0},
    }
    overrides.update(extra)
    settings = load_settings(None, **overrides)
    configure_logging("DEBUG", settings.logging.file)
    return build_engine(
        settings, headless=True, clock=clock or SimulatedClock(START), transport=transport
    )


def seed_thread(
    engine: Engine,
    *,
    recipient: str,
    message_id: str,
    subject: str = "Quick question",
    state: str = "sent",
    campaign: str | None = None,
) -> dict[str, int]:
    """Our side of a thread: a lead in a two-step campaign whose step 1 went out as
    `message_id` (with angle brackets), its step 2 due in two days."""
    now = engine.clock.now()
    with write_tx(engine.db) as conn:
        mailbox_id = conn.execute(
            select(t.mailbox.c.id).where(t.mailbox.c.email == MAILBOX)
        ).scalar_one()
        lead = get_or_create_lead(conn, recipient, source="test", at=now)
        campaign_id = conn.execute(
            insert(t.campaign)
            .values(
                name=campaign or f"campaign for {message_id}",
                status="active",
                window_days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                created_at=now,
            )
            .returning(t.campaign.c.id)
        ).scalar_one()
        for position in (1, 2):
            conn.execute(
                insert(t.sequence_step).values(
                    campaign_id=campaign_id,
                    position=position,
                    subject=subject if position == 1 else None,
                    body="hello",
                    delay_days=2 if position == 2 else 0,
                )
            )
        enrollment = conn.execute(
            insert(t.campaign_lead)
            .values(
                campaign_id=campaign_id,
                lead_id=lead.id,
                mailbox_id=mailbox_id,
                next_step=2,
                next_due_at=now + timedelta(days=2),
                state="active",
                thread_message_ids=[message_id],
                first_subject=subject,
            )
            .returning(t.campaign_lead.c.id)
        ).scalar_one()
        attempt = conn.execute(
            insert(t.attempt)
            .values(
                lead_id=lead.id,
                campaign_id=campaign_id,
                campaign_lead_id=enrollment,
                step_position=1,
                mailbox_id=mailbox_id,
                operator_id=engine.operator_id,
                sender_email=MAILBOX,
                recipient_email=recipient,
                recipient_domain=recipient.split("@")[1],
                subject=subject,
                body="hello",
                idempotency_key=f"k-{message_id}"[:64],
                state=state,
                message_id=message_id,
                sent_at=now if state == "sent" else None,
                updated_at=now - timedelta(hours=1),
                created_at=now - timedelta(hours=1),
            )
            .returning(t.attempt.c.id)
        ).scalar_one()
    return {"lead": lead.id, "enrollment": enrollment, "attempt": attempt}


async def poll_until_idle(engine: Engine, rounds: int = 10) -> list[Any]:
    """Poll cycles until one fetches nothing; returns the cycles."""
    cycles = []
    for _ in range(rounds):
        cycle = await engine.poll_replies()
        cycles.append(cycle)
        if cycle.poll.fetched == 0:
            break
    return cycles


def rows(engine: Engine, table: Any, *where: Any) -> list[Any]:
    with read_tx(engine.db) as conn:
        found = list(conn.execute(select(table).where(*where)).all())
    # Tests read after `engine.aclose()` too: a connection left in the pool then is never
    # closed, and PostgreSQL's warns (ResourceWarning) in whichever later test collects it.
    engine.db.dispose()
    return found
