"""DNS health rules over record strings: SPF syntax, lookup counting and authorisation,
DKIM keys, DMARC policy and alignment, DNSBL answers, and what counts as a change."""

from __future__ import annotations

import pytest

from outreach_tui.core.dnshealth import (
    Answer,
    AnswerStatus,
    CheckStatus,
    DomainHealth,
    describe_changes,
    dnsbl_name_for_domain,
    dnsbl_name_for_ip,
    evaluate_dkim,
    evaluate_dmarc,
    evaluate_dnsbl,
    evaluate_mx,
    evaluate_spf,
    findings,
    parse_spf,
    spf_fetch_plan,
)

OK = AnswerStatus.OK
KEY = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3"


def txt(*records: str) -> Answer:
    return Answer(OK, records)


NXDOMAIN = Answer(AnswerStatus.NXDOMAIN)
SERVFAIL = Answer(AnswerStatus.ERROR, detail="SERVFAIL")


# -- SPF syntax ----------------------------------------------------------------------------


def test_spf_parses_mechanisms_qualifiers_and_redirect():
    record = parse_spf("v=spf1 +a mx/24 ip4:192.0.2.0/24 ~include:_spf.x.test redirect=y.test")
    assert record.errors == ()
    assert [(t.qualifier, t.mechanism) for t in record.terms] == [
        ("pass", "a"),
        ("pass", "mx"),
        ("pass", "ip4"),
        ("softfail", "include"),
    ]
    assert record.terms[1].cidr4 == 24
    assert record.redirect == "y.test"
    assert record.lookups == 4  # a, mx, include, redirect


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ("v=spf1 foo:bar -all", "unknown term"),
        ("v=spf1 ip4:300.1.1.1 -all", "not a valid ip4"),
        ("v=spf1 ip4:2001:db8::1 -all", "not an IPv4 address"),
        ("v=spf1 ip6:2001:db8::/129 -all", "prefix length"),
        ("v=spf1 include: -all", "needs an argument"),
        ("v=spf1 a/33 -all", "prefix length"),
        ("v=spf1 redirect=a.test redirect=b.test", "more than once"),
        ("v=spf1 -all:x", "all takes no argument"),
        ("v=spf2 -all", "v=spf1"),
    ],
)
def test_spf_syntax_errors_are_named(record, problem):
    assert any(problem in e for e in parse_spf(record).errors), parse_spf(record).errors


def test_spf_fetch_plan_names_includes_redirects_a_and_mx_but_not_macros():
    record = parse_spf("v=spf1 a mx:m.test include:i.test exists:%{i}.x.test redirect=r.test")
    assert spf_fetch_plan("d.test", record) == (["i.test", "r.test"], ["d.test"], ["m.test"])


# -- SPF evaluation ------------------------------------------------------------------------


def spf_world(**records: str | Answer) -> dict[tuple[str, str], Answer]:
    world: dict[tuple[str, str], Answer] = {}
    for name, value in records.items():
        host = name.replace("_", ".")
        world[(host, "TXT")] = value if isinstance(value, Answer) else txt(value)
    return world


def test_spf_counts_lookups_through_nested_includes():
    world = spf_world(
        d_test="v=spf1 include:a.test include:b.test -all",
        a_test="v=spf1 a mx include:c.test ~all",
        b_test="v=spf1 ip4:192.0.2.1 ~all",
        c_test="v=spf1 exists:x.test ptr ~all",
    )
    result = evaluate_spf("d.test", world)
    assert result.facts["lookups"] == 2 + 3 + 0 + 2
    assert result.status is CheckStatus.WARNING  # no sending IPs known: unchecked


def test_spf_over_ten_lookups_fails():
    includes = " ".join(f"include:i{n}.test" for n in range(11))
    world = spf_world(d_test=f"v=spf1 {includes} -all")
    for n in range(11):
        world[(f"i{n}.test", "TXT")] = txt("v=spf1 ip4:192.0.2.1 -all")
    result = evaluate_spf("d.test", world, ["192.0.2.1"])
    assert result.status is CheckStatus.FAIL
    assert result.facts["lookups"] == 11


def test_spf_two_records_fail_and_other_txt_records_are_ignored():
    world = spf_world(d_test=txt("v=spf1 -all", "v=spf1 a -all", "verify=1"))
    assert evaluate_spf("d.test", world).status is CheckStatus.FAIL
    world = spf_world(d_test=txt("v=spf10 x", "verify=1"))
    assert evaluate_spf("d.test", world).status is CheckStatus.MISSING


def test_spf_lookup_error_is_unknown_and_nxdomain_is_missing():
    assert evaluate_spf("d.test", spf_world(d_test=SERVFAIL)).status is CheckStatus.UNKNOWN
    assert evaluate_spf("d.test", spf_world(d_test=NXDOMAIN)).status is CheckStatus.MISSING


