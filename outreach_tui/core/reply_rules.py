"""What kind of reply a message is, from its headers, its subject and its new text.

Pure functions over strings: the parsing of bytes lives in `outreach_tui.mail.inbound`, the
cutting of quoted history in `outreach_tui.mail.reply_text`. The rules see only the new text of a
reply, so our own footer's "unsubscribe" in a quoted copy cannot decide anything, and of that
text only the part before its sign-off (`reply_tail.intent_part`), so a signature's disclaimer
cannot either.

Order, first match wins:
1. a machine's signal (`reply_signals`: headers only autoresponders set, an autoresponder's
   subject): out_of_office when the text or subject says so, else auto_reply;
2. text that is plainly an out-of-office or an acknowledgement (ticket systems);
3. human replies (`reply_intent`): unsubscribe, not_interested, wrong_person, interested, in
   that order, because "not interested" contains "interested" and "remove me" outranks
   everything for suppression;
4. other.

This module keeps the names other modules import (`automatic_signal`, `classify_text`, the
rule tables, `Rule`, `TextKind`); the tables live in `reply_intent` and `reply_signals`, the
return dates in `ooo_dates`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from outreach_tui.core.ooo_dates import find_return_date, fold
from outreach_tui.core.reply_intent import (
    INTERESTED,
    NOT_INTERESTED,
    UNSUBSCRIBE,
    WRONG_PERSON,
    Rule,
    TextKind,
)
from outreach_tui.core.reply_signals import (
    ACKNOWLEDGEMENT,
    OUT_OF_OFFICE,
    automatic_signal,
    automatic_subject,
    subject_core,
    subject_says_away,
)
from outreach_tui.core.reply_tail import intent_part

__all__ = [
    "ACKNOWLEDGEMENT",
    "HUMAN_RULES",
    "INTERESTED",
    "MAX_RULE_CHARS",
    "NOT_INTERESTED",
    "OUT_OF_OFFICE",
    "UNSUBSCRIBE",
    "WRONG_PERSON",
    "Rule",
    "RuleVerdict",
    "TextKind",
    "automatic_signal",
    "classify_text",
    "first_match",
    "normalise",
]

#: Rules look at this many characters of new text at most (a reply's decisive words come early).
MAX_RULE_CHARS = 6000


@dataclass(frozen=True)
class RuleVerdict:
    kind: TextKind
    reason: str
    """The header or rule that decided, for the audit trail."""
    return_date: date | None = None


HUMAN_RULES: tuple[Rule, ...] = UNSUBSCRIBE + NOT_INTERESTED + WRONG_PERSON + INTERESTED


def normalise(text: str) -> str:
    """Folded text on one line (apostrophes unified), cut to `MAX_RULE_CHARS`."""
    text = text[: MAX_RULE_CHARS * 2].replace("\u2019", "'").replace("`", "'")
    return " ".join(fold(text).split())[:MAX_RULE_CHARS]


def first_match(rules: Iterable[Rule], folded: str) -> tuple[Rule, str] | None:
    """The first rule (in order) that matches, with the words it matched."""
    alternations = _ALTERNATIONS.get(id(rules))
    if alternations is None or alternations.rules is not rules:
        return _first_match_one_by_one(rules, folded)
    # One scan of an alternation instead of one scan per rule. The alternation finds the
    # leftmost position where any rule matches and, there, the first rule in order; an earlier
    # rule may still match further right, so the rules before it are scanned again from just
    # after that position, until no earlier rule matches. Same rule, same words as one by one.
    ordered = alternations.rules
    best: tuple[Rule, str] | None = None
    limit, start = len(ordered), 0
    while limit:
        found = alternations.of_first(limit).search(folded, start)
        if found is None:
            break
        at = found.start()
        index = next(i for i in range(limit) if ordered[i].pattern.match(folded, at))
        best = ordered[index], found.group(0)
        limit, start = index, at + 1
    return best


def _first_match_one_by_one(rules: Iterable[Rule], folded: str) -> tuple[Rule, str] | None:
    for rule in rules:
        found = rule.pattern.search(folded)
        if found:
            return rule, found.group(0)
    return None


_WORD_START = r"(?<!\w)"


class _Alternations:
    """Alternation regexes of the first n rules of one rule tuple, compiled when first needed."""

    def __init__(self, rules: tuple[Rule, ...]) -> None:
        assert all(rule.pattern.pattern.startswith(_WORD_START) for rule in rules)
        self.rules = rules
        self._compiled: dict[int, re.Pattern[str]] = {}

    def of_first(self, count: int) -> re.Pattern[str]:
        compiled = self._compiled.get(count)
        if compiled is None:
            # The shared look-behind comes first, once: inside a word it fails before any
            # branch is tried, and branches that start with a letter are rejected cheaply.
            bodies = "|".join(r.pattern.pattern[len(_WORD_START) :] for r in self.rules[:count])
            compiled = self._compiled[count] = re.compile(f"{_WORD_START}(?:{bodies})")
        return compiled


#: Keyed by the identity of the module's rule tuples (other iterables are matched one by one).
_ALTERNATIONS: dict[int, _Alternations] = {
    id(rules): _Alternations(rules) for rules in (OUT_OF_OFFICE, ACKNOWLEDGEMENT, HUMAN_RULES)
}


def classify_text(
    text: str,
    *,
    subject: str = "",
    automatic: str | None = None,
    sent: date | None = None,
) -> RuleVerdict:
    """Classify a reply from its new text, subject and the automatic-header signal (if any).

    `sent` is the message's own date, used to place a year-less return date in time.
    """
    folded = normalise(intent_part(text))
    core = subject_core(normalise(subject))
    ooo = first_match(OUT_OF_OFFICE, folded)
    if automatic is not None or automatic_subject(core):
        signal = automatic or f"Subject: {subject.strip()[:80]}"
        if ooo is not None or subject_says_away(core):
            why = f"{signal}; out-of-office ({ooo[0].language}: {ooo[1]!r})" if ooo else signal
            return RuleVerdict("out_of_office", why, find_return_date(folded, sent))
        return RuleVerdict("auto_reply", signal)
    if ooo is not None:
        rule, words = ooo
        return RuleVerdict("out_of_office", _reason(rule, words), find_return_date(folded, sent))
    ack = first_match(ACKNOWLEDGEMENT, folded)
    if ack is not None:
        return RuleVerdict("auto_reply", _reason(*ack))
    human = first_match(HUMAN_RULES, folded)
    if human is not None:
        return RuleVerdict(human[0].kind, _reason(*human))
    return RuleVerdict("other", "no rule matched" if folded else "no text")


def _reason(rule: Rule, words: str) -> str:
    return f"rule {rule.kind}/{rule.language}: {words[:60]!r}"
