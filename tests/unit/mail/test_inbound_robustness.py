"""analyse() never raises and always answers: broken MIME, unknown charsets, huge attachments,
deep nesting, empty input, non-ASCII headers, random bytes and mutated corpus messages."""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outreach_tui.mail.inbound import InboundAnalysis, analyse

CORPUS = Path(__file__).resolve().parents[2] / "data" / "inbound"
CORPUS_BYTES = [p.read_bytes() for p in sorted(CORPUS.glob("*.eml"))]

HEAD = (
    b"Message-ID: <big.1@mail.example.com>\r\n"
    b"In-Reply-To: <20261117100000.z01@outreach.test>\r\n"
    b"Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n"
    b"From: Big Sender <big@example.com>\r\n"
    b"To: sam@outreach.test\r\n"
    b"Subject: Re: Quick question\r\n"
    b"MIME-Version: 1.0\r\n"
)


def test_ten_megabyte_attachment_is_analysed_well_under_a_second():
    # Generated here rather than stored in the corpus: 10 MB of random base64.
    attachment = base64.encodebytes(os.urandom(10 * 1024 * 1024)).replace(b"\n", b"\r\n")
    raw = (
        HEAD + b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        b"Interested, see the attached deck.\r\n"
        b'--b1\r\nContent-Type: application/pdf; name="deck.pdf"\r\n'
        b"Content-Disposition: attachment; filename=deck.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + attachment + b"--b1--\r\n"
    )
    assert len(raw) > 10 * 1024 * 1024

    started = time.perf_counter()
    result = analyse(raw)
    elapsed = time.perf_counter() - started

    assert result.kind == "interested"
    assert result.in_reply_to == "20261117100000.z01@outreach.test"
    assert elapsed < 1.0, f"{elapsed:.2f} s"


def test_ten_megabyte_text_part_is_cut_not_decoded_whole():
    body = base64.encodebytes(b"Not interested. " + b"x" * (10 * 1024 * 1024))
    raw = (
        HEAD + b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + body
    )

    started = time.perf_counter()
    result = analyse(raw)

    assert time.perf_counter() - started < 1.0
    assert result.kind == "not_interested"
    assert len(result.text) <= 20_000


def nested(levels: int) -> bytes:
    parts = b"Content-Type: text/plain\r\n\r\nYes, interested.\r\n"
    for level in range(levels):
        boundary = f"n{level}".encode()
        parts = (
            b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\r\n\r\n'
            b"--" + boundary + b"\r\n" + parts + b"\r\n--" + boundary + b"--\r\n"
        )
    return HEAD + parts


def test_two_hundred_levels_of_nesting_give_a_result_with_a_problem():
    started = time.perf_counter()
    result = analyse(nested(200))

    assert time.perf_counter() - started < 2.0
    assert isinstance(result, InboundAnalysis)
    assert result.problem is not None and "nesting" in result.problem
    assert result.message_id == "big.1@mail.example.com"


def test_shallow_nesting_is_read_without_a_problem():
    result = analyse(nested(5))

    assert (result.kind, result.problem) == ("interested", None)


def test_empty_message_is_other_with_a_problem():
    result = analyse(b"")

    assert result.kind == "other"
    assert result.problem == "empty message"
    assert result.message_id is None and result.from_email is None


def test_headers_only_garbage_is_still_answered():
    result = analyse(b"\x00\xff\xfe:::\r\n\r\n\r\n--\r\n")

    assert isinstance(result, InboundAnalysis)


def test_unknown_charset_is_decoded_with_replacement_and_named():
    raw = (
        HEAD + b'Content-Type: text/plain; charset="x-unknown-42"\r\n\r\n'
        b"Kein Interesse, Gr\xfc\xdfe\r\n"
    )
    result = analyse(raw)

    assert result.kind == "not_interested"
    assert result.problem == "unknown charset 'x-unknown-42'"
    assert "\ufffd" in result.text


def test_non_ascii_headers_raw_and_encoded_are_read():
    raw = (
        "Message-ID: <ü.1@example.com>\r\n"
        "From: =?utf-8?b?SsO8cmdlbg==?= <jürgen@bücher.example>\r\n"
        "Subject: =?iso-8859-1?q?Gr=FC=DFe?= und mehr\r\n"
        "Date: not a date\r\n"
        "\r\n"
        "Klingt interessant!\r\n"
    ).encode()
    result = analyse(raw)

    assert result.subject == "Grüße und mehr"
    assert result.from_email == "jürgen@bücher.example"
    assert result.message_id == "ü.1@example.com"
    assert result.kind == "interested"


def test_base64_with_bad_padding_does_not_lose_the_message():
    raw = (
        HEAD + b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        b"SW50ZXJlc3RlZCE*** broken ===\r\n"
    )
    assert isinstance(analyse(raw), InboundAnalysis)


def test_too_many_parts_are_capped():
    parts = b"".join(b"--m\r\nContent-Type: text/plain\r\n\r\npart\r\n" for _ in range(2_000))
    raw = HEAD + b'Content-Type: multipart/mixed; boundary="m"\r\n\r\n' + parts + b"--m--\r\n"

    result = analyse(raw)

    assert result.problem is not None and "MIME parts" in result.problem


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_random_bytes_never_raise(raw):
    assert isinstance(analyse(raw), InboundAnalysis)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(CORPUS_BYTES),
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=20_000), st.binary(min_size=0, max_size=8)),
        max_size=6,
    ),
    st.integers(min_value=0, max_value=20_000),
)
def test_mutated_corpus_messages_never_raise(message, edits, cut):
    mutated = bytearray(message)
    for position, replacement in edits:
        at = position % (len(mutated) + 1)
        mutated[at : at + len(replacement)] = replacement
    raw = bytes(mutated[: len(mutated) - cut % (len(mutated) + 1)])

    result = analyse(raw)

    assert isinstance(result, InboundAnalysis)
    assert result.reason
