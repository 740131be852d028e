"""Every report of the bounce corpus is read as its manifest says: class, recipient, expiry,
delay, and the Message-ID of ours it quotes.

Three corpora (tests/data/bounces, see its README): `postfix/` and `exim/`, what a real Postfix
and a real Exim wrote about real SMTP conversations on loopback (frozen by
tests/servers/bounce_world.py; tests/functional/test_bounce_world.py produces them afresh), and
`documented/`, reports written from their writers' documented formats.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from outreach_tui.mail.inbound import InboundAnalysis, analyse

DATA = Path(__file__).resolve().parents[2] / "data" / "bounces"
CORPORA = ("postfix", "exim", "documented")
CLASSES = {"hard", "soft", "policy", "complaint", "auto-reply", "delivered"}


def _cases() -> list[tuple[str, dict[str, object]]]:
    out: list[tuple[str, dict[str, object]]] = []
    for corpus in CORPORA:
        manifest = tomllib.loads((DATA / corpus / "manifest.toml").read_text(encoding="utf-8"))
        out.extend((corpus, case) for case in manifest["message"])
    return out


CASES = _cases()


def verdict_class(result: InboundAnalysis) -> str:
    """The class a report comes out as, in the manifest's words."""
    if result.kind == "complaint":
        return "complaint"
    if result.delivery_status == "delivered":
        return "delivered"
    if result.bounce_class is not None:
        return result.bounce_class
    if result.kind in ("auto_reply", "out_of_office"):
        return "auto-reply"
    return f"reply:{result.kind}"


@pytest.mark.parametrize("corpus", CORPORA)
def test_manifest_lists_every_file_once(corpus):
    manifest = tomllib.loads((DATA / corpus / "manifest.toml").read_text(encoding="utf-8"))
    files = [case["file"] for case in manifest["message"]]

    assert len(files) == len(set(files))
    assert sorted(files) == sorted(p.name for p in (DATA / corpus).glob("*.eml"))
    assert {case["class"] for case in manifest["message"]} <= CLASSES


def test_the_corpus_covers_every_class_and_state():
    classes = {case["class"] for _, case in CASES}
    for mta in ("postfix", "exim"):
        real = [case for corpus, case in CASES if corpus == mta]
        assert len(real) >= 90
        assert any(case["expired"] for case in real)
        assert any(case["delayed"] for case in real)
    assert classes == CLASSES


@pytest.mark.parametrize(
    ("corpus", "case"), CASES, ids=[f"{corpus}/{case['file']}" for corpus, case in CASES]
)
def test_report_is_read_as_the_manifest_says(corpus, case):
    result = analyse((DATA / corpus / str(case["file"])).read_bytes())

    assert verdict_class(result) == case["class"], result.reason
    if case["class"] not in ("auto-reply", "delivered"):
        assert result.bounced_recipients[:1] == ((case["recipient"],) if case["recipient"] else ())
        assert result.classified_by in ("dsn", "arf")
        assert case["message_id"] in result.report_message_ids
    assert result.expired == case["expired"], result.reason
    assert (result.delivery_status == "delayed") == case["delayed"], result.reason


@pytest.mark.parametrize(
    ("corpus", "case"),
    [(c, case) for c, case in CASES if case["class"] in ("hard", "soft", "policy")],
    ids=lambda value: value["file"] if isinstance(value, dict) else value,
)
def test_only_a_hard_bounce_comes_out_as_one_that_suppresses(corpus, case):
    result = analyse((DATA / corpus / str(case["file"])).read_bytes())
    suppresses = result.kind == "bounce_hard" and not result.sender_at_fault

    assert suppresses == (case["class"] == "hard" and not case["delayed"])
    if case["class"] == "policy":
        assert result.sender_at_fault
