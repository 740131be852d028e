"""RFC 3464 delivery status notifications, field by field.

Per recipient: Final-Recipient (and Original-Recipient, the address as we gave it, which wins
when we sent to it: a forward or alias rewrites the final one), Action, Status and
Diagnostic-Code. Action says what happened (failed, delayed, delivered/relayed/expanded; the
non-standard "expired" is a failure after retries); `core.bounce_rules` says why.
``Action: failed`` with a 4.x.x status is a message returned after retries ran out: soft, and
``expired``. When the fields say too little (no Diagnostic-Code), the report's human-readable
part is read too.
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser

from outreach_tui.core.bounce_addresses import choose, clean_address
from outreach_tui.core.bounce_rules import (
    classify,
    enhanced_codes,
    is_generic,
    says_expired,
    says_something,
    specific_code,
)
from outreach_tui.mail.bounces.report import BounceReport, failure
from outreach_tui.mail.mime_parts import (
    Part,
    Problems,
    decode_bytes,
    part_bytes,
    part_text,
    raw_header,
)

#: Characters of a diagnostic kept (the interesting part of a remote answer comes first).
MAX_DIAGNOSTIC = 400
_MAX_BLOCKS = 100


@dataclass(frozen=True)
class DsnRecipient:
    final: str
    original: str
    action: str
    status: str | None
    diagnostic: str

    @property
    def outcome(self) -> str:
        """failed, delayed or delivered."""
        action = self.action
        if action.startswith(("deliver", "relay", "expand", "success")):
            return "delivered"
        if action.startswith(("delay", "defer", "retry", "warn", "transient")):
            return "delayed"
        if action:
            return "failed"  # failed, expired, error, bounced, undeliverable...
        if self.status and self.status.startswith("2"):
            return "delivered"
        return "failed"

    def addresses(self) -> list[str]:
        return [a for a in (self.original, self.final) if a]


_RANK = {"failed": 3, "delayed": 2, "delivered": 1}


def read_dsn(
    msg: Message,
    parts: Sequence[Part],
    problems: Problems,
    *,
    message_ids: tuple[str, ...],
    sent_to: Collection[str],
    exclude: Collection[str],
    fallback: Sequence[str] = (),
) -> BounceReport | None:
    recipients: list[DsnRecipient] = []
    for part in parts:
        if part.content_type in {"message/delivery-status", "message/global-delivery-status"}:
            recipients.extend(dsn_recipients(part.message, problems))
    if not recipients:
        return None
    worst = max(_RANK[r.outcome] for r in recipients)
    outcome = next(k for k, v in _RANK.items() if v == worst)
    chosen = [r for r in recipients if r.outcome == outcome]
    candidates = [a for r in chosen for a in r.addresses()]
    named = choose(candidates, sent_to, exclude=exclude)
    if not named:
        # No usable name in the report (a pipe, a bare host): the returned message's To is
        # whom we sent it to.
        named = choose(fallback, sent_to, exclude=exclude)
    first = next((r for r in chosen if set(r.addresses()) & set(named)), chosen[0])
    if outcome == "delivered":
        return BounceReport(
            kind="delivered",
            classified_by="dsn",
            reason=f"DSN Action: {first.action or 'delivered'}",
            recipients=named,
            original_message_id=message_ids[0] if message_ids else None,
            delivery_status="delivered",
            message_ids=message_ids,
        )
    text = first.diagnostic or _human_text(parts, problems, first)
    generic = first.diagnostic and is_generic(specific_code(first.status, text))
    if generic and not says_something(text):
        # "550 5.0.0" and nothing else: the notice's own words about the recipient may say
        # more (a specific code decides on its own; words never override it).
        text += "\n" + _human_text(parts, problems, first)
    delayed = outcome == "delayed"
    status = first.status
    if status is None and not first.diagnostic:
        codes = enhanced_codes(text)
        status = codes[0] if codes else None
    expired = not delayed and (
        first.action.startswith("expire")
        or bool(status and status.startswith("4"))
        or says_expired(text)
    )
    transient = delayed or expired or bool(status and status.startswith("4"))
    verdict = classify(text, status=status, transient=transient, expired=expired)
    return failure(
        verdict,
        reason=f"DSN Action: {first.action or '-'}, Status: {first.status or '-'}",
        recipients=named,
        diagnostic=(first.diagnostic or None) and first.diagnostic[:MAX_DIAGNOSTIC],
        message_ids=message_ids,
        delayed=delayed,
        expired=expired,
    )


def dsn_recipients(part: Message, problems: Problems) -> list[DsnRecipient]:
    found: list[DsnRecipient] = []
    for block in _blocks(part, problems)[:_MAX_BLOCKS]:
        final = raw_header(block, "Final-Recipient") or raw_header(block, "X-Actual-Recipient")
        original = raw_header(block, "Original-Recipient") or ""
        action = (raw_header(block, "Action") or "").strip().lower()
        status_field = raw_header(block, "Status") or ""
        if not final and not original and not action and not status_field:
            continue  # the per-message block (Reporting-MTA, Arrival-Date)
        diagnostic = _after_type(raw_header(block, "Diagnostic-Code") or "")
        codes = enhanced_codes(status_field)
        found.append(
            DsnRecipient(
                final=clean_address(final or "") or "",
                original=clean_address(original) or "",
                action=action,
                status=codes[0] if codes else None,
                diagnostic=diagnostic,
            )
        )
    return found


def _blocks(part: Message, problems: Problems) -> list[Message]:
    payload = part.get_payload()
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if isinstance(payload, list) and encoding not in {"base64", "quoted-printable"}:
        return [b for b in payload if isinstance(b, Message)]
    # The parser splits message/delivery-status into header blocks before any transfer
    # decoding; base64 lines (no colon) end up as block bodies. Decode and split here.
    if isinstance(payload, list):
        encoded = "\n".join(_block_text(b) for b in payload if isinstance(b, Message))
        if encoding == "base64":
            try:
                data = base64.b64decode("".join(encoded.split()) + "==")
            except (binascii.Error, ValueError):
                problems.add("delivery-status part is not valid base64")
                data = b""
        else:
            data = quopri.decodestring(encoded.encode("utf-8", "surrogateescape"))
    else:
        data = part_bytes(part)
    text, problem = decode_bytes(data, "utf-8")
    if problem:
        problems.add(problem)
    text = text.replace("\r\n", "\n").lstrip("\n")
    return [HeaderParser().parsestr(chunk) for chunk in re.split(r"\n[ \t]*\n", text)]


def _block_text(block: Message) -> str:
    head = "".join(f"{k}: {v}\n" for k, v in block.items())
    return head + str(block.get_payload())


def _after_type(value: str) -> str:
    kind, semicolon, rest = value.partition(";")
    if semicolon and re.fullmatch(r"\s*[A-Za-z0-9.-]+\s*", kind):
        return rest.strip()
    return value.strip()


def _human_text(parts: Sequence[Part], problems: Problems, recipient: DsnRecipient) -> str:
    """The report's own words about `recipient`, when the fields carry no diagnostic."""
    for part in parts:
        if part.depth == 1 and part.content_type == "text/plain":
            text = part_text(part.message, problems, 32 * 1024)
            address = recipient.original or recipient.final
            if address:
                at = text.lower().find(address)
                if at >= 0:
                    return text[at : at + 1500]
            return text[:4000]
    return ""
