"""Every message of the reply corpus (tests/data/replies, described by manifest.toml) is read as
its manifest says: the exact new text, automatic or human, and the kind where one is given."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from outreach_tui.mail.inbound import analyse
from tests.data.replies.corpus import CORPUS, cases, same_text

CASES = cases()
AUTOMATIC_KINDS = {"out_of_office", "auto_reply"}


def test_manifest_lists_every_file_once_and_covers_the_common_clients():
    files = [case.file for case in CASES]
    assert len(files) == len(set(files))
    assert sorted(files) == sorted(p.name for p in Path(CORPUS).glob("*.eml"))
    assert len(files) >= 80
    families = Counter(case.client.split("-")[0].replace("web.de", "gmx") for case in CASES)
    for family in ("gmail", "outlook", "apple", "thunderbird", "yahoo", "gmx", "zimbra", "lotus"):
        assert families[family] >= 3, family
    assert len({case.language for case in CASES}) >= 16
    assert {case.verdict for case in CASES} == {"automatic", "human"}


@pytest.mark.parametrize("case", CASES, ids=[case.file for case in CASES])
def test_corpus_message_is_read_as_the_manifest_says(case):
    result = analyse(case.raw)

    assert same_text(result.text, case.new_text), result.text
    verdict = "automatic" if result.kind in AUTOMATIC_KINDS else "human"
    assert verdict == case.verdict, result.reason
    if case.kind is not None:
        assert result.kind == case.kind, result.reason


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.kind != "unsubscribe"], ids=lambda c: c.file
)
def test_our_quoted_unsubscribe_footer_never_makes_a_reply_an_unsubscribe(case):
    # Every quoted original in the corpus ends with "To unsubscribe from these emails, ...".
    assert analyse(case.raw).kind != "unsubscribe"
