"""Bounces and complaints: RFC 3464 delivery status notifications, the many non-standard bounce
formats (through flufl.bounce), and RFC 5965 (ARF) feedback-loop reports.

A DSN is read field by field (Final-Recipient, Action, Status, Diagnostic-Code); its enhanced
status code decides hard or soft (RFC 3463: 5 permanent, 4 transient), Action only when no code
is given. Anything else is treated as a bounce only when it looks like one (From MAILER-DAEMON or
postmaster, or a bounce subject) and then flufl.bounce, or the text, names a recipient or a code:
a human reply is never fed to bounce heuristics, so an out-of-office cannot become a bounce.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses
from typing import Literal

from flufl.bounce import all_failures

from outreach_tui.mail.mime_parts import (
    Part,
    Problems,
    decode_bytes,
    header_text,
    parse_address,
    part_bytes,
    part_text,
    parts_of,
    raw_header,
    safe_content_type,
    safe_param,
)

BounceKind = Literal["bounce_hard", "bounce_soft", "complaint", "delivered"]
"""What a report says; "delivered" is a DSN that reports only success (Action: delivered,
relayed, expanded)."""

#: Characters of a diagnostic kept (the interesting part of a remote answer comes first).
MAX_DIAGNOSTIC = 400
#: Characters of a non-standard bounce's text searched for codes and addresses.
MAX_BOUNCE_TEXT = 64 * 1024

_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
_SMTP_REPLY = re.compile(r"(?<!\d)([45])\d\d(?:[ -]|$)", re.MULTILINE)
_ADDRESS = re.compile(r"<?([A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)>?")
_MESSAGE_ID_LINE = re.compile(r"^message-id:[ \t]*(.+)$", re.IGNORECASE | re.MULTILINE)
_DAEMON_LOCAL = re.compile(
    r"^(?:mailer-daemon|mailer_daemon|mail-daemon|mailerdaemon|postmaster|mail\.?delivery"
    r"|microsoftexchange[0-9a-f]*|mdaemon|nobody)$",
    re.IGNORECASE,
)
_DAEMON_NAME = re.compile(
    r"mail delivery (?:system|subsystem|service)|mailer-daemon|postmaster|microsoft outlook",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|delivery status notification|returned mail|mail delivery failed"
    r"|failure notice|delivery failure|delivery has failed|could not be delivered|non-?delivery"
    r"|nondeliverable|delivery (?:notification|report)|mail system error|delivery delayed"
    r"|delayed mail|warning: could not send|delivery incomplete|message not delivered"
    r"|unzustellbar|nicht zustellbar|zustellung fehlgeschlagen|unzustellbare|verz[öo]gert"
    r"|non remis|non distribu|[ée]chec de (?:la )?remise|no se puede entregar|no entregado"
    r"|error de entrega|no se ha podido entregar",
    re.IGNORECASE,
)
_SOFT_SUBJECT = re.compile(
    r"delay|warning|will (?:retry|continue)|temporar|verz[öo]gert|retard|retrasad", re.IGNORECASE
)
# 5.7.x (and the 5.7.x-style words of servers that give none) means the receiving server
# refused *us* (authentication, DMARC, reputation), not that the mailbox does not exist.
_SENDER_AT_FAULT = re.compile(r"^5\.7\.\d+$")


@dataclass(frozen=True)
class BounceReport:
    kind: BounceKind
    classified_by: Literal["dsn", "arf"]
    reason: str
    recipients: tuple[str, ...] = ()
    status_code: str | None = None
    diagnostic: str | None = None
    original_message_id: str | None = None
    sender_at_fault: bool = False


def report_type(msg: Message, content_type: str | None = None) -> str | None:
    """The report-type of a multipart/report, lower case; None for anything else.

    `content_type` is the message's, when the caller has already read it.
    """
    if (content_type or safe_content_type(msg)) != "multipart/report":
        return None
    value = safe_param(msg, "report-type")
    return value.strip().lower() if value else None


def read_report(
    msg: Message, problems: Problems, parts: Sequence[Part] | None = None
) -> BounceReport | None:
    """A bounce or complaint report, or None when `msg` is neither.

    `parts` is `parts_of(msg, problems)` when the caller already has it.
    """
    if parts is None:
        parts = parts_of(msg, problems)
    kind = report_type(msg, parts[0].content_type if parts else None)
    if kind == "feedback-report":
        return _read_arf(msg, parts, problems)
    if kind == "delivery-status" or _has_delivery_status(parts):
        report = _read_dsn(msg, parts, problems)
        if report is not None:
            return report
    if looks_like_bounce(msg):
        return _read_nonstandard(msg, parts, problems)
    return None


def looks_like_bounce(msg: Message) -> bool:
    """From a mailer daemon or postmaster, or a bounce subject on something that is no reply."""
    name, address = parse_address(header_text(msg, "From") or "")
    local = address.rpartition("@")[0] if "@" in address else address
    subject = header_text(msg, "Subject") or ""
    from_daemon = bool(_DAEMON_LOCAL.match(local)) or bool(_DAEMON_NAME.search(name))
    is_reply = bool(re.match(r"^\s*(?:re|aw|antw|rv|res)\s*:", subject, re.IGNORECASE))
    bounce_subject = bool(_BOUNCE_SUBJECT.search(subject)) and not is_reply
    # An empty return path alone proves nothing: RFC 3834 auto-replies use one too.
    return from_daemon or bounce_subject


def _has_delivery_status(parts: Sequence[Part]) -> bool:
    return any(part.content_type == "message/delivery-status" for part in parts)


# --- RFC 3464 ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Recipient:
    address: str
    action: str
    status: str | None
    diagnostic: str | None

    @property
    def severity(self) -> int:
        """5 permanent, 4 transient, 2 success: the status class, else the action's."""
        if self.status:
            return int(self.status[0])
        if self.action.startswith(("fail", "error")):
            return 5
        if self.action.startswith("delay"):
            return 4
        return 2


