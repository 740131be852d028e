"""Builders for report messages in the formats their writers document.

Used by write_documented.py; each builder follows one writer's published layout (RFC 3464/5965
for the standard parts, the provider's or MTA's documentation and its public sample notices for
the rest). Line endings are CRLF, as on the wire; dates are fixed so the files are reproducible.
"""

# ruff: noqa: E501 - remote servers' texts are kept verbatim, one line each

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field

SENDER = "sam@outreach.test"
SENDER_NAME = "Sam Carter"
SENT_DATE = "Tue, 24 Nov 2026 09:00:00 +0000"
REPORT_DATE = "Tue, 24 Nov 2026 09:00:07 +0000"


@dataclass
class Rcpt:
    final: str
    action: str = "failed"
    status: str | None = "5.0.0"
    diagnostic: str | None = None
    original: str | None = None
    remote_mta: str | None = None
    extra: list[str] = field(default_factory=list)


def _n(text: str) -> int:
    return zlib.crc32(text.encode("utf-8", "replace"))


def original(recipient: str, mid: str, subject: str = "Quick question about onboarding") -> str:
    """Our message as it left (headers and a short body), CRLF."""
    return (
        f"Return-Path: <{SENDER}>\r\n"
        f"Received: from mail.outreach.test (mail.outreach.test [198.51.100.7])\r\n"
        f"\tby smtp.outreach.test with ESMTPSA id 4f2a9c\r\n"
        f"\tfor <{recipient}>; {SENT_DATE}\r\n"
        f"From: {SENDER_NAME} <{SENDER}>\r\n"
        f"To: <{recipient}>\r\n"
        f"Subject: {subject}\r\n"
        f"Date: {SENT_DATE}\r\n"
        f"Message-ID: <{mid}>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "List-Unsubscribe: <mailto:unsubscribe@outreach.test?subject=unsubscribe>\r\n"
        "\r\n"
        "Hi, would a short call next week work for you?\r\n"
        "\r\n"
        "Sam\r\n"
        "--\r\n"
        "To unsubscribe from these emails, reply with 'unsubscribe'.\r\n"
    )


def headers_only(text: str) -> str:
    return text.split("\r\n\r\n", 1)[0] + "\r\n"


def _head(lines: list[str]) -> str:
    return "".join(f"{line}\r\n" for line in lines if line)


def _status_block(reporting_mta: str, rcpts: list[Rcpt], extra: list[str]) -> str:
    out = f"Reporting-MTA: dns; {reporting_mta}\r\n" + "".join(f"{x}\r\n" for x in extra)
    out += f"Arrival-Date: {SENT_DATE}\r\n"
    for r in rcpts:
        out += "\r\n"
        if r.original:
            out += f"Original-Recipient: rfc822;{r.original}\r\n"
        out += f"Final-Recipient: rfc822; {r.final}\r\n"
        out += f"Action: {r.action}\r\n"
        if r.status:
            out += f"Status: {r.status}\r\n"
        if r.remote_mta:
            out += f"Remote-MTA: dns; {r.remote_mta}\r\n"
        if r.diagnostic:
            out += f"Diagnostic-Code: {r.diagnostic}\r\n"
        out += f"Last-Attempt-Date: {REPORT_DATE}\r\n"
        out += "".join(f"{x}\r\n" for x in r.extra)
    return out


def dsn(
    *,
    sender: str,
    subject: str,
    text: str,
    reporting_mta: str,
    rcpts: list[Rcpt],
    returned: str,
    ret: str = "full",
    html: str | None = None,
    headers: list[str] = (),  # type: ignore[assignment]
    status_extra: list[str] = (),  # type: ignore[assignment]
    boundary: str = "=_report_boundary_7f3a",
) -> bytes:
    """An RFC 3464 report: text (or text+HTML), message/delivery-status, the original."""
    head = _head(
        [
            "Return-Path: <>",
            f"From: {sender}",
            f"To: {SENDER}",
            f"Subject: {subject}",
            f"Date: {REPORT_DATE}",
            f"Message-ID: <report.{_n(subject + rcpts[0].final)}@{reporting_mta}>",
            *headers,
            "MIME-Version: 1.0",
            f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"',
        ]
    )
    body = "This is a MIME-formatted message.  Portions of this message may be unreadable without a MIME-capable mail program.\r\n\r\n"
    if html is None:
        body += f"--{boundary}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n{text}\r\n"
    else:
        alt = boundary + "_alt"
        body += (
            f'--{boundary}\r\nContent-Type: multipart/alternative; boundary="{alt}"\r\n\r\n'
            f"--{alt}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
            f"--{alt}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n--{alt}--\r\n"
        )
    body += (
        f"--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"{_status_block(reporting_mta, rcpts, list(status_extra))}\r\n"
    )
    if ret == "hdrs":
        body += (
            f"--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n{headers_only(returned)}\r\n"
        )
    elif ret == "full":
        body += f"--{boundary}\r\nContent-Type: message/rfc822\r\n\r\n{returned}\r\n"
    body += f"--{boundary}--\r\n"
    return (head + "\r\n" + body).encode()


