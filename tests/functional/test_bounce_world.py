"""Real MTAs on loopback make the bounces; the parser reads what they wrote.

A private Postfix (tests/servers/bounce_world.py), and a private Exim for the scenarios it can
play, send one message per scenario of tests/servers/bounce_scenarios.py inside a network
namespace of their own: to Dovecot over LMTP (unknown user, a mailbox over its quota), to a
receiving Postfix with real restrictions (DNSBLs, reverse DNS, HELO and sender checks, body
checks, size limit, relay control), to scripted receivers answering with the providers'
documented refusals, to a domain that does not exist, a null MX, SERVFAIL, an unreachable and a
closed MX. The MTAs write every report themselves (bounce, delay warning after seconds,
"returned after the queue lifetime", success); Dovecot stores them; they are read back over
IMAPS and analysed here. The servers must start: a test that cannot start them fails.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from outreach_tui.mail.inbound import analyse
from tests.servers.bounce_exim import EXIM_MESSAGE_ID, EXIM_SCENARIOS
from tests.servers.bounce_scenarios import MESSAGE_ID, SCENARIOS, Scenario
from tests.servers.bounce_world import BounceWorld, Report, bounce_world
from tests.unit.mail.test_bounce_corpus import verdict_class

pytestmark = pytest.mark.timeout(600)

FROZEN = Path(__file__).resolve().parents[1] / "data" / "bounces"


@pytest.fixture(scope="session")
def world(pki) -> Iterator[BounceWorld]:
    with bounce_world(pki) as made:
        yield made


def test_every_scenario_came_back_as_postfix_reports_it(world):
    kinds = {(r.scenario.name, r.kind) for r in world.reports if r.mta == "postfix"}

    for scenario in SCENARIOS:
        if scenario.delay_notice:
            assert (scenario.name, "delayed") in kinds, scenario.name
        if scenario.final:
            final = "delivered" if scenario.klass == "delivered" else "failed"
            assert (scenario.name, final) in kinds, scenario.name


@pytest.mark.parametrize("mta", ["postfix", "exim"])
def test_the_frozen_copy_holds_the_same_failures(world, mta):
    manifest = tomllib.loads((FROZEN / mta / "manifest.toml").read_text(encoding="utf-8"))
    # Delay warnings depend on when a queue run falls (Exim's more than Postfix's): failures
    # and success reports do not.
    frozen = {c["file"] for c in manifest["message"] if ".delayed" not in c["file"]}
    live = {f"{r.scenario.name}.{r.kind}.eml" for r in world.reports if r.mta == mta}
    live = {name for name in live if ".delayed" not in name}

    assert live == frozen, "regenerate: python -m tests.servers.bounce_world tests/data/bounces"


def _check(report: Report, marker: str) -> None:
    scenario = report.scenario
    result = analyse(report.raw)
    delayed = report.kind == "delayed"
    expected = scenario.klass
    if delayed:
        expected = "policy" if scenario.klass == "policy" else "soft"
    assert verdict_class(result) == expected, f"{report.kind}: {result.reason}"
    assert (result.delivery_status == "delayed") == delayed
    assert result.expired == report.expired, result.reason
    assert marker.format(name=scenario.name)[1:-1] in result.report_message_ids
    if expected != "delivered":
        want = scenario.report_recipient or scenario.recipient
        assert result.bounced_recipients[:1] == (want,), result.reason


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_the_parser_reads_what_postfix_wrote(world, scenario: Scenario):
    for report in world.by_scenario("postfix")[scenario.name]:
        _check(report, MESSAGE_ID)


@pytest.mark.parametrize("scenario", EXIM_SCENARIOS, ids=[s.name for s in EXIM_SCENARIOS])
def test_the_parser_reads_what_exim_wrote(world, scenario: Scenario):
    reports = world.by_scenario("exim")[scenario.name]

    assert any(r.kind == "failed" for r in reports)
    for report in reports:
        _check(report, EXIM_MESSAGE_ID)


def test_no_policy_refusal_or_soft_bounce_would_suppress_an_address(world):
    suppressing = []
    for report in world.reports:
        result = analyse(report.raw)
        suppresses = result.kind == "bounce_hard" and not result.sender_at_fault
        if suppresses and report.scenario.klass != "hard":
            suppressing.append(f"{report.scenario.name}.{report.kind}: {result.reason}")

    assert not suppressing
