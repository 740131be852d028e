"""DNS health against a real DNS server on loopback (dnslib): good, broken and missing SPF,
DKIM and DMARC, listed domains and IPs, SERVFAIL; stored on `sending_domain` with change
events and alerts; `outreach-tui dns-check` prints a report and exits non-zero when broken."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from outreach_tui.config import load_settings
from outreach_tui.core.dnshealth import CheckStatus
from outreach_tui.db import tables as t
from outreach_tui.db.session import read_tx, write_tx
from outreach_tui.engine import Engine, build_engine
from outreach_tui.engine.clock import SimulatedClock
from outreach_tui.engine.runtime.scheduler import EngineJobs
from tests.functional.backend import database_url
from tests.functional.conftest import run_cli
from tests.functional.helpers import START
from tests.servers.dns import DnsServer, Zone

KEY = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYt"
IP_ZONE = "bl.test"
DOMAIN_ZONE = "dbl.test"


def good_domain(name: str, *, spf: str | None = None, dmarc: str | None = None) -> list[str]:
    """A healthy domain: MX, SPF (through an include) authorising 127.0.0.10, DKIM s1,
    DMARC reject, and an SMTP host at 127.0.0.10."""
    default_dmarc = f"v=DMARC1; p=reject; adkim=s; rua=mailto:d@{name}"
    return [
        f"{name}. 300 IN MX 10 mx.{name}.",
        f"mx.{name}. 300 IN A 127.0.0.9",
        f"smtp.{name}. 300 IN A 127.0.0.10",
        f'{name}. 300 IN TXT "{spf or f"v=spf1 mx include:_spf.{name} -all"}"',
        f'_spf.{name}. 300 IN TXT "v=spf1 ip4:127.0.0.8/30 ~all"',
        f'{name}. 300 IN TXT "google-site-verification=abc"',
        f's1._domainkey.{name}. 300 IN TXT "v=DKIM1; k=rsa; p={KEY}"',
        f'_dmarc.{name}. 300 IN TXT "{dmarc or default_dmarc}"',
    ]


def world() -> Zone:
    zone = Zone()
    for line in good_domain("good.test"):
        zone.add(line)
    # broken.test: two SPF records, a DKIM key without p=, DMARC without p=.
    zone.records += [
        "broken.test. 300 IN MX 10 mx.good.test.",
        'broken.test. 300 IN TXT "v=spf1 ip4:127.0.0.10 -all"',
        'broken.test. 300 IN TXT "v=spf1 include:good.test -all"',
        's1._domainkey.broken.test. 300 IN TXT "v=DKIM1; k=rsa"',
        '_dmarc.broken.test. 300 IN TXT "v=DMARC1; rua=mailto:d@broken.test"',
    ]
    # many.test: SPF needing 12 lookups through nested includes.
    zone.records += [
        "many.test. 300 IN MX 10 mx.good.test.",
        'many.test. 300 IN TXT "v=spf1 include:a.many.test include:b.many.test -all"',
        'a.many.test. 300 IN TXT "v=spf1 a mx exists:x.many.test include:c.many.test ~all"',
        'b.many.test. 300 IN TXT "v=spf1 a:x.many.test a:y.many.test mx:z.many.test ~all"',
        'c.many.test. 300 IN TXT "v=spf1 a:w.many.test ptr ~all"',
    ]
    # syntax.test: SPF with an unknown mechanism and a bad address.
    zone.records += [
        "syntax.test. 300 IN MX 10 mx.good.test.",
        'syntax.test. 300 IN TXT "v=spf1 ip4:999.1.1.1 foo:bar -all"',
    ]
    # missing.test: MX only.
    zone.records += ["missing.test. 300 IN MX 10 mx.good.test."]
    # listed.test: a healthy domain on the domain blocklist; its SMTP IP on the IP list.
    zone.records += good_domain("listed.test", spf="v=spf1 ip4:127.0.0.66 -all")
    zone.records += [
        "smtp2.listed.test. 300 IN A 127.0.0.66",
        f"listed.test.{DOMAIN_ZONE}. 300 IN A 127.0.1.2",
        f"66.0.0.127.{IP_ZONE}. 300 IN A 127.0.0.2",
        f'66.0.0.127.{IP_ZONE}. 300 IN TXT "listed for spam"',
    ]
    # flaky.test: the SPF name answers SERVFAIL (its DMARC is fine).
    zone.records += [
        '_dmarc.flaky.test. 300 IN TXT "v=DMARC1; p=none; rua=mailto:d@flaky.test"',
        f's1._domainkey.flaky.test. 300 IN TXT "v=DKIM1; p={KEY}"',
    ]
    zone.servfail.add("flaky.test")
    return zone


@pytest.fixture
def dns_server():
    with DnsServer(world()) as server:
        yield server


def settings(tmp_path: Path, server: DnsServer, **extra: Any):
    mailboxes = [
        {"email": f"ana@{d}", "smtp_host": f"smtp.{d}", "smtp_password": "env:NOPE"}
        for d in ("good.test", "broken.test", "missing.test", "listed.test", "flaky.test")
    ]
    mailboxes.append(
        {"email": "bo@listed.test", "smtp_host": "smtp2.listed.test", "smtp_password": "env:NOPE"}
    )
    values: dict[str, Any] = {
        "database_url": database_url(tmp_path),
        "mailboxes": mailboxes,
        "dns": {
            "nameservers": [server.nameserver],
            "timeout_seconds": 2,
            "dkim_selectors": ["s1"],
            "dnsbl_zones": [IP_ZONE],
            "domain_blocklists": [DOMAIN_ZONE],
        },
        "logging": {"file": str(tmp_path / "outreach.log")},
    }
    values.update(extra)
    return load_settings(None, **values)


@pytest.fixture
def engine(tmp_path, dns_server):
    eng = build_engine(settings(tmp_path, dns_server), headless=True, clock=SimulatedClock(START))
    yield eng
    eng.close_sync()


def check(engine: Engine, domain: str):
    return asyncio.run(engine.dns_health.check(domain))


def domain_row(engine: Engine, name: str) -> Any:
    with read_tx(engine.db) as conn:
        return conn.execute(select(t.sending_domain).where(t.sending_domain.c.name == name)).first()


def events(engine: Engine, kind: str) -> list[Any]:
    with read_tx(engine.db) as conn:
        return list(
            conn.execute(select(t.event).where(t.event.c.kind == kind).order_by(t.event.c.id))
        )


def test_healthy_domain_passes_every_check_and_is_stored(engine):
    report = check(engine, "good.test")
    health = report.health
    assert health.mx.status is CheckStatus.OK
    assert health.spf.status is CheckStatus.OK, health.spf
    # mx (1) + include (1) in the record, none in the include.
    assert health.spf.facts["lookups"] == 2
    assert [d.status for d in health.dkim] == [CheckStatus.OK]
    assert health.dmarc.facts["policy"] == "reject"
    assert health.dmarc.facts["adkim"] == "strict"
    assert health.blocklisted is False and health.healthy
    row = domain_row(engine, "good.test")
    assert (row.spf_ok, row.dkim_ok, row.dmarc_ok, row.blocklisted) == (True, True, True, False)
    assert row.dns_checked_at is not None
    assert row.dns_detail["spf"]["lookups"] == 2
    assert events(engine, "alert") == []


def test_sending_ip_outside_spf_fails_spf(engine, dns_server):
    # The SMTP host moves out of the include's ip4:127.0.0.8/30: the record ends in -all.
    dns_server.zone.records = [
        r.replace("smtp.good.test. 300 IN A 127.0.0.10", "smtp.good.test. 300 IN A 127.0.0.77")
        for r in dns_server.zone.records
    ]
    dns_server.reload()
    health = check(engine, "good.test").health
    assert health.spf.status is CheckStatus.FAIL
    assert health.spf.facts["sending_ips"] == {"127.0.0.77": "fail"}
    assert any("127.0.0.77 is not authorised" in p for p in health.spf.problems)


def test_sending_ip_inside_an_included_range_is_authorised(engine):
    health = check(engine, "good.test").health
    assert health.spf.facts["sending_ips"] == {"127.0.0.10": "pass"}


def test_two_spf_records_dkim_without_key_and_dmarc_without_policy_are_broken(engine):
    report = check(engine, "broken.test")
    health = report.health
    assert health.spf.status is CheckStatus.FAIL
    assert "2 SPF records" in health.spf.summary
    assert health.dkim[0].status is CheckStatus.FAIL
    assert "no p= key" in health.dkim[0].problems
    assert health.dmarc.status is CheckStatus.FAIL
    assert "no p= policy" in health.dmarc.problems
    row = domain_row(engine, "broken.test")
    assert (row.spf_ok, row.dkim_ok, row.dmarc_ok) == (False, False, False)
    alerts = {e.data["key"]: e.severity for e in events(engine, "alert")}
    assert alerts["dns:broken.test:spf"] == "critical"
    assert alerts["dns:broken.test:dmarc"] == "warning"
    assert alerts["dns:broken.test:dkim:s1"] == "warning"


def test_spf_over_ten_lookups_across_includes_fails(engine):
    health = check(engine, "many.test").health
    # many: 2 includes; a: a, mx, exists, include = 4; b: a, a, mx = 3; c: a, ptr = 2 → 11
    assert health.spf.facts["lookups"] == 11
    assert health.spf.status is CheckStatus.FAIL
    assert any("11 DNS lookups" in p for p in health.spf.problems)


def test_spf_syntax_errors_are_reported(engine):
    health = check(engine, "syntax.test").health
    assert health.spf.status is CheckStatus.FAIL
    text = " ".join(health.spf.problems)
    assert "999.1.1.1" in text and "foo:bar" in text


def test_missing_spf_dkim_dmarc_are_missing_and_spf_is_critical(engine):
    health = check(engine, "missing.test").health
    assert health.mx.status is CheckStatus.OK
    assert health.spf.status is CheckStatus.MISSING
    assert health.dkim[0].status is CheckStatus.MISSING
    assert health.dmarc.status is CheckStatus.MISSING
    assert health.broken
    [spf_alert] = [e for e in events(engine, "alert") if e.data["key"] == "dns:missing.test:spf"]
    assert spf_alert.severity == "critical"
    assert spf_alert.subject_type == "domain"
    assert spf_alert.data["mailboxes"] == ["ana@missing.test"]


def test_listed_domain_and_listed_ip_are_blocklisted(engine):
    health = check(engine, "listed.test").health
    by_target = {(r.facts["zone"], r.facts["target"]): r for r in health.blocklists}
    assert by_target[(DOMAIN_ZONE, "listed.test")].status is CheckStatus.FAIL
    assert by_target[(IP_ZONE, "127.0.0.66")].facts["codes"] == ["127.0.0.2"]
    assert by_target[(IP_ZONE, "127.0.0.10")].status is CheckStatus.OK
    assert health.blocklisted is True
    assert domain_row(engine, "listed.test").blocklisted is True
    critical = [e.data["key"] for e in events(engine, "alert") if e.severity == "critical"]
    assert f"dns:listed.test:blocklist:{IP_ZONE}:127.0.0.66" in critical
    assert f"dns:listed.test:blocklist:{DOMAIN_ZONE}:listed.test" in critical


def test_servfail_is_unknown_never_missing(engine):
    health = check(engine, "flaky.test").health
    assert health.spf.status is CheckStatus.UNKNOWN
    assert "SERVFAIL" in health.spf.summary
    assert health.mx.status is CheckStatus.UNKNOWN
    assert health.dmarc.status is CheckStatus.WARNING  # p=none
    assert not health.broken
    row = domain_row(engine, "flaky.test")
    assert row.spf_ok is None and row.dmarc_ok is True
    assert not [e for e in events(engine, "alert") if e.data["key"] == "dns:flaky.test:spf"]


def test_blocklist_lookup_failure_is_unknown_not_listed(engine, dns_server):
    dns_server.zone.servfail.add(f"10.0.0.127.{IP_ZONE}")
    health = check(engine, "good.test").health
    [ip_result] = [r for r in health.blocklists if r.facts["target"] == "127.0.0.10"]
    assert ip_result.status is CheckStatus.UNKNOWN
    assert health.blocklisted is None


def test_a_record_disappearing_is_recorded_as_a_change(engine, dns_server):
    check(engine, "good.test")
    dns_server.zone.records = [r for r in dns_server.zone.records if "_dmarc.good.test" not in r]
    dns_server.reload()
    report = check(engine, "good.test")
    assert report.changes == ["good.test: DMARC record disappeared"]
    [change] = events(engine, "dns_change")
    assert change.message == "good.test: DMARC record disappeared"
    assert change.severity == "warning"
    assert domain_row(engine, "good.test").dmarc_ok is False


def test_dns_check_job_checks_every_sending_domain(engine):
    asyncio.run(EngineJobs(engine).dns_check())
    with read_tx(engine.db) as conn:
        checked = dict(
            conn.execute(select(t.sending_domain.c.name, t.sending_domain.c.dns_checked_at)).all()
        )
    assert set(checked) == {"good.test", "broken.test", "missing.test", "listed.test", "flaky.test"}
    assert all(at is not None for at in checked.values())


def test_dns_check_job_does_nothing_when_turned_off(tmp_path, dns_server):
    eng = build_engine(
        settings(
            tmp_path,
            dns_server,
            dns={"nameservers": [dns_server.nameserver], "health_checks": False},
        ),
        headless=True,
        clock=SimulatedClock(START),
    )
    try:
        asyncio.run(EngineJobs(eng).dns_check())
        assert dns_server.count("good.test", "TXT") == 0
    finally:
        eng.close_sync()


# -- the command -------------------------------------------------------------------------


def write_config(tmp_path: Path, server: DnsServer) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[dns]
nameservers = ["{server.nameserver}"]
timeout_seconds = 2
dkim_selectors = ["s1"]
dnsbl_zones = ["{IP_ZONE}"]
domain_blocklists = ["{DOMAIN_ZONE}"]

[logging]
file = "{tmp_path / "cli.log"}"

[[mailboxes]]
email = "ana@good.test"
smtp_host = "smtp.good.test"
smtp_password = "env:NOPE"

[[mailboxes]]
email = "ana@broken.test"
smtp_host = "smtp.broken.test"
smtp_password = "env:NOPE"
"""
    )
    return path