def plain(
    *,
    sender: str,
    subject: str,
    text: str,
    headers: list[str] = (),  # type: ignore[assignment]
    attach: str | None = None,
    attach_type: str = "message/rfc822",
    charset: str = "us-ascii",
) -> bytes:
    """A non-standard bounce: one text part, the original inline or attached."""
    base = [
        "Return-Path: <>",
        f"From: {sender}",
        f"To: {SENDER}",
        f"Subject: {subject}",
        f"Date: {REPORT_DATE}",
        f"Message-ID: <plain.{_n(subject + text[:40])}@bounce.example>",
        *headers,
        "MIME-Version: 1.0",
    ]
    if attach is None:
        head = _head([*base, f"Content-Type: text/plain; charset={charset}"])
        return (head + "\r\n" + text).encode("utf-8")
    boundary = "=_plain_boundary_91c"
    head = _head([*base, f'Content-Type: multipart/mixed; boundary="{boundary}"'])
    body = (
        f"--{boundary}\r\nContent-Type: text/plain; charset={charset}\r\n\r\n{text}\r\n"
        f"--{boundary}\r\nContent-Type: {attach_type}\r\n\r\n{attach}\r\n--{boundary}--\r\n"
    )
    return (head + "\r\n" + body).encode("utf-8")


def arf(
    *,
    sender: str,
    subject: str,
    text: str,
    fields: list[str],
    returned: str,
    headers: list[str] = (),  # type: ignore[assignment]
) -> bytes:
    """An RFC 5965 feedback report."""
    boundary = "----=_arf_boundary_5d1"
    head = _head(
        [
            f"From: {sender}",
            "To: fbl@outreach.test",
            f"Subject: {subject}",
            f"Date: {REPORT_DATE}",
            f"Message-ID: <arf.{_n(subject + returned[:80])}@fbl.example>",
            *headers,
            "MIME-Version: 1.0",
            f'Content-Type: multipart/report; report-type=feedback-report; boundary="{boundary}"',
        ]
    )
    body = (
        f"--{boundary}\r\nContent-Type: text/plain; charset=us-ascii\r\n"
        f"Content-Disposition: inline\r\n\r\n{text}\r\n"
        f"--{boundary}\r\nContent-Type: message/feedback-report\r\n\r\n"
        + "".join(f"{f}\r\n" for f in fields)
        + f"\r\n--{boundary}\r\nContent-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n"
        f"{returned}\r\n--{boundary}--\r\n"
    )
    return (head + "\r\n" + body).encode()


def json_mail(
    *, sender: str, subject: str, document: object, footer: str = "", raw: str | None = None
) -> bytes:
    """A provider notification delivered by mail: JSON in a text/plain body."""
    text = raw if raw is not None else json.dumps(document, indent=2)
    head = _head(
        [
            f"From: {sender}",
            f"To: {SENDER}",
            f"Subject: {subject}",
            f"Date: {REPORT_DATE}",
            f"Message-ID: <json.{_n(text[:200])}@notifications.example>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=UTF-8",
            "Content-Transfer-Encoding: 7bit",
        ]
    )
    return (head + "\r\n" + text.replace("\n", "\r\n") + footer).encode()


def reply(*, sender: str, subject: str, text: str, headers: list[str], irt: str) -> bytes:
    head = _head(
        [
            f"From: {sender}",
            f"To: {SENDER_NAME} <{SENDER}>",
            f"Subject: {subject}",
            f"Date: {REPORT_DATE}",
            f"Message-ID: <auto.{_n(subject + sender)}@mail.example>",
            f"In-Reply-To: <{irt}>",
            f"References: <{irt}>",
            *headers,
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
        ]
    )
    return (head + "\r\n" + text).encode()
