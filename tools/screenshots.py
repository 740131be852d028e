"""Make the README's screenshots from the app itself: a sandbox with a frozen clock, a
little activity played through the engine, one SVG per main pane (`make screenshots`)."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from outreach_tui.demo.world import build_sandbox  # noqa: E402
from outreach_tui.engine.clock import SimulatedClock  # noqa: E402
from outreach_tui.tui.app import OutreachApp  # noqa: E402

PANES = {"1": "dashboard", "2": "queue", "4": "mailboxes", "6": "inbox", "7": "leads"}


async def shoot(out: Path) -> None:
    clock = SimulatedClock(datetime(2026, 3, 3, 9, 30, tzinfo=UTC))
    with tempfile.TemporaryDirectory() as tmp:
        sandbox = build_sandbox(Path(tmp), clock=clock, leads=120)
        engine, world = sandbox.engine, sandbox.world
        await sandbox.start()
        for _ in range(40):  # forty dispatch rounds, one simulated minute apart
            engine.plan()
            await engine.dispatch()
            clock.advance(60)
            await world.play_replies()
            engine.monitor.tick()
        await engine.transport.close()
        app = OutreachApp(engine, run_scheduler=False, sandbox=sandbox)
        async with app.run_test(size=(100, 30)) as pilot:
            for key, name in PANES.items():
                await pilot.press(key)
                await app.workers.wait_for_complete()
                await pilot.pause(0.3)
                app.save_screenshot(str(out / f"{name}.svg"))
        engine.close_sync()


if __name__ == "__main__":
    target = ROOT / "screenshots"
    target.mkdir(exist_ok=True)
    asyncio.run(shoot(target))
    print(f"wrote {', '.join(sorted(p.name for p in target.glob('*.svg')))}")