def _read_dsn(msg: Message, parts: Sequence[Part], problems: Problems) -> BounceReport | None:
    recipients: list[_Recipient] = []
    for part in parts:
        if part.content_type == "message/delivery-status":
            recipients.extend(_dsn_recipients(part.message, problems))
    if not recipients:
        return None
    worst = max(r.severity for r in recipients)
    original = original_message_id(msg, problems, parts)
    if worst < 4:
        return BounceReport(
            kind="delivered",
            classified_by="dsn",
            reason=f"DSN Action: {recipients[0].action or 'delivered'}",
            recipients=tuple(dict.fromkeys(r.address for r in recipients if r.address)),
            original_message_id=original,
        )
    chosen = [r for r in recipients if r.severity == worst]
    first = chosen[0]
    status = first.status or _status_in(first.diagnostic or "")
    return BounceReport(
        kind="bounce_hard" if worst == 5 else "bounce_soft",
        classified_by="dsn",
        reason=f"DSN Action: {first.action or '-'}, Status: {status or '-'}",
        recipients=tuple(dict.fromkeys(r.address for r in chosen if r.address)),
        status_code=status,
        diagnostic=first.diagnostic,
        original_message_id=original,
        sender_at_fault=bool(status and _SENDER_AT_FAULT.match(status)),
    )


