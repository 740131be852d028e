"""Benchmark: the new text of replies, beside mail-parser-reply alone, and the classifier's cost.

Over the reply corpus (tests/data/replies: messages written after the reply layouts of Gmail,
Outlook, Apple Mail, Thunderbird, Yahoo, GMX/Web.de, Zimbra, Lotus Notes and others, in many
languages, each with the exact new text in manifest.toml):

1. Exact new-text extraction: `analyse(raw).text` equals the manifest's new text line by line
   (each line's spacing and blank lines aside: `tests.data.replies.corpus.same_text`). Beside
   it, mail-parser-reply alone on the same body text (the text/plain part, else the HTML part
   as text), with all of its languages: its `latest_reply` and its `body` (the same without
   the signature it finds); the better of the two is the baseline. Target: >= 85 %.
2. Verdicts: automatic (auto-reply, out-of-office) or human, as the manifest says.
3. Speed, medians over `--rounds` passes over the corpus: messages per second of `new_text`
   alone beside mail-parser-reply alone on the same bodies (target: as fast), and the cost of
   a whole `analyse` per message (parse, new text, headers, rules), which the inbox pays for
   each reply. Its baseline is the ~0.26 ms a message that bench/replies.py measured for
   classification before this reader; target: at most 1.5 times that.

Peak RSS of the process at the end; RESULT lines last.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Callable
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

# mail-parser-reply ships no type information.
from mailparser_reply import EmailReplyParser  # type: ignore[import-untyped]
from mailparser_reply.constants import MAIL_LANGUAGES  # type: ignore[import-untyped]

from bench.common import median, peak_rss_mb, result_line
from outreach_tui.mail.inbound import analyse
from outreach_tui.mail.reply_html import html_to_text
from outreach_tui.mail.reply_text import html_reply_text, new_text
from tests.data.replies.corpus import cases, same_text

EXACT_TARGET = 85.0
#: bench/replies.py's figure for classifying one reply before this reader (ms).
CLASSIFY_BASELINE_MS = 0.26
CLASSIFY_TARGET_MS = 1.5 * CLASSIFY_BASELINE_MS
AUTOMATIC_KINDS = {"out_of_office", "auto_reply"}


def body_of(raw: bytes, *, for_reply: bool) -> str:
    """The body text a reader gets: the text/plain part, else the HTML part as text."""
    message = message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = str(part.get_content())
    if part.get_content_type() == "text/html":
        return html_reply_text(content) if for_reply else html_to_text(content)
    return content


def library_parser() -> EmailReplyParser:
    return EmailReplyParser(languages=list(MAIL_LANGUAGES))


def library_texts(parser: EmailReplyParser, body: str) -> tuple[str, str]:
    """mail-parser-reply's latest reply, with and without the signature it finds."""
    message = parser.read(body)
    if not message.replies:
        return "", ""
    reply = message.replies[0]
    return str(reply.content), str(reply.body)


def rate(function: Callable[[], int], rounds: int) -> tuple[float, float]:
    """Median messages per second and milliseconds per message of `function` (which returns
    how many messages it handled)."""
    per_second = []
    for _ in range(rounds):
        started = time.process_time()
        handled = function()
        per_second.append(handled / (time.process_time() - started))
    best = median(per_second)
    return best, 1000.0 / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=5, help="corpus passes per timed round")
    parser.add_argument("--show", action="store_true", help="print every miss")
    args = parser.parse_args()

    corpus = cases()
    library = library_parser()
    ours_ok = latest_ok = body_ok = verdict_ok = 0
    misses: Counter[str] = Counter()
    library_misses: Counter[str] = Counter()
    for case in corpus:
        result = analyse(case.raw)
        verdict = "automatic" if result.kind in AUTOMATIC_KINDS else "human"
        verdict_ok += verdict == case.verdict
        if same_text(result.text, case.new_text):
            ours_ok += 1
        else:
            misses[case.client] += 1
            if args.show:
                print(f"miss {case.file}: {result.text[:120]!r}")
        latest, body = library_texts(library, body_of(case.raw, for_reply=False))
        latest_ok += same_text(latest, case.new_text)
        body_ok += same_text(body, case.new_text)
        if not same_text(latest, case.new_text) and not same_text(body, case.new_text):
            library_misses[case.client] += 1

    count = len(corpus)
    exact = 100.0 * ours_ok / count
    library_exact = 100.0 * max(latest_ok, body_ok) / count
    verdicts = 100.0 * verdict_ok / count

    plain_bodies = [body_of(c.raw, for_reply=False) for c in corpus]
    reply_bodies = [body_of(c.raw, for_reply=True) for c in corpus]
    raws = [c.raw for c in corpus]

    def ours() -> int:
        for _ in range(args.repeat):
            for body in reply_bodies:
                new_text(body)
        return args.repeat * count

    def theirs() -> int:
        for _ in range(args.repeat):
            for body in plain_bodies:
                library.read(body)
        return args.repeat * count

    def whole() -> int:
        for _ in range(args.repeat):
            for raw in raws:
                analyse(raw)
        return args.repeat * count

    ours(), theirs(), whole()  # warm caches and lazily compiled patterns
    ours_rate, ours_ms = rate(ours, args.rounds)
    theirs_rate, theirs_ms = rate(theirs, args.rounds)
    analyse_rate, analyse_ms = rate(whole, args.rounds)

    print(f"corpus: {count} messages, {len({c.language for c in corpus})} languages, "
          f"{len({c.client for c in corpus})} clients")  # fmt: skip
    print(f"new text exact:       {exact:.1f} % ({ours_ok}/{count})")
    print(
        f"mail-parser-reply:    {library_exact:.1f} % (latest_reply {latest_ok}/{count}, "
        f"body {body_ok}/{count})"
    )
    print(f"verdicts right:       {verdicts:.1f} % ({verdict_ok}/{count})")
    print(f"our misses by client: {dict(misses) or 'none'}")
    print(f"library misses:       {dict(sorted(library_misses.items()))}")
    print(f"new_text:             {ours_rate:.0f} msg/s ({ours_ms:.3f} ms/msg, median)")
    print(f"mail-parser-reply:    {theirs_rate:.0f} msg/s ({theirs_ms:.3f} ms/msg, median)")
    print(f"analyse (whole):      {analyse_rate:.0f} msg/s ({analyse_ms:.3f} ms/msg, median)")
    print(f"peak RSS:             {peak_rss_mb():.0f} MB")
    print(result_line("replies_text_exact_pct", exact, library_exact, EXACT_TARGET))
    print(result_line("replies_text_verdict_pct", verdicts, 0, 100))
    print(result_line("replies_text_msgs_per_s", ours_rate, theirs_rate, theirs_rate))
    print(result_line("replies_analyse_ms", analyse_ms, CLASSIFY_BASELINE_MS, CLASSIFY_TARGET_MS))
    print(result_line("replies_text_peak_rss_mb", peak_rss_mb(), 0, 0))


if __name__ == "__main__":
    main()