def test_spf_include_without_record_is_broken_but_include_servfail_is_unknown():
    broken = spf_world(d_test="v=spf1 include:gone.test -all", gone_test=NXDOMAIN)
    assert evaluate_spf("d.test", broken).status is CheckStatus.FAIL
    flaky = spf_world(d_test="v=spf1 include:flaky.test -all", flaky_test=SERVFAIL)
    assert evaluate_spf("d.test", flaky).status is CheckStatus.UNKNOWN


def test_spf_include_loop_fails():
    world = spf_world(d_test="v=spf1 include:e.test -all", e_test="v=spf1 include:d.test -all")
    result = evaluate_spf("d.test", world)
    assert result.status is CheckStatus.FAIL
    assert any("loop" in p for p in result.problems)


@pytest.mark.parametrize(
    ("ending", "status"),
    [
        ("-all", CheckStatus.OK),
        ("~all", CheckStatus.OK),
        ("?all", CheckStatus.WARNING),
        ("", CheckStatus.WARNING),
        ("+all", CheckStatus.FAIL),
    ],
)
def test_spf_ending_decides_strictness(ending, status):
    world = spf_world(d_test=f"v=spf1 ip4:192.0.2.0/24 {ending}".strip())
    assert evaluate_spf("d.test", world, ["192.0.2.9"]).status is status


def test_spf_authorises_sending_ips_through_includes_a_and_mx():
    world = spf_world(
        d_test="v=spf1 a mx include:p.test -all", p_test="v=spf1 ip6:2001:db8::/32 ~all"
    )
    world[("d.test", "A")] = Answer(OK, ("192.0.2.1",))
    world[("d.test", "AAAA")] = Answer(AnswerStatus.NODATA)
    world[("d.test", "MX")] = Answer(OK, ("mx.d.test",))
    world[("mx.d.test", "A")] = Answer(OK, ("198.51.100.7",))
    world[("mx.d.test", "AAAA")] = Answer(AnswerStatus.NODATA)
    ips = ["192.0.2.1", "198.51.100.7", "2001:db8::5", "203.0.113.1"]
    result = evaluate_spf("d.test", world, ips)
    assert result.facts["sending_ips"] == {
        "192.0.2.1": "pass",
        "198.51.100.7": "pass",
        "2001:db8::5": "pass",
        "203.0.113.1": "fail",
    }
    assert result.status is CheckStatus.FAIL
    assert result.problems == ("sending IP 203.0.113.1 is not authorised (SPF fail)",)


def test_spf_redirect_is_followed_for_authorisation():
    world = spf_world(d_test="v=spf1 redirect=r.test", r_test="v=spf1 ip4:192.0.2.0/24 -all")
    result = evaluate_spf("d.test", world, ["192.0.2.3"])
    assert result.status is CheckStatus.OK
    assert result.facts["lookups"] == 1


# -- DKIM ----------------------------------------------------------------------------------


def test_dkim_valid_key():
    result = evaluate_dkim("s1", txt(f"v=DKIM1; k=rsa; p={KEY}"))
    assert result.status is CheckStatus.OK


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ("v=DKIM1; k=rsa", "no p= key"),
        ("v=DKIM1; p=", "empty p="),
        ("v=DKIM1; p=not*base64!", "not valid base64"),
        (f"v=DKIM2; p={KEY}", "v=DKIM2"),
        (f"v=DKIM1; k=dsa; p={KEY}", "k=dsa"),
    ],
)
def test_dkim_broken_keys(record, problem):
    result = evaluate_dkim("s1", txt(record))
    assert result.status is CheckStatus.FAIL
    assert any(problem in p for p in result.problems), result.problems


def test_dkim_missing_and_unknown():
    assert evaluate_dkim("s1", NXDOMAIN).status is CheckStatus.MISSING
    assert evaluate_dkim("s1", SERVFAIL).status is CheckStatus.UNKNOWN


def test_dkim_key_split_over_strings_with_spaces_is_accepted():
    assert evaluate_dkim("s1", txt(f"p={KEY[:20]} {KEY[20:]}")).status is CheckStatus.WARNING


# -- DMARC ---------------------------------------------------------------------------------


def test_dmarc_policy_alignment_and_reports():
    result = evaluate_dmarc(
        "d.test", txt("v=DMARC1; p=quarantine; adkim=s; aspf=r; rua=mailto:r@d.test")
    )
    assert result.status is CheckStatus.OK
    assert (result.facts["policy"], result.facts["adkim"], result.facts["aspf"]) == (
        "quarantine",
        "strict",
        "relaxed",
    )


def test_dmarc_none_policy_is_valid_with_a_warning():
    result = evaluate_dmarc("d.test", txt("v=DMARC1; p=none; rua=mailto:r@d.test"))
    assert result.status is CheckStatus.WARNING
    assert result.status.healthy is True