def _dsn_recipients(part: Message, problems: Problems) -> list[_Recipient]:
    payload = part.get_payload()
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if isinstance(payload, list) and encoding != "base64":
        blocks = [b for b in payload if isinstance(b, Message)]
    else:
        # The parser splits message/delivery-status into header blocks before any transfer
        # decoding; base64 lines (no colon) end up as block bodies. Decode and split here.
        if isinstance(payload, list):
            encoded = "\n".join(str(b.get_payload()) for b in payload if isinstance(b, Message))
            try:
                data = base64.b64decode("".join(encoded.split()) + "==")
            except (binascii.Error, ValueError):
                problems.add("delivery-status part is not valid base64")
                data = b""
        else:
            data = part_bytes(part)
        text, problem = decode_bytes(data, "utf-8")
        if problem:
            problems.add(problem)
        blocks = [HeaderParser().parsestr(chunk) for chunk in re.split(r"\n\s*\n", text)]
    found: list[_Recipient] = []
    for block in blocks[:100]:
        final = raw_header(block, "Final-Recipient") or raw_header(block, "Original-Recipient")
        action = (raw_header(block, "Action") or "").strip().lower()
        status_field = raw_header(block, "Status") or ""
        if not final and not action and not status_field:
            continue  # the per-message block (Reporting-MTA, Arrival-Date)
        diagnostic = raw_header(block, "Diagnostic-Code")
        found.append(
            _Recipient(
                address=_typed_address(final or raw_header(block, "X-Actual-Recipient") or ""),
                action=action,
                status=_status_in(status_field),
                diagnostic=_after_type(diagnostic)[:MAX_DIAGNOSTIC] if diagnostic else None,
            )
        )
    return found


def _typed_address(value: str) -> str:
    """The address of an RFC 3464 address field ("rfc822; user@example.com")."""
    address = _after_type(value).strip().strip("<>").strip()
    return address.lower() if "@" in address else ""


def _after_type(value: str) -> str:
    kind, semicolon, rest = value.partition(";")
    return (rest if semicolon else kind).strip()


def _status_in(text: str) -> str | None:
    match = _STATUS.search(text)
    return ".".join(match.groups()) if match else None


# --- RFC 5965 (ARF) ----------------------------------------------------------------------------


def _read_arf(msg: Message, parts: Sequence[Part], problems: Problems) -> BounceReport:
    feedback_type = "abuse"
    complained: list[str] = []
    for part in parts:
        if part.content_type != "message/feedback-report":
            continue
        fields = _feedback_fields(part.message, problems)
        feedback_type = (raw_header(fields, "Feedback-Type") or feedback_type).strip().lower()
        for value in fields.get_all("Original-Rcpt-To") or []:
            address = _typed_address(str(value))
            if address:
                complained.append(address)
    original = _original_headers(parts)
    if not complained and original is not None:
        complained = [a.lower() for _, a in getaddresses([header_text(original, "To") or ""]) if a]
    return BounceReport(
        kind="complaint",
        classified_by="arf",
        reason=f"ARF Feedback-Type: {feedback_type}",
        recipients=tuple(dict.fromkeys(complained)),
        original_message_id=original_message_id(msg, problems, parts),
    )


def _feedback_fields(part: Message, problems: Problems) -> Message:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    text, _ = decode_bytes(part_bytes(part), "utf-8")
    return HeaderParser().parsestr(text)


# --- the original message ----------------------------------------------------------------------


def _original_headers(parts: Sequence[Part]) -> Message | None:
    """Headers of our message as the report returns it (message/rfc822 or text/rfc822-headers)."""
    for depth, part, kind in parts:
        if depth == 0:
            continue
        if kind in {"message/rfc822", "message/global"}:
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                return payload[0]
        if kind in {"text/rfc822-headers", "message/rfc822-headers", "text/global-headers"}:
            text, _ = decode_bytes(part_bytes(part, 64 * 1024), "utf-8")
            return HeaderParser().parsestr(text)
    return None


def original_message_id(
    msg: Message, problems: Problems, parts: Sequence[Part] | None = None
) -> str | None:
    """The Message-ID of the message that bounced or was complained about, without brackets."""
    if parts is None:
        parts = parts_of(msg, problems)
    original = _original_headers(parts)
    if original is not None:
        value = raw_header(original, "Message-ID")
        if value:
            return strip_brackets(value)
    # Non-standard bounces quote the original inline ("This is a copy of the message").
    for part in parts:
        if part.content_type == "text/plain":
            found = _MESSAGE_ID_LINE.search(part_text(part.message, problems, MAX_BOUNCE_TEXT))
            if found:
                return strip_brackets(found.group(1))
    return None


