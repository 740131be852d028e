"""Deeply nested MIME is cut at the depth the part walk reads (mail/mime_parts.py): the parser
never pays for the levels below it, and the message says so in its `problem`."""

from __future__ import annotations

import time

from outreach_tui.mail.inbound import analyse
from outreach_tui.mail.mime_parts import MAX_DEPTH

HEAD = (
    b"From: Anna <anna@example.com>\r\nTo: sam@outreach.test\r\nSubject: Re: hi\r\n"
    b"Message-ID: <nested@example.com>\r\nMIME-Version: 1.0\r\n"
)


def nested(depth: int, text: bytes, filler_lines: int = 0, kind: bytes = b"multipart") -> bytes:
    out = HEAD
    for level in range(depth):
        if kind == b"multipart":
            out += b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (
                level,
                level,
            )
        else:
            out += b"Content-Type: message/rfc822\r\n\r\nFrom: x%d@example.com\r\n" % level
    out += b"Content-Type: text/plain\r\n\r\n" + text + b"\r\n" + b"x\r\n" * filler_lines
    if kind == b"multipart":
        out += b"".join(b"--b%d--\r\n" % level for level in reversed(range(depth)))
    return out


def test_deep_nesting_is_cut_at_the_cap_and_costs_milliseconds_not_seconds():
    # 900 levels and 200,000 lines below them: the parser used to check every line against
    # 900 boundaries (11 s here); cut at the cap, it parses 24 levels.
    raw = nested(900, b"unsubscribe", filler_lines=200_000)

    started = time.perf_counter()
    result = analyse(raw)
    elapsed = time.perf_counter() - started

    assert elapsed < 2.0, elapsed
    assert result.problem and f"deeper than {MAX_DEPTH} levels" in result.problem
    assert result.from_email == "anna@example.com"


def test_a_thousand_nested_messages_are_cut_not_a_recursion_error():
    result = analyse(nested(3000, b"hello", kind=b"message"))

    assert result.problem and f"deeper than {MAX_DEPTH} levels" in result.problem
    assert result.reason != "unreadable"


def test_nesting_within_the_cap_is_read_whole():
    result = analyse(nested(MAX_DEPTH - 2, b"Please unsubscribe me."))

    assert result.kind == "unsubscribe"
    assert not (result.problem or "").count("deeper than")
