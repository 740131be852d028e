"""Benchmark: how right the inbox reads bounces, beside flufl.bounce alone, and how fast.

Corpus: tests/data/bounces/postfix and .../exim (what a real Postfix and a real Exim wrote about
real SMTP conversations on loopback: tests/servers/bounce_world.py) plus .../documented (reports
written from their writers' documented formats); each message's class and recipient is in the
corpora's manifest.toml.

- class accuracy: `analyse()`'s class (hard, soft, policy, complaint, auto-reply, delivered)
  against the manifest. flufl.bounce alone (`all_failures`) can only say permanent (read as
  hard), temporary (soft) or nothing (right for auto-replies and success reports, wrong for
  everything else): a complaint or a policy refusal is beyond it.
- recipient accuracy: the first of `bounced_recipients` against the manifest's recipient, for
  every report that names one; flufl.bounce's `scan_message` must return exactly that address.
- suppressing: policy refusals and soft bounces that would suppress the address (our
  ``bounce_hard`` without ``sender_at_fault``; flufl's "permanent"). Target zero.
- speed: messages analysed per second (median of ROUNDS passes) beside flufl's
  `scan_message` + `all_failures` on the same bytes; peak memory of one pass (tracemalloc).

Targets (issue 16): class >= 97 %, recipient >= 98 %, zero suppressing policy/soft.
"""

from __future__ import annotations

import argparse
import time
import tomllib
import tracemalloc
from collections import Counter
from dataclasses import dataclass
from email import message_from_bytes
from pathlib import Path

from flufl.bounce import all_failures, scan_message

from bench.common import ROOT, median, peak_rss_mb, result_line
from outreach_tui.mail.inbound import InboundAnalysis, analyse

CORPORA = tuple(ROOT / "tests/data/bounces" / name for name in ("postfix", "exim", "documented"))


@dataclass(frozen=True)
class Case:
    source: str
    file: str
    klass: str
    recipient: str
    delayed: bool
    raw: bytes


def load(corpora: tuple[Path, ...] = CORPORA) -> list[Case]:
    cases: list[Case] = []
    for corpus in corpora:
        manifest = tomllib.loads((corpus / "manifest.toml").read_text(encoding="utf-8"))
        for entry in manifest["message"]:
            cases.append(
                Case(corpus.name, entry["file"], entry["class"], entry["recipient"],
                     bool(entry.get("delayed")), (corpus / entry["file"]).read_bytes())
            )  # fmt: skip
    return cases


def our_class(result: InboundAnalysis) -> str:
    if result.kind == "complaint":
        return "complaint"
    if result.delivery_status == "delivered":
        return "delivered"
    if result.bounce_class is not None:
        return result.bounce_class
    if result.kind in ("auto_reply", "out_of_office"):
        return "auto-reply"
    return "reply"


def flufl_class(raw: bytes) -> str:
    try:
        temporary, permanent = all_failures(message_from_bytes(raw))
    except Exception:
        return "none"
    if permanent:
        return "hard"
    return "soft" if temporary else "none"


def flufl_recipients(raw: bytes) -> set[str]:
    try:
        found = scan_message(message_from_bytes(raw))
    except Exception:
        return set()
    return {a.decode("ascii", "replace").lower() for a in found}