def strip_brackets(value: str) -> str | None:
    """A Message-ID without its angle brackets; the first one when several are given."""
    found = re.search(r"<([^<>]*)>", value)
    text = found.group(1) if found else value.strip()
    return text.strip() or None


# --- everything else that looks like a bounce --------------------------------------------------

log = logging.getLogger(__name__)


def _read_nonstandard(
    msg: Message, parts: Sequence[Part], problems: Problems
) -> BounceReport | None:
    temporary: frozenset[bytes] = frozenset()
    permanent: frozenset[bytes] = frozenset()
    try:
        temporary, permanent = all_failures(msg)
    except Exception as exc:  # a heuristic detector tripping over a broken message
        log.debug("flufl.bounce failed: %r", exc)
        problems.add("bounce detectors could not read this message")
    text = _bounce_text(parts, problems)
    status = _status_in(text)
    diagnostic = _diagnostic_line(text)
    subject = header_text(msg, "Subject") or ""
    if permanent or temporary:
        hard = bool(permanent)
        if hard and status is not None and status.startswith("4") and _SOFT_SUBJECT.search(subject):
            # A delay warning that carries X-Failed-Recipients: its words and code say transient.
            hard = False
        addresses = permanent or temporary
        recipients = tuple(sorted(a.decode("ascii", "replace").lower() for a in addresses))
        reason = f"flufl.bounce: {'permanent' if permanent else 'temporary'} failure"
        if hard != bool(permanent):
            reason += f", but status {status} and a delay subject: temporary"
    else:
        recipients = _addresses_near_codes(text)
        if status is None and not recipients:
            return None
        if status is not None:
            hard = status.startswith("5")
        elif diagnostic and (reply := _SMTP_REPLY.search(diagnostic)):
            hard = reply.group(1) == "5"
        else:
            hard = not _SOFT_SUBJECT.search(subject)
        reason = f"bounce text: status {status or '-'}, recipients {len(recipients)}"
    return BounceReport(
        kind="bounce_hard" if hard else "bounce_soft",
        classified_by="dsn",
        reason=reason,
        recipients=recipients,
        status_code=status,
        diagnostic=diagnostic,
        original_message_id=original_message_id(msg, problems, parts),
        sender_at_fault=bool(status and _SENDER_AT_FAULT.match(status)),
    )


def _bounce_text(parts: Sequence[Part], problems: Problems) -> str:
    chunks: list[str] = []
    size = 0
    for part in parts:
        if part.content_type != "text/plain":
            continue
        text = part_text(part.message, problems, MAX_BOUNCE_TEXT)
        # Stop before the quoted original: its headers are ours, not the failure's.
        cut = re.search(
            r"^(?:-+ ?(?:this is a copy of|below this line|original message)|--- below this line"
            r"|received:|return-path:)",
            text,
            re.IGNORECASE | re.MULTILINE,
        )
        chunks.append(text[: cut.start()] if cut else text)
        size += len(chunks[-1])
        if size > MAX_BOUNCE_TEXT:
            break
    return "\n".join(chunks)[:MAX_BOUNCE_TEXT]


def _diagnostic_line(text: str) -> str | None:
    for line in text.splitlines():
        stripped = line.strip()
        if _STATUS.search(stripped) or re.match(r"^(?:.*\b)?[45]\d\d[ -]", stripped):
            return stripped[:MAX_DIAGNOSTIC]
    return None


def _addresses_near_codes(text: str) -> tuple[str, ...]:
    """Addresses on a line that also carries an SMTP reply or an enhanced status code."""
    found: list[str] = []
    lines = text.splitlines()
    for index, line in enumerate(lines):
        window = " ".join(lines[index : index + 3])
        if not (_STATUS.search(window) or _SMTP_REPLY.search(window)):
            continue
        for match in _ADDRESS.finditer(line):
            address = match.group(1).lower()
            if not _DAEMON_LOCAL.match(address.partition("@")[0]):
                found.append(address)
    return tuple(dict.fromkeys(found))