def test_cli_reports_a_healthy_domain_and_exits_zero(tmp_path, dns_server):
    config = write_config(tmp_path, dns_server)
    result = run_cli(database_url(tmp_path), "--config", str(config), "dns-check", "good.test")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "DNS health of good.test" in out
    assert "SPF" in out and "-all, 2/10 lookups" in out
    assert "DKIM s1" in out and "rsa key" in out
    assert "p=reject, adkim=strict, aspf=relaxed" in out
    assert f"{IP_ZONE}: 127.0.0.10 not listed" in out
    assert f"{DOMAIN_ZONE}: good.test not listed" in out
    assert "result: healthy" in out


def test_cli_exits_non_zero_for_a_broken_domain_and_prints_why(tmp_path, dns_server):
    config = write_config(tmp_path, dns_server)
    result = run_cli(database_url(tmp_path), "--config", str(config), "dns-check", "broken.test")
    assert result.exit_code == 1
    assert "2 SPF records" in result.output
    assert "no p= key" in result.output
    assert "no p= policy" in result.output
    assert "result: BROKEN" in result.output


def test_cli_checks_a_domain_outside_the_database_without_storing_it(tmp_path, dns_server):
    config = write_config(tmp_path, dns_server)
    url = database_url(tmp_path)
    result = run_cli(url, "--config", str(config), "dns-check", "many.test", "--json")
    assert result.exit_code == 1
    payload = json.loads(result.output)
    assert payload["stored"] is False
    assert payload["spf"]["lookups"] == 11
    assert payload["spf_ok"] is False
    eng = build_engine(load_settings(config, database_url=url), headless=True)
    try:
        assert domain_row(eng, "many.test") is None
        assert events(eng, "alert") == []
    finally:
        eng.close_sync()


def test_per_domain_sending_ips_and_stored_selectors_are_used(tmp_path, dns_server):
    dns_server.zone.add(f's2._domainkey.good.test. 300 IN TXT "v=DKIM1; p={KEY}"')
    dns_server.reload()
    dns = {
        "nameservers": [dns_server.nameserver],
        "dkim_selectors": ["s1"],
        "dnsbl_zones": [],
        "domain_blocklists": [],
        "domains": {"Good.Test": {"sending_ips": ["127.0.0.77"]}},
    }
    eng = build_engine(settings(tmp_path, dns_server, dns=dns), clock=SimulatedClock(START))
    try:
        with write_tx(eng.db) as conn:
            conn.execute(
                update(t.sending_domain)
                .where(t.sending_domain.c.name == "good.test")
                .values(dkim_selectors=["s2", "gone"])
            )
        health = check(eng, "good.test").health
        assert health.spf.facts["sending_ips"] == {"127.0.0.77": "fail"}
        assert {d.facts["selector"]: d.status for d in health.dkim} == {
            "s2": CheckStatus.OK,
            "gone": CheckStatus.MISSING,
        }
        assert health.blocklists == () and health.blocklisted is False
    finally:
        eng.close_sync()
