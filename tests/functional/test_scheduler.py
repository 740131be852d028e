"""The APScheduler wiring: every job registered with its configured interval, coalescing,
one instance at a time, a misfire grace; started inside a running loop it plans and sends."""

from __future__ import annotations

import asyncio

import pytest

from outreach_tui.engine.clock import SystemClock
from outreach_tui.engine.runtime.scheduler import EngineJobs, build_scheduler
from outreach_tui.engine.runtime.worker import run_worker
from tests.functional.campaign_helpers import (
    ALWAYS_OPEN,
    create_campaign,
    import_leads,
    pool_engine,
    server_users,
    write_campaign,
)
from tests.functional.helpers import PASSWORD, PASSWORD_ENV

BOXES = ["rep1@sender1.com"]
CAMPAIGN = f"""
name = "Now"
timezone = "UTC"
{ALWAYS_OPEN}
[[steps]]
subject = "Hello {{{{company}}}}"
body = "Hi"
"""


@pytest.fixture(autouse=True)
def smtp_password(monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


@pytest.fixture
def engine(tmp_path, smtp_server, pki):
    server = smtp_server(security="starttls", users=server_users(BOXES))
    eng = pool_engine(
        tmp_path,
        server,
        pki,
        SystemClock(),
        mailboxes=BOXES,
        sending={"min_gap_seconds": 0, "max_gap_seconds": 0},
        scheduler={
            "plan_seconds": 0.2,
            "dispatch_seconds": 0.1,
            "misfire_grace_seconds": 7,
            "poll_minutes": 3,
            "dns_check_hours": 2,
        },
    )
    eng.test_server = server  # type: ignore[attr-defined]
    create_campaign(eng, write_campaign(tmp_path, CAMPAIGN))
    import_leads(
        eng, tmp_path, [{"email": f"a{i}@b{i}.com", "company": "C"} for i in range(3)], "Now"
    )
    return eng


def test_every_job_is_registered_with_its_interval_and_safety_options(engine):
    async def inspect():
        scheduler = build_scheduler(EngineJobs(engine))
        scheduler.start()
        try:
            return {job.id: job for job in scheduler.get_jobs()}
        finally:
            scheduler.shutdown(wait=False)

    jobs = asyncio.run(inspect())
    assert set(jobs) == {
        "verify-leads", "plan", "dispatch", "poll-replies", "monitor", "heal", "dns-check",
        "webhooks", "heartbeat",
    }  # fmt: skip
    assert jobs["poll-replies"].trigger.interval.total_seconds() == 180
    assert jobs["dns-check"].trigger.interval.total_seconds() == 7200
    assert jobs["dispatch"].trigger.interval.total_seconds() == pytest.approx(0.1)
    for job in jobs.values():
        assert (job.misfire_grace_time, job.coalesce, job.max_instances) == (7, True, 1)
    asyncio.run(engine.aclose())


def test_scheduler_started_in_the_running_loop_plans_and_sends(engine):
    async def scenario():
        jobs = EngineJobs(engine)
        scheduler = build_scheduler(jobs)
        scheduler.start()
        try:
            for _ in range(200):
                if len(engine.test_server.received) == 3:
                    break
                await asyncio.sleep(0.05)
        finally:
            await jobs.stop(scheduler)
            await engine.transport.close()

    asyncio.run(scenario())
    assert sorted(m.rcpt_tos[0] for m in engine.test_server.received) == [
        "a0@b0.com",
        "a1@b1.com",
        "a2@b2.com",
    ]
    asyncio.run(engine.aclose())


def test_worker_once_runs_each_job_one_time(engine):
    calls = []

    async def scenario():
        return await run_worker(engine, "once")

    original_plan = engine.plan

    def plan():
        calls.append("plan")
        return original_plan()

    engine.plan = plan  # type: ignore[method-assign]
    assert asyncio.run(scenario()) == 0
    assert calls == ["plan"]
    # One plan and one dispatch: every lead was queued and sent in that single pass.
    assert len(engine.test_server.received) == 3
