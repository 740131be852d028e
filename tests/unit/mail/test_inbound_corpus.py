"""Every message of the inbound corpus (tests/data/inbound, described by cases.toml) is analysed
as its manifest says: kind, return date, bounced recipients, status code, the Message-IDs that
link it to our send, the sender, and whether it could be read in full."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import pytest

from outreach_tui.mail.inbound import InboundAnalysis, analyse

CORPUS = Path(__file__).resolve().parents[2] / "data" / "inbound"
CASES = tomllib.loads((CORPUS / "cases.toml").read_text(encoding="utf-8"))["case"]
KINDS = {
    "interested",
    "not_interested",
    "unsubscribe",
    "out_of_office",
    "auto_reply",
    "wrong_person",
    "other",
    "bounce_hard",
    "bounce_soft",
    "complaint",
}


def test_manifest_lists_every_file_once_and_enough_of_them():
    files = [case["file"] for case in CASES]
    assert len(files) == len(set(files))
    assert sorted(files) == sorted(p.name for p in CORPUS.glob("*.eml"))
    assert len(files) >= 45
    assert {case["kind"] for case in CASES} == KINDS


@pytest.mark.parametrize("case", CASES, ids=[case["file"] for case in CASES])
def test_corpus_message_is_analysed_as_the_manifest_says(case):
    result = analyse((CORPUS / case["file"]).read_bytes())

    assert isinstance(result, InboundAnalysis)
    assert result.kind == case["kind"], result.reason
    assert result.reason
    expected_date = case.get("return_date")
    assert result.return_date == (date.fromisoformat(expected_date) if expected_date else None)
    if "bounced" in case:
        assert list(result.bounced_recipients) == case["bounced"]
    for key in ("status_code", "original_message_id", "in_reply_to", "from_email"):
        if key in case:
            assert getattr(result, key) == case[key], key
    assert result.sender_at_fault == case.get("sender_at_fault", False)
    assert (result.problem is not None) == case.get("problem", False), result.problem


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if c["kind"] in {"bounce_hard", "bounce_soft", "complaint"}],
    ids=lambda c: c["file"],
)
def test_reports_are_decided_by_the_report_not_by_reply_rules(case):
    result = analyse((CORPUS / case["file"]).read_bytes())

    assert result.classified_by in {"dsn", "arf"}
    assert result.text == ""
    assert result.bounced_recipients


@pytest.mark.parametrize(
    "name", ["interested_en.eml", "interested_de.eml", "interested_fr.eml", "interested_es.eml"]
)
def test_quoted_footer_with_unsubscribe_never_reaches_the_rules(name):
    result = analyse((CORPUS / name).read_bytes())

    assert result.kind == "interested"
    lowered = result.text.lower()
    assert "unsubscribe" not in lowered and "outreach.test" not in lowered
    assert result.snippet and "\n" not in result.snippet and len(result.snippet) <= 200


def test_automatic_headers_decide_and_are_named_in_the_reason():
    result = analyse((CORPUS / "ooo_en_outlook_until.eml").read_bytes())

    assert result.classified_by == "headers"
    assert result.reason.startswith("Auto-Submitted: auto-generated")


def test_reply_threading_fields_are_read_without_brackets():
    result = analyse((CORPUS / "interested_en.eml").read_bytes())

    assert result.message_id == "reply.a01.interested_en@mail.example.com"
    assert result.in_reply_to == "20261117100000.a01@outreach.test"
    assert result.references == ("20261117100000.a01@outreach.test",)
    assert result.subject == "Re: Quick question about onboarding"
    assert result.received_at == "Tue, 24 Nov 2026 09:12:44 +0100"


def test_hostile_ids_are_reported_verbatim_for_the_poller_to_refuse():
    result = analyse((CORPUS / "hostile_message_id.eml").read_bytes())

    assert result.message_id == 'a"b\x00c@evil.example'
    assert result.in_reply_to is not None and "\x00" in result.in_reply_to
    # The encoded CR/LF stays encoded: Message-ID fields are never RFC 2047-decoded.
    assert all("\r" not in ref and "\n" not in ref for ref in result.references)
    assert result.references[0] == "=?utf-8?q?a=0D=0A_A001_LOGOUT?=@outreach.test"


def test_decoded_subject_carries_no_control_characters():
    result = analyse((CORPUS / "hostile_message_id.eml").read_bytes())

    assert result.subject == "Re: hello  Bcc: victim@example.com"
