"""Fuzzing `mail.inbound.analyse`: hostile headers and bodies never make it raise, and no text
meant to be one line carries a control character (ESC starts a terminal sequence, CR/LF split a
line; C1's CSI is ESC[ in one character). Message-IDs are kept as written by contract (matched,
never shown raw; the corpus pins a NUL in one), so they are not among the one-line texts."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outreach_tui.mail.inbound import InboundAnalysis, analyse

NOT_ONE_LINE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
SINGLE = ("from_email", "subject", "received_at", "snippet", "reason", "status_code",
          "diagnostic", "problem")  # fmt: skip
MANY = ("bounced_recipients",)

HEADERS = st.sampled_from(
    ["From", "Subject", "Message-ID", "In-Reply-To", "References", "Date", "Content-Type",
     "Content-Transfer-Encoding", "Auto-Submitted", "Return-Path", "X-Failed-Recipients",
     "Content-Disposition", "MIME-Version"]
)  # fmt: skip
NASTY_VALUES = st.sampled_from(
    [
        "=?utf-8?q?a=1B[2J=0D=0Ab?=",
        "=?utf-8?b?G1syShtdNTI7Yzt4eHgHCg==?=",  # ESC[2J ESC]52;c;xxx BEL
        "=?utf-8?q?=C2=9B31m?=",  # C1 CSI
        "\x1b]52;c;eHg=\x07",
        "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\",
        "<a\x1bb@c>",
        "Fri, 31 Dec 9999 23:00:00 -0500",
        "multipart/report; report-type=delivery-status; boundary=b",
        'multipart/mixed; boundary="x"',
        "text/plain; charset=x-no-such-charset",
        "base64",
        "auto-replied",
        "Anna\x00 <anna@example.com>",
    ]
)
VALUES = st.one_of(st.text(max_size=60), NASTY_VALUES)
BODY_PIECES = st.one_of(
    st.binary(max_size=200),
    st.sampled_from(
        [b"--b\r\nContent-Type: message/delivery-status\r\n\r\n"
         b"Final-Recipient: rfc822; a\x1b@b\r\nAction: failed\r\nStatus: 5.1.1\r\n"
         b"Diagnostic-Code: smtp; 550 \x1b[31mno\r\n\r\n--b--\r\n",
         b"--x\r\nContent-Type: text/plain\r\n\r\nunsubscribe\x1b[2J\r\n--x--\r\n",
         b"\x9b31mHello\x1b]0;title\x07 please remove me\r\n",
         b"=1B=5B2J quoted printable\r\n"]
    ),
)  # fmt: skip


def message(headers: list[tuple[str, str]], body: list[bytes]) -> bytes:
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    return head.encode("utf-8", "surrogateescape") + b"\r\n" + b"".join(body)


def assert_one_line_fields(result: InboundAnalysis) -> None:
    for name in SINGLE:
        value = getattr(result, name)
        assert value is None or not NOT_ONE_LINE.search(value), (name, value)
    for name in MANY:
        for value in getattr(result, name):
            assert not NOT_ONE_LINE.search(value), (name, value)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    headers=st.lists(st.tuples(HEADERS, VALUES), max_size=10),
    body=st.lists(BODY_PIECES, max_size=5),
)
def test_analyse_never_raises_and_keeps_one_line_fields_on_one_line(headers, body):
    assert_one_line_fields(analyse(message(headers, body)))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.binary(max_size=2048))
def test_analyse_takes_any_bytes(raw):
    assert_one_line_fields(analyse(raw))
