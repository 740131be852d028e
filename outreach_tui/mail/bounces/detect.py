"""Is this message a report about mail we sent, or something a person wrote?

A human reply is never fed to bounce heuristics (an out-of-office must not become a bounce), so
a message counts as a bounce only on signals mail systems give: a multipart/report, a sender
that is a mail system (MAILER-DAEMON, postmaster, "Mail Delivery Subsystem"), Exim's
X-Failed-Recipients, or a bounce subject on something that is no reply. ``Auto-Submitted:
auto-replied`` and ``Precedence: bulk`` prove nothing either way: MTAs put them on bounces too.
"""

from __future__ import annotations

import re
from email.message import Message

from outreach_tui.mail.mime_parts import (
    header_text,
    parse_address,
    raw_header,
    safe_content_type,
    safe_param,
)

DAEMON_LOCAL = re.compile(
    r"^(?:mailer-daemon|mailer_daemon|mail-daemon|mailerdaemon|postmaster|mail\.?delivery"
    r"|microsoftexchange[0-9a-f]*|mdaemon|mail-?router|mailadmin|bounce|bounces"
    r"|mail\.?delivery\.?system|maildelivery)$",
    re.IGNORECASE,
)
DAEMON_NAME = re.compile(
    r"mail delivery (?:system|subsystem|service)|mailer-daemon|postmaster|microsoft outlook"
    r"|mail administrator|internet mail delivery|mail router|mail system|delivery status"
    r"|maildaemon|mail delivery",
    re.IGNORECASE,
)
BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|delivery status notification|returned mail|mail delivery failed"
    r"|failure notice|delivery failure|delivery_failure|delivery has failed|could not be delivered"
    r"|non-?delivery|nondeliverable|delivery (?:notification|report)|mail system error"
    r"|delivery delayed|delayed mail|warning: could not send|warning: message .{0,40}delayed"
    r"|delivery incomplete|message not delivered|delivery problem|returned to sender"
    r"|mail could not be delivered|message delivery failed|permanent (?:delivery )?failure"
    r"|error sending (?:your )?(?:mail|message)|unable to deliver|delivery error|\[bounce\]"
    r"|unzustellbar|nicht zustellbar|zustellung fehlgeschlagen|unzustellbare|verz[öo]gert"
    r"|non remis|non distribu|[ée]chec de (?:la )?remise|no se puede entregar|no entregado"
    r"|error de entrega|no se ha podido entregar|non recapitabil|mancato recapito"
    r"|onbestelbaar|niet bezorgd|n[ãa]o entreg|n[ãa]o (?:é|e) poss[ií]vel entregar"
    r"|olevererbar|kan ikke leveres|ikke leveret|niedostarczon|nedoru[čc]iteln"
    r"|nem k[ée]zbes[ií]thet|teslim edilemedi|недоставлен|не доставлен|невозможно доставить"
    r"|配信不能|配信エラー|无法投递|無法傳遞|退信",
    re.IGNORECASE,
)
_REPLY_PREFIX = re.compile(r"^\s*(?:re|aw|antw|rv|res|sv|vs|odp|ynt)\s*:", re.IGNORECASE)


def report_type(msg: Message, content_type: str | None = None) -> str | None:
    """The report-type of a multipart/report, lower case; None for anything else."""
    if (content_type or safe_content_type(msg)) != "multipart/report":
        return None
    value = safe_param(msg, "report-type")
    return value.strip().lower() if value else None


def from_mail_system(msg: Message) -> bool:
    name, address = parse_address(header_text(msg, "From") or "")
    local = address.rpartition("@")[0] if "@" in address else address
    return bool(DAEMON_LOCAL.match(local)) or bool(DAEMON_NAME.search(name))


def looks_like_bounce(msg: Message) -> bool:
    """From a mail system, Exim's X-Failed-Recipients, or a bounce subject on a non-reply."""
    if from_mail_system(msg) or raw_header(msg, "X-Failed-Recipients"):
        return True
    subject = header_text(msg, "Subject") or ""
    # An empty return path alone proves nothing: RFC 3834 auto-replies use one too.
    return bool(BOUNCE_SUBJECT.search(subject)) and not _REPLY_PREFIX.match(subject)
