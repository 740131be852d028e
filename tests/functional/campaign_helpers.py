"""A small world for campaign tests: several mailboxes on one real loopback SMTP server,
leads written to a CSV and imported through the real ingestion path, a campaign file."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from outreach_tui.config import Settings, load_settings
from outreach_tui.engine import Engine, build_engine
from outreach_tui.engine.clock import SimulatedClock
from outreach_tui.engine.leads.ingest import import_leads_csv
from outreach_tui.engine.sending.campaigns import load_campaign_file
from outreach_tui.logsetup import configure_logging
from tests.functional.backend import database_url
from tests.functional.helpers import PASSWORD, PASSWORD_ENV

MAILBOXES = [f"rep{i}@sender{i}.com" for i in range(1, 6)]

#: A campaign window open every day, all day: tests that run on the system clock need it.
ALWAYS_OPEN = """
[window]
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
start = "00:00"
end = "24:00"
"""


def pool_settings(
    tmp_path: Path, server: Any, pki: Any, mailboxes: list[str], **extra: Any
) -> dict[str, Any]:
    overrides: dict[str, Any] = {
        "database_url": database_url(tmp_path),
        "mailboxes": [
            {
                "email": email,
                "from_name": email.split("@")[0].title(),
                "smtp_host": server.host,
                "smtp_port": server.port,
                "smtp_password": f"env:{PASSWORD_ENV}",
            }
            for email in mailboxes
        ],
        "tls": {"ca_file": str(pki.ca_file)},
        "smtp_send_timeout": 30,  # generous: a loaded CI machine must not turn a send into a retry
        "logging": {"file": str(tmp_path / "outreach.log")},
        # Campaign tests are not about verification: their leads go out unverified.
        "verify": {"required": False},
        # Nor about DNS health: the job would ask the machine's resolver about these domains.
        "dns": {"health_checks": False},
        # Nor about warmup: their mailboxes send their full limit from day one.
        "warmup": {"new_mailboxes": False},
    }
    overrides.update(extra)
    return overrides


def pool_engine(
    tmp_path: Path,
    server: Any,
    pki: Any,
    clock: SimulatedClock,
    mailboxes: list[str] = MAILBOXES,
    **extra: Any,
) -> Engine:
    settings: Settings = load_settings(
        None, **pool_settings(tmp_path, server, pki, mailboxes, **extra)
    )
    configure_logging("DEBUG", settings.logging.file)
    return build_engine(settings, headless=True, clock=clock)


def server_users(mailboxes: list[str] = MAILBOXES) -> dict[str, str]:
    return {email: PASSWORD for email in mailboxes}


def write_campaign(tmp_path: Path, text: str, name: str = "campaign.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def create_campaign(engine: Engine, path: Path) -> int:
    return engine.campaigns.create(load_campaign_file(path), source_file=str(path))


def import_leads(
    engine: Engine, tmp_path: Path, rows: Iterable[dict[str, str]], campaign: str
) -> Any:
    rows = list(rows)
    path = tmp_path / f"leads-{len(rows)}.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return import_leads_csv(
        engine.ctx.db, path, clock=engine.clock, operator_id=engine.operator_id, campaign=campaign
    )


def run_ticks(
    engine: Engine,
    clock: SimulatedClock,
    *,
    minutes: float,
    total_hours: float,
    on_tick: Any = None,
) -> None:
    """Plan and dispatch every `minutes` of simulated time (real SMTP, simulated clock)."""

    async def run() -> None:
        try:
            steps = int(total_hours * 60 / minutes)
            for index in range(steps):
                engine.plan()
                await engine.dispatch()
                if on_tick is not None:
                    on_tick(index)
                clock.advance(minutes=minutes)
        finally:
            await engine.transport.close()

    asyncio.run(run())
