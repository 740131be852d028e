"""End to end with real MTAs: our pipeline sends a campaign through a real Postfix relay, the
world of tests/servers/bounce_world.py refuses it the ways receivers do (Dovecot's unknown
user and quota, a domain that does not exist, a null MX, SERVFAIL until the queue lifetime
runs out, DNSBL and reverse-DNS refusals, a body filter, providers' documented 5.7.1 and
5.0.0 texts), Postfix writes the DSNs to our mailbox in Dovecot, and the real poller reads
them over IMAPS. Then each lead's suppression, status and sequence, the mailbox's counters,
the monitor's verdict and its policy-burst alert are what core/event_effects.py says.

The relay is the bounce world's sending Postfix: our transport hands it each message the
pipeline built (as a submission server does, it accepts with 250 and delivers later), so
every report is about a message our pipeline made, quoting its Message-ID.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from outreach_tui.db import tables as t
from outreach_tui.db.repos.leads import get_or_create_lead
from outreach_tui.db.session import write_tx
from outreach_tui.engine.clock import SimulatedClock
from outreach_tui.engine.sending.campaigns import load_campaign_file
from outreach_tui.mail.smtp import DeliveryResult, SmtpEndpoint
from tests.functional.inbox_world import inbox_engine, poll_until_idle, rows
from tests.servers.bounce_postfix import QUEUE_LIFETIME
from tests.servers.bounce_scenarios import SCENARIOS, SENDER, SPAM_PHRASE, Scenario
from tests.servers.bounce_world import BounceServers, bounce_servers

pytestmark = pytest.mark.timeout(600)

#: The scenarios played, by name: hard (unknown user at Dovecot and at a Postfix receiver,
#: unknown domain, null MX), soft (Dovecot quota; SERVFAIL until the queue lifetime ran
#: out), policy (DNSBL 5.7.1 texts, providers' texts with a generic 5.0.0, a content filter,
#: a reverse-DNS check until expiry) and one that is delivered.
PLAYED = (
    "lmtp-user-unknown", "pf-user-unknown", "dns-nxdomain", "dns-nullmx",
    "lmtp-quota", "dns-servfail",
    "pf-spamhaus", "pf-barracuda", "barracuda-blocked", "ironport-reputation", "g-spam",
    "pf-content", "pf-ptr",
    "lmtp-delivered",
)  # fmt: skip
BY_NAME = {s.name: s for s in SCENARIOS}
CAMPAIGN = """
name = "{name}"
approval = "auto"
postal_address = "Example Ltd, 1 Main St, Springfield"
[window]
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
start = "00:00"
end = "24:00"
[[steps]]
subject = "Quick question"
body = "{opening}Hi,\\n\\nA short question about your onboarding process.\\n\\nSam"
[[steps]]
delay_days = 1
body = "Just bumping this up."
"""


@dataclass
class PostfixRelay:
    """The pipeline's transport: the message as built, handed to the world's Postfix (its
    sendmail, like a submission server that queues and answers 250)."""

    servers: BounceServers
    submitted: list[str] = field(default_factory=list)

    async def deliver(
        self, endpoint: SmtpEndpoint, envelope_from: str, recipient: str, payload: bytes
    ) -> DeliveryResult:
        await asyncio.to_thread(self.servers.sender.submit, payload, envelope_from, [recipient])
        self.submitted.append(recipient)
        return DeliveryResult(accepted=True, code=250, response="2.0.0 Ok: queued")

    async def close(self) -> None:
        return None


@pytest.fixture(scope="module")
def servers(pki) -> Iterator[BounceServers]:
    with bounce_servers(pki, with_exim=False, name="effects") as made:
        yield made


def enroll(engine, campaign: str, recipients: list[str]) -> None:
    """The leads (the bounce world's addresses, .test domains the import refuses) straight
    into the campaign, their first step due now."""
    now = engine.clock.now()
    with write_tx(engine.db) as conn:
        campaign_id = conn.execute(
            select(t.campaign.c.id).where(t.campaign.c.name == campaign)
        ).scalar_one()
        for address in recipients:
            lead = get_or_create_lead(conn, address, source="test", at=now)
            conn.execute(
                insert(t.campaign_lead).values(
                    campaign_id=campaign_id, lead_id=lead.id, next_step=1, state="active",
                    updated_at=now,
                )
            )  # fmt: skip
    engine.db.dispose()


def expected_reports(scenario: Scenario) -> int:
    """What Postfix writes back without NOTIFY=SUCCESS (the pipeline asks for none)."""
    if scenario.klass == "delivered":
        return 0
    return int(scenario.delay_notice) + int(scenario.final)


def wait_for_reports(servers: BounceServers, count: int) -> None:
    deadline = time.monotonic() + QUEUE_LIFETIME * 6 + 60
    while time.monotonic() < deadline:
        done = not servers.sender.queue_ids() and not servers.receiver.queue_ids()
        if done and servers.dovecot.message_count(servers.me) >= count:
            return
        time.sleep(0.5)
    pytest.fail(
        f"{servers.dovecot.message_count(servers.me)} of {count} reports arrived\n"
        f"{servers.sender.log_tail(40)}",
        pytrace=False,
    )


def test_postfix_reports_about_our_campaign_act_by_class_through_the_real_poller(
    tmp_path, monkeypatch, servers, pki
):
    relay = PostfixRelay(servers)
    clock = SimulatedClock(datetime.now(UTC).replace(microsecond=0))
    engine = inbox_engine(
        tmp_path, monkeypatch, servers.dovecot, servers.me, pki, clock=clock, transport=relay,
        mailbox={"email": SENDER, "daily_limit": 500}, warmup={"new_mailboxes": False},
        dns={"health_checks": False}, verify={"required": False},
        sending={"min_gap_seconds": 0, "max_gap_seconds": 0},
        monitor={"min_sends": 10},
    )  # fmt: skip
    played = [BY_NAME[name] for name in PLAYED]
    try:
        for name, opening in (("Onboarding", ""), ("Offer", f"{SPAM_PHRASE}! Reply now.\\n")):
            path = tmp_path / f"{name}.toml"
            path.write_text(CAMPAIGN.format(name=name, opening=opening))
            engine.campaigns.create(load_campaign_file(path), source_file=str(path))
        enroll(engine, "Onboarding", [s.recipient for s in played if s.name != "pf-content"])
        enroll(engine, "Offer", [BY_NAME["pf-content"].recipient])

        async def send_step() -> None:
            try:
                engine.plan()
                await engine.dispatch()
            finally:
                await engine.transport.close()

        asyncio.run(send_step())
        assert sorted(relay.submitted) == sorted(s.recipient for s in played)
        wait_for_reports(servers, sum(expected_reports(s) for s in played))
        asyncio.run(poll_until_idle(engine))
        report = engine.monitor.tick()

        leads = {r.email: r for r in rows(engine, t.lead)}
        enrollments = {r.lead_id: r for r in rows(engine, t.campaign_lead)}
        listed = {r.value: r for r in rows(engine, t.suppression)}
        replies = rows(engine, t.reply)
        assert replies and {r.report_match for r in replies} == {"message_id"}
        problems = []
        for scenario in played:
            lead = leads[scenario.recipient]
            enrollment = enrollments[lead.id]
            got = (lead.status, enrollment.state, scenario.recipient in listed)
            want = {
                "hard": ("bounced", "stopped", True),
                "soft": ("contacted", "held", False),
                "policy": ("contacted", "held", False),
                "delivered": ("contacted", "active", False),
            }[scenario.klass]
            if got != want:
                problems.append(f"{scenario.name}: {got}, expected {want}")
            if scenario.klass in ("soft", "policy") and "never arrived" not in (
                enrollment.stop_reason or ""
            ):
                problems.append(f"{scenario.name}: held without its reason")
            if scenario.expired and "expired" not in (enrollment.stop_reason or ""):
                problems.append(f"{scenario.name}: not said to have expired")
        assert not problems, "\n".join(problems)

        klasses = [s.klass for s in played]
        with engine.db.connect() as conn:
            counted = dict(
                conn.execute(
                    select(t.daily_counter.c.scope, t.daily_counter.c.count).where(
                        t.daily_counter.c.key == SENDER
                    )
                ).all()
            )
        engine.db.dispose()
        assert counted == {
            "mailbox": len(played),  # accepted by the relay, each once
            "mailbox_bounce_report": klasses.count("hard"),
            "mailbox_policy_report": klasses.count("policy"),
            "mailbox_soft_bounce": klasses.count("soft"),
        }
        # Failures over attempts, reports adding no attempt: the monitor pauses the mailbox.
        failures = klasses.count("hard") + klasses.count("policy")
        assert report.paused == [SENDER]
        assert f"({failures}/{len(played)})" in rows(engine, t.mailbox)[0].paused_reason
        # Six policy refusals within the hour: the mailbox is probably blocklisted.
        (burst,) = [a for a in report.alerts if a.key.startswith("policy_burst")]
        assert burst.severity == "critical"
        assert burst.title.startswith(f"{SENDER} is probably blocklisted at ")
        # Delay notices were stored and changed nothing.
        delayed = [r for r in replies if r.delivery_status == "delayed"]
        assert delayed and {r.effect for r in delayed} == {
            "nothing: delay notice: still being tried"
        }

        # A day later the next step goes only where the first one arrived: no "Re:" to a
        # message that was returned (the held sequences wait for the operator).
        before = len(relay.submitted)
        engine.actions.resume_mailbox(rows(engine, t.mailbox)[0].id)
        clock.advance(timedelta(days=1, minutes=5).total_seconds())
        asyncio.run(send_step())
        assert relay.submitted[before:] == [BY_NAME["lmtp-delivered"].recipient]
    finally:
        asyncio.run(engine.aclose())