def _flufl_right(expected: str, got: str) -> bool:
    if expected in ("auto-reply", "delivered"):
        return got == "none"
    return expected == got


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args()
    cases = load()

    ours = [analyse(c.raw) for c in cases]
    flufl = [flufl_class(c.raw) for c in cases]
    class_right = [our_class(r) == c.klass for r, c in zip(ours, cases, strict=True)]
    flufl_right = [_flufl_right(c.klass, f) for f, c in zip(flufl, cases, strict=True)]
    named = [
        (i, c) for i, c in enumerate(cases)
        if c.recipient and c.klass in ("hard", "soft", "policy", "complaint")
    ]  # fmt: skip
    rcpt_right = [ours[i].bounced_recipients[:1] == (c.recipient,) for i, c in named]
    flufl_rcpt = [flufl_recipients(c.raw) == {c.recipient} for _, c in named]
    failure_classes = ("policy", "soft")
    suppressing = [
        c.file for r, c in zip(ours, cases, strict=True)
        if (c.klass in failure_classes or c.delayed)
        and r.kind == "bounce_hard" and not r.sender_at_fault
    ]  # fmt: skip
    flufl_suppressing = [
        c.file for f, c in zip(flufl, cases, strict=True)
        if (c.klass in failure_classes or c.delayed) and f == "hard"
    ]  # fmt: skip

    ours_rates: list[float] = []
    flufl_rates: list[float] = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        for c in cases:
            analyse(c.raw)
        ours_rates.append(len(cases) / (time.perf_counter() - started))
        started = time.perf_counter()
        for c in cases:
            flufl_class(c.raw)
            flufl_recipients(c.raw)
        flufl_rates.append(len(cases) / (time.perf_counter() - started))
    tracemalloc.start()
    for c in cases:
        analyse(c.raw)
    peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()

    by_source = Counter(c.source for c in cases)
    by_class = Counter(c.klass for c in cases)
    print(f"messages: {len(cases)} ({', '.join(f'{k} {v}' for k, v in sorted(by_source.items()))})")
    print("classes:  " + ", ".join(f"{k} {v}" for k, v in sorted(by_class.items())))
    print(f"{'class':<12}{'n':>5}{'ours':>8}{'flufl':>8}")
    for klass in sorted(by_class):
        idx = [i for i, c in enumerate(cases) if c.klass == klass]
        ours_k = sum(class_right[i] for i in idx) / len(idx)
        flufl_k = sum(flufl_right[i] for i in idx) / len(idx)
        print(f"{klass:<12}{len(idx):>5}{ours_k:>8.1%}{flufl_k:>8.1%}")
    class_acc = sum(class_right) / len(cases)
    flufl_acc = sum(flufl_right) / len(cases)
    rcpt_acc = sum(rcpt_right) / len(named)
    flufl_rcpt_acc = sum(flufl_rcpt) / len(named)
    print(f"class accuracy:      {class_acc:.1%} (flufl.bounce alone {flufl_acc:.1%})")
    print(f"recipient accuracy:  {rcpt_acc:.1%} (flufl.bounce alone {flufl_rcpt_acc:.1%})")
    print(f"  over the {len(named)} failure and complaint reports that name a recipient")
    print(f"policy/soft that would suppress: {len(suppressing)} (flufl: {len(flufl_suppressing)})")
    ours_speed, flufl_speed = median(ours_rates), median(flufl_rates)
    print(f"speed: {ours_speed:.0f} msg/s (flufl.bounce alone {flufl_speed:.0f} msg/s), median")
    print(f"peak traced memory of one pass: {peak_mb:.1f} MB; peak RSS {peak_rss_mb():.0f} MB")
    if args.show_misses:
        for r, c, ok in zip(ours, cases, class_right, strict=True):
            if not ok:
                got = our_class(r)
                print(f"  class miss {c.source}/{c.file}: {c.klass} -> {got} ({r.reason})")
        for (i, c), ok in zip(named, rcpt_right, strict=True):
            if not ok:
                got_rcpt = ours[i].bounced_recipients
                print(f"  recipient miss {c.source}/{c.file}: {c.recipient} -> {got_rcpt}")
    print(result_line("bounces_class_accuracy", class_acc, flufl_acc, 0.97))
    print(result_line("bounces_recipient_accuracy", rcpt_acc, flufl_rcpt_acc, 0.98))
    print(
        result_line(
            "bounces_policy_or_soft_suppressing", len(suppressing), len(flufl_suppressing), 0
        )
    )
    print(result_line("bounces_msgs_per_s", median(ours_rates), median(flufl_rates), 500))
    print(result_line("bounces_peak_traced_mb", peak_mb, 0, 64))


if __name__ == "__main__":
    main()
