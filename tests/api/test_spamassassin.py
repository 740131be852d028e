"""What outgoing mail looks like to SpamAssassin's local rules (`spamassassin -L -t`, no
network tests): a message the pipeline really sent, ASCII and not, scores nothing; only the
informational notes of a message read without its transport headers remain."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

#: Informational rules (0 points) about a message taken before any relay added headers.
INFORMATIONAL = {"NO_RECEIVED", "NO_RELAYS"}


def judged(raw: bytes) -> tuple[float, set[str]]:
    spamassassin = shutil.which("spamassassin")
    if spamassassin is None:
        pytest.fail("spamassassin is not installed (tools/ensure_test_servers.sh installs it)")
    result = subprocess.run(
        [spamassassin, "-L", "-t"], input=raw, capture_output=True, timeout=120, check=True
    )
    report = result.stdout.decode("utf-8", "replace")
    score = float(re.search(r"Content analysis details:\s+\((-?[\d.]+) points", report)[1])
    rules = set(re.findall(r"^\s*-?[\d.]+ ([A-Z0-9_]+)\s", report, re.M))
    return score, rules


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Quick question about Firma's hiring",
         "Hi Anna,\n\nI saw that Firma is growing its sales team. We help companies like "
         "yours\nonboard new reps in half the time.\n\nWould a 15-minute call next week make "
         "sense?\n\nBest,\nAlex\n"),
        ("Kurze Frage zu Ihrem Vertrieb",
         "Hallo Anna,\n\nich habe gesehen, dass Firma wächst. Hätten Sie nächste Woche 15 "
         "Minuten für ein Gespräch?\n\nViele Grüße\nAlex\n"),
    ],
)  # fmt: skip
def test_a_sent_message_scores_nothing_with_the_local_rules(api_world, subject, body):
    api = api_world(
        sending={"unsubscribe_url": "https://outreach.brand-news.com/unsubscribe/{token}",
                 "unsubscribe_key": "env:UNSUBSCRIBE_KEY",
                 "postal_address": "Brand News Ltd, 1 Main St, Springfield"},
    )  # fmt: skip
    assert api.send("anna@firma.de", subject=subject, body=body).sent
    score, rules = judged(api.smtp.received[-1].data)
    assert score <= 0, rules
    assert rules <= INFORMATIONAL, rules
