"""One SMTP transaction on an open session: MAIL, RCPT, and DATA driven by hand.

The DATA phase is driven by hand (not `aiosmtplib.SMTP.data`) because the pipeline must know
how far the message got when a connection breaks: before the final "." left, the server
cannot have accepted it (it never saw the message end), so it is a plain retry (transient,
RFC 5321 §3.8); once the "." has been handed to the connection, the server may have accepted
it (RFC 1047), so the attempt is `unknown` and is never re-sent blindly. The content and the
"." go in two writes for that: the "." only once the content has left our buffers with the
connection still up.

A reply that cannot be read (aiosmtplib's code -1: a 9,000-byte line, no digits) or one the
stage did not call for follows the same line (core/smtp_reply.py): a retry before the final
".", unknown after it, never a refusal; the session is then out of step and is closed.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import aiosmtplib
from aiosmtplib import SMTPStatus
from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings

from outreach_tui.core.smtp_reply import Stage, classify_reply, is_refusal
from outreach_tui.core.states import ErrorClass
from outreach_tui.mail.smtp_endpoint import DeliveryResult, SmtpEndpoint


async def transaction(
    client: aiosmtplib.SMTP,
    endpoint: SmtpEndpoint,
    envelope_from: str,
    recipient: str,
    payload: bytes,
) -> DeliveryResult:
    """MAIL, RCPT, DATA on an open session. Never raises for SMTP or network trouble."""
    stage = Stage.MAIL
    try:
        await _mail(client, envelope_from)
        stage = Stage.RCPT
        await _rcpt(client, recipient)
        stage = Stage.DATA_START
        start = await client.execute_command(b"DATA")
        if start.code != 354:
            return _answered(stage, start.code, start.message)
        stage = Stage.DATA_BODY
        protocol = client.protocol
        if protocol is None:
            raise aiosmtplib.SMTPServerDisconnected("connection lost after 354")
        body = PERIOD_REGEX.sub(b"..", normalize_message_line_endings(payload))
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        # A reply that comes early (a server refusing mid-content) is kept for us, as
        # aiosmtplib's own DATA does before it writes.
        protocol._response_pending = True
        await _write_content(protocol, body, endpoint.timeout)
        protocol.write(b".\r\n")  # raises SMTPServerDisconnected if the connection is gone
        stage = Stage.DATA_END
        reply = await protocol.read_response(timeout=endpoint.timeout)
    except aiosmtplib.SMTPResponseException as exc:
        return _answered(stage, exc.code, exc.message)
    except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
        client.close()
        if stage is Stage.DATA_END:
            return DeliveryResult(
                accepted=False,
                error_class=ErrorClass.UNKNOWN_OUTCOME,
                stage=stage,
                response="connection lost after the message was sent",
                detail=f"{type(exc).__name__} after DATA to {endpoint.host}: {exc}",
            )
        # RFC 5321 §3.8: a dropped connection counts as a 451; before the final "." left
        # (stage DATA_BODY included) the server cannot have the message.
        return DeliveryResult(
            accepted=False,
            error_class=ErrorClass.TRANSIENT,
            stage=stage,
            response="connection lost",
            detail=f"{type(exc).__name__} at {stage.value} with {endpoint.host}: {exc}",
        )
    if reply.code != 250:
        return _answered(stage, reply.code, reply.message)
    return DeliveryResult(accepted=True, code=reply.code, response=reply.message, stage=stage)


#: Content is written in pieces of this size, each once the previous one has left our
#: buffers: one big write goes whole into the socket transport's buffer past the TLS layer's
#: flow control (asyncio's sslproto), and a server that dropped mid-content would then only
#: show after the "." had been written too.
_CONTENT_CHUNK = 64 * 1024


async def _write_content(protocol: Any, body: bytes, timeout: float) -> None:
    """Write the DATA content under flow control; raises (OSError, SMTPServerDisconnected,
    TimeoutError) if the connection breaks or the server stops reading meanwhile."""
    view = memoryview(body)
    for start in range(0, len(view), _CONTENT_CHUNK):
        protocol.write(view[start : start + _CONTENT_CHUNK])
        async with asyncio.timeout(timeout):  # RFC 5321 §4.5.3.2: per data block
            await protocol._drain_helper()
        # A reset the socket transport has met (it then drops further writes quietly)
        # reaches the protocol a loop turn or two later: let it arrive before the next write.
        await asyncio.sleep(0)


#: A plain ASCII addr-spec (dot-atom local part, domain name): `aiosmtplib.email.quote_address`
#: gives `<address>` for it unchanged, so the command line is written directly, without
#: its per-call `email.utils.parseaddr`. Anything else goes through aiosmtplib.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                            r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                            r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*")  # fmt: skip


async def _mail(client: aiosmtplib.SMTP, sender: str) -> None:
    """MAIL FROM, as `client.mail(sender)` (raises SMTPSenderRefused unless 250)."""
    if not _PLAIN_ADDRESS.fullmatch(sender):
        await client.mail(sender)
        return
    response = await client.execute_command(b"MAIL", b"FROM:<" + sender.encode("ascii") + b">")
    if response.code != SMTPStatus.completed:
        raise aiosmtplib.SMTPSenderRefused(response.code, response.message, sender)


async def _rcpt(client: aiosmtplib.SMTP, recipient: str) -> None:
    """RCPT TO, as `client.rcpt(recipient)` (raises SMTPRecipientRefused unless 250/251)."""
    if not _PLAIN_ADDRESS.fullmatch(recipient):
        await client.rcpt(recipient)
        return
    response = await client.execute_command(b"RCPT", b"TO:<" + recipient.encode("ascii") + b">")
    if response.code not in (SMTPStatus.completed, SMTPStatus.will_forward):
        raise aiosmtplib.SMTPRecipientRefused(response.code, response.message, recipient)


#: Characters of a reply kept in a result (a hostile server's reply may be 30 KiB).
_MAX_REPLY_TEXT = 500


def _answered(stage: Stage, code: int, text: str) -> DeliveryResult:
    """The result of a reply other than the one the stage called for. A 4xx or 5xx is read
    by the stage rules; any other (aiosmtplib's -1 for a line it could not parse, a 1xx, 3xx,
    another 2xx) is a retry before the final "." and unknown after it; the transport then
    closes the session without a QUIT: what the server meant is not known, so what it says
    next is not trusted (mail/smtp.py)."""
    text = text[:_MAX_REPLY_TEXT]
    if not is_refusal(code):
        shown = "an unreadable reply" if code < 0 else f"an unexpected reply {code}"
        return DeliveryResult(
            accepted=False,
            code=code if code >= 0 else None,
            response=text,
            error_class=classify_reply(stage, code, text),
            stage=stage,
            detail=f"{shown} at {stage.value}: {text[:200]}",
        )
    return DeliveryResult(
        accepted=False,
        code=code,
        response=text,
        error_class=classify_reply(stage, code, text),
        stage=stage,
        detail=f"{code} {text} at {stage.value}",
    )


__all__ = ["transaction"]
