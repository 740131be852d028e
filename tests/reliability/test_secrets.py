"""Secrets never leave their reference: a full small campaign runs with recognisable SMTP
passwords (one via `env:`, one via `file:`, one wrong so AUTH fails and its error path logs),
then the database file (raw bytes, WAL and shared memory included), the log at DEBUG, every
export and every pane of the console (text and SVG) are searched for them, also base64-encoded
as AUTH PLAIN/LOGIN would carry them."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from outreach_tui.config import load_settings
from outreach_tui.db import tables as t
from outreach_tui.engine import build_engine
from outreach_tui.engine.clock import SimulatedClock
from outreach_tui.engine.sending.pipeline import SendRequest
from outreach_tui.engine.views.exports import EXPORTS, export_csv
from outreach_tui.logsetup import configure_logging
from outreach_tui.tui.app import OutreachApp
from tests.functional.campaign_helpers import (
    ALWAYS_OPEN,
    create_campaign,
    import_leads,
    pool_settings,
    write_campaign,
)
from tests.tui.helpers import screen_text, settle

ENV_SECRET = "S3CRET-canary-7f3a"
FILE_SECRET = "S3CRET-canary-file-91bc"
WRONG_SECRET = "S3CRET-canary-wrong-c0de"
BOXES = ["env@sender1.com", "file@sender2.com", "wrong@sender3.com"]
START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def needles() -> list[bytes]:
    out = []
    for secret in (ENV_SECRET, FILE_SECRET, WRONG_SECRET):
        out.append(secret.encode())
        out.append(base64.b64encode(secret.encode()))
    for box, secret in zip(BOXES, (ENV_SECRET, FILE_SECRET, WRONG_SECRET), strict=True):
        out.append(base64.b64encode(f"\0{box}\0{secret}".encode()))  # AUTH PLAIN
    out.append(b"S3CRET-canary")
    return out


def assert_no_secret(where: str, data: bytes) -> None:
    for needle in needles():
        assert needle not in data, f"{needle!r} found in {where}"


@pytest.fixture
def world(tmp_path, smtp_server, pki, monkeypatch):
    monkeypatch.setenv("OUTREACH_CANARY_PW", ENV_SECRET)
    secret_file = tmp_path / "secrets" / "smtp-password"
    secret_file.parent.mkdir()
    secret_file.write_text(FILE_SECRET + "\n")
    server = smtp_server(
        security="starttls",
        users={BOXES[0]: ENV_SECRET, BOXES[1]: FILE_SECRET, BOXES[2]: "what-the-server-wants"},
    )
    overrides = pool_settings(tmp_path, server, pki, BOXES, verify={"required": False},
                              sending={"min_gap_seconds": 0, "max_gap_seconds": 0})  # fmt: skip
    refs = ["env:OUTREACH_CANARY_PW", f"file:{secret_file}", "env:OUTREACH_CANARY_WRONG"]
    monkeypatch.setenv("OUTREACH_CANARY_WRONG", WRONG_SECRET)
    for box, ref in zip(overrides["mailboxes"], refs, strict=True):
        box["smtp_password"] = ref
    settings = load_settings(None, **overrides)
    configure_logging("DEBUG", settings.logging.file)
    engine = build_engine(settings, headless=True, clock=SimulatedClock(START))
    yield engine, tmp_path
    engine.close_sync()


def run_campaign(engine, tmp_path: Path) -> None:
    path = write_campaign(
        tmp_path,
        f'name = "Canary"\ntimezone = "UTC"\n{ALWAYS_OPEN}\n'
        '[[steps]]\nsubject = "Hello {{company}}"\nbody = "Hi {{first_name|there}}"\n',
    )
    create_campaign(engine, path)
    rows = [{"email": f"lead{i}@company{i}.com", "company": f"Co {i}"} for i in range(12)]
    import_leads(engine, tmp_path, rows, "Canary")

    async def run():
        try:
            for _ in range(6):
                engine.plan()
                await engine.dispatch()
                engine.clock.advance(minutes=10)
            for box in BOXES:
                await engine.send(SendRequest(box, "one-off@example.org", "One-off", "Hello"))
        finally:
            await engine.transport.close()

    asyncio.run(run())


async def visit_every_pane(engine, out: Path) -> list[Path]:
    app = OutreachApp(engine, run_scheduler=False)
    written = []
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for key in "123456789":
            await pilot.press(key)
            await settle(pilot)
            text = out / f"pane-{key}.txt"
            text.write_text(screen_text(app), encoding="utf-8")
            svg = out / f"pane-{key}.svg"
            svg.write_text(app.export_screenshot(), encoding="utf-8")
            written += [text, svg]
    return written


def test_secrets_appear_in_no_database_log_export_or_screen(world):
    engine, tmp_path = world
    run_campaign(engine, tmp_path)
    with engine.db.connect() as conn:
        states = dict(
            conn.execute(select(t.attempt.c.state, func.count()).group_by(t.attempt.c.state)).all()
        )
    # The run really happened: sends from both good mailboxes, AUTH failures from the third.
    assert states.get("sent", 0) >= 8, states
    assert any(s in states for s in ("approved", "failed")), states

    exports = tmp_path / "exports"
    exports.mkdir()
    for what in EXPORTS:
        export_csv(engine.db, what, exports / f"{what}.csv")
    screens = tmp_path / "screens"
    screens.mkdir()
    asyncio.run(visit_every_pane(engine, screens))
    # The WAL as it is while the engine runs (closing checkpoints it into the main file).
    live = {p.name: p.read_bytes() for p in tmp_path.glob("outreach.db*")}
    assert "outreach.db-wal" in live and len(live["outreach.db-wal"]) > 0, list(live)
    engine.close_sync()

    for name, data in live.items():
        assert_no_secret(f"{name} (live)", data)
    searched = [*tmp_path.glob("outreach.db*"), tmp_path / "outreach.log"]
    searched += [*exports.iterdir(), *screens.iterdir()]
    # The product's own DEBUG lines must be there to be searched (the test SMTP server's
    # `mail.log` lines depend on which modules other tests imported: the demo sink quiets it).
    log_text = (tmp_path / "outreach.log").read_text(encoding="utf-8", errors="replace")
    assert " outreach_tui.engine.sending.pipeline: " in log_text, log_text[-2000:]
    for path in searched:
        assert_no_secret(path.name, path.read_bytes())
    assert len(list(screens.iterdir())) == 18