@pytest.mark.parametrize(
    ("records", "status", "problem"),
    [
        (("v=DMARC1; rua=mailto:r@d.test",), CheckStatus.FAIL, "no p= policy"),
        (("v=DMARC1; p=block",), CheckStatus.FAIL, "p=block"),
        (("v=DMARC1; p=reject; adkim=x",), CheckStatus.FAIL, "adkim=x"),
        (("v=DMARC1; p=reject", "v=DMARC1; p=none"), CheckStatus.FAIL, "2 DMARC records"),
        (("p=reject; v=DMARC1",), CheckStatus.MISSING, "no DMARC record"),
    ],
)
def test_dmarc_broken_records(records, status, problem):
    result = evaluate_dmarc("d.test", txt(*records))
    assert result.status is status
    assert any(problem in p for p in result.problems), result.problems


def test_dmarc_lookup_error_is_unknown():
    assert evaluate_dmarc("d.test", SERVFAIL).status is CheckStatus.UNKNOWN
    assert evaluate_dmarc("d.test", NXDOMAIN).status is CheckStatus.MISSING


# -- MX and DNSBL --------------------------------------------------------------------------


def test_mx_present_missing_unknown():
    assert evaluate_mx("d.test", Answer(OK, ("mx.d.test",))).status is CheckStatus.OK
    assert evaluate_mx("d.test", Answer(AnswerStatus.NODATA)).status is CheckStatus.MISSING
    assert evaluate_mx("d.test", SERVFAIL).status is CheckStatus.UNKNOWN


def test_dnsbl_query_names():
    assert dnsbl_name_for_ip("192.0.2.7", "zen.example") == "7.2.0.192.zen.example"
    assert dnsbl_name_for_ip("2001:db8::1", "bl.example").startswith("1.0.0.0.")
    assert dnsbl_name_for_ip("2001:db8::1", "bl.example").endswith(".8.b.d.0.1.0.0.2.bl.example")
    assert dnsbl_name_for_domain("Sales.Test.", "dbl.example") == "sales.test.dbl.example"


def test_dnsbl_answers():
    assert evaluate_dnsbl("1.2.3.4", "z", Answer(OK, ("127.0.0.2",))).status is CheckStatus.FAIL
    assert evaluate_dnsbl("1.2.3.4", "z", NXDOMAIN).status is CheckStatus.OK
    assert evaluate_dnsbl("1.2.3.4", "z", SERVFAIL).status is CheckStatus.UNKNOWN
    # Spamhaus' "you may not query through this resolver" code is not a listing.
    refused = Answer(OK, ("127.255.255.254",))
    assert evaluate_dnsbl("1.2.3.4", "z", refused).status is CheckStatus.UNKNOWN
    # An ISP resolver that answers every name with its own address is not a listing either.
    hijacked = Answer(OK, ("198.51.100.1",))
    assert evaluate_dnsbl("1.2.3.4", "z", hijacked).status is CheckStatus.UNKNOWN


# -- the whole domain ----------------------------------------------------------------------


GOOD_SPF = "v=spf1 ip4:192.0.2.0/24 -all"
GOOD_DMARC = "v=DMARC1; p=reject; rua=mailto:r@d.test"


def health(spf: str = GOOD_SPF, dmarc: str = GOOD_DMARC, listed: bool = False) -> DomainHealth:
    world = spf_world(d_test=spf)
    return DomainHealth(
        domain="d.test",
        mx=evaluate_mx("d.test", Answer(OK, ("mx.d.test",))),
        spf=evaluate_spf("d.test", world, ["192.0.2.1"]),
        dkim=(evaluate_dkim("s1", txt(f"v=DKIM1; p={KEY}")),),
        dmarc=evaluate_dmarc("d.test", txt(dmarc) if dmarc else NXDOMAIN),
        blocklists=(
            evaluate_dnsbl("d.test", "dbl.x", Answer(OK, ("127.0.1.2",)) if listed else NXDOMAIN),
        ),
    )


def test_healthy_domain_has_no_findings():
    good = health()
    assert good.healthy and not good.broken
    assert good.flags() == {"spf_ok": True, "dkim_ok": True, "dmarc_ok": True, "blocklisted": False}
    assert findings(good) == []


def test_findings_rank_blocklist_and_spf_critical_dmarc_none_warning():
    bad = health(
        spf="v=spf1 ip4:192.0.2.0/24 +all",
        dmarc="v=DMARC1; p=none; rua=mailto:r@d.test",
        listed=True,
    )
    ranked = {f.key: f.severity for f in findings(bad)}
    assert ranked["dns:d.test:blocklist:dbl.x:d.test"] == "critical"
    assert ranked["dns:d.test:spf"] == "critical"
    assert ranked["dns:d.test:dmarc-none"] == "warning"


def test_changes_name_what_disappeared_and_ignore_unknown():
    before = {"spf_ok": True, "dkim_ok": True, "dmarc_ok": True, "blocklisted": False}
    assert describe_changes("d.test", before, health(dmarc="", listed=True)) == [
        "d.test: DMARC record disappeared",
        "d.test: now listed on dbl.x",
    ]
    assert describe_changes("d.test", {**before, "dmarc_ok": False}, health()) == [
        "d.test: DMARC is valid again"
    ]
    assert describe_changes("d.test", {k: None for k in before}, health()) == []
