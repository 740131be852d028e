"""The words of bounce diagnostics: which phrases say the address is gone, which say our
sending was refused, which say "not now".

Collected from the providers' published SMTP error references (Google, Microsoft, Yahoo/AOL,
Apple, GMX/web.de, T-Online, Comcast, Mimecast, Proofpoint, Barracuda, Cisco), the texts of the
common MTAs (Postfix, Exim, Sendmail, qmail, Courier, Exchange, Domino, Zimbra, OpenSMTPD,
Dovecot, Cyrus) and RFC 3463. Patterns run on folded text: lower case, one space between words
(see `fold`), so they are written that way.

Three tables, looked at in the order `bounce_rules` gives: POLICY (the receiver refused the
sender, its IP, domain, authentication or content, or rate-limited it), SOFT_STRONG / SOFT
(mailbox full, too big, greylisting, connections, network and system errors, expiry), HARD
(the address does not exist, is disabled or has moved, or its domain takes no mail).
"""

from __future__ import annotations

import re


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


#: Phrases that blame the recipient's address although they sound like policy: checked first.
HARD_OVERRIDES = _any(
    # Exchange Online directory-based edge blocking: the address is not in the tenant.
    r"5\.4\.1 recipient address rejected: access denied",
    r"recipient address rejected: access denied\. (?:as\(201806281\)|for more information see https://aka\.ms/exosmtperrors)",
    r"resolver\.adr\.recip(?:ient)?notfound",
    r"not found by smtp address lookup",
    r"not listed in (?:the )?(?:domino )?directory|not listed in public name",
    r"not in my validrcptto|not in (?:my|our|the) list of valid (?:recipients|addresses)",
)

POLICY = _any(
    # Block lists and reputation.
    r"spamhaus|spamcop|barracuda|\bsorbs\b|uceprotect|spamrats|\bpsbl\b|\bsurbl\b|\buribl\b",
    r"invaluement|mailspike|abuseat|\bcbl\b|dnsbl|\brbl\b|\bdbl\b|return ?path ?bl",
    r"black ?-?list|block ?-?list|blocked using|(?<!not )listed (?:at|in|on|by) ",
    r"on (?:our|a|the) block",
    r"reputation|sender ?score|\(bl\)|\bbl\d{6}\b|\bblocked\b|\bblock for\b|\bbanned\b",
    r"not accepted from this ip|access denied|traffic not accepted|poor reputation",
    r"refused to talk to me: 5|refused - see|mail from \S+ refused",
    r"not accept(?:ing)? (?:mail|messages|email) from|will not accept delivery",
    r"\byour (?:ip|server|host|network|domain|mail server)\b|\bip address\b.{0,40}\blisted",
    r"dynamic (?:ip|address|pool)|dial-?up|residential|open relay|\bdul\b",
    # Content.
    r"\bspam\b|spammer|unsolicited|junk ?mail|bulk mail|content filter|message content",
    r"content (?:rejected|was rejected|not accepted|violat)|rejected as spam|looks like spam",
    r"phish|virus|malware|infected|trojan|eicar|potential security issue|dangerous",
    r"attachment (?:rejected|not allowed|type|blocked)",
    r"(?:illegal|prohibited|banned|forbidden) attachment",
    r"prohibited (?:the mail|content|virus)",
    r"message (?:was |has been )?(?:blocked|filtered|quarantined)",
    r"message (?:looks|appears) (?:like|to be)|score too high|spam score|bayes",
    # Policy and authentication.
    r"not accepted for policy|policy reasons",
    r"(?:local|security|content|sending|anti-?spoofing|dmarc|spf|organization\S*) policy",
    r"rejected (?:by|due to|because of|per) "
    r"(?:the |our |a |local |security |content |domain's )*polic",
    r"policy (?:violation|rejection|restriction)|against (?:our|the) (?:policy|policies)",
    r"has a policy|\bpolicies\b",
    r"unauthenticated|authentication (?:required|failed|results|level|requirements)|authrequired",
    r"\bspf\b|sender policy framework|\bdkim\b|\bdmarc\b|\barc\b.{0,20}fail",
    r"not (?:authorized|permitted|allowed) to send",
    r"\bptr\b|reverse (?:dns|hostname|lookup|map|address)|\brdns\b|no reverse",
    r"cannot find your (?:reverse )?hostname",
    r"\bhelo\b|\behlo\b|client host rejected|client host \[",
    r"sender (?:address|domain) (?:rejected|blocked|denied|not allowed|invalid)",
    r"sender (?:rejected|denied|blocked|verify)",
    r"bad outbound sender|envelope blocked|anti-?spoof|spoof(?:ing|ed)",
    r"relay(?:ing)? (?:access )?(?:denied|not permitted|prohibited|not allowed)|unable to relay",
    r"not permitted to relay",
    r"rcpthosts|not allowed to relay|relay access|external forwarding|tenantattribution",
    r"tenantinbound",
    r"tls (?:is )?required|must (?:issue a )?starttls|encryption required",
    r"requires? (?:a )?secure connection",
    # The receiver limiting us (not "too many connections", which is soft).
    r"rate ?-?limit|too much mail|unusual rate|unexpected volume|volume of (?:mail|email|messages)",
    r"user complaints|complaints|temporarily deferred due|permanently deferred|\bts[s]?\d\d\b",
    r"throttl|server busy\. please try again later from|\(s77714\)|ip reputation|sending limits",
    r"\bs3150\b|\bcs0\d\b|\bhm0\d\b|\bas\(\d{3,}\)|\b(?:sc|rp|dy)-00\d\b|weren't sent|dynamically",
    r"limits for how many messages|content denied|domain of sender|dt:spm|\bmi:(?:spb|sfq|dmf)\b",
    r"(?:unacceptable|objectionable|prohibited|inappropriate|disallowed) content",
    r"rejected by (?:this |the )?(?:user|recipient)'s? (?:filter|rules?|settings)",
    r"administrative prohibition|\bip\b.{0,30}\b(?:is )?(?:black)?listed\b",
    r"sending (?:limit|denied|quota)",
    r"sender account|allowed[- ]senders|not authorized to relay",
    r"\((?:dyn|rtr|rlr|hvu|dnsbl|urlbl|idx|cdc):",
    r"postmaster\.aol\.com/error-codes|postmaster\.yahooinc\.com|sendersupport\.olc\.protection",
    r"sender (?:address|domain) .{0,60}"
    r"(?:does not exist|not found|unknown|not verified|verification)",
)

SOFT_STRONG = _any(
    # Mailbox full and message size.
    r"mailbox (?:is )?full|mailbox (?:has )?exceeded|over ?quota|quota (?:exceeded|full)",
    r"exceeded (?:the )?quota",
    r"quota ?exceeded|exceeded storage|storage (?:space|allocation|quota)|out of storage",
    r"insufficient (?:system )?storage",
    r"mailbox size limit|mailbox (?:would )?exceed|full mailbox|inbox is full|mailfolder is full",
    r"disk quota",
    r"(?:mail ?file|mail ?folder|mail ?box|storage|disk|account|inbox) "
    r"(?:is |was |has become )?full",
    r"\bis full\b",
    r"too (?:large|big)",
    r"exceeds? (?:the |our |fixed |maximum |size )+(?:size |message )?(?:limit|size)|size limit",
    r"message size (?:exceeds|too)|message length exceeds|file too large|message exceeded",
    # Greylisting, connections, loops.
    r"gr[ae]y ?-?list|try again later|please try again|come back later|retry later|try later",
    r"too many "
    r"(?:connections|concurrent|sessions|simultaneous|recipients|messages in this session)",
    r"connection (?:limit|count)|too many hops|hop count|mail (?:forwarding )?loop|loops back",
    r"loop detected|routing loop",
    r"receiving mail at a rate|temporarily (?:rejected|unavailable|deferred|suspended)",
    r"receive limit",
    r"receiving mail too quickly|too many messages for this (?:recipient|user|mailbox)",
    # Other languages (the human-readable part of localized notices).
    r"postfach (?:ist )?voll|speicherplatz|bo[iî]te (?:aux lettres )?pleine",
    r"buz[oó]n (?:est[aá] )?lleno",
    r"casella (?:di posta )?piena|caixa (?:postal )?(?:est[aá] )?cheia|mailbox (?:is )?vol\b",
)

HARD = _any(
    r"user ?unknown|unknown ?user",
    r"no such (?:user|mailbox|recipient|address|account|local user|person)",
    r"(?:recipient|addressee|address|mailbox|user|account|alias) "
    r"(?:is )?(?:unknown|not found|not known|not listed)",
    r"unknown (?:or illegal )?(?:local )?(?:recipient|address|mailbox|alias|account)",
    r"(?:mailbox|account|user|address|recipient) (?:does not|doesn't|do not|did not) exist",
    r"(?:does not|doesn't) exist",
    r"not exist|nonexist|non-existent (?:user|mailbox|address|recipient)",
    r"invalid (?:recipient|mailbox|user|address|e-?mail address)",
    r"(?:recipient|mailbox|address) (?:is )?invalid",
    r"not (?:a )?valid (?:recipient|mailbox|user|address|e-?mail)|is not a valid",
    r"no valid recipients",
    r"mailbox (?:unavailable|not available|is unavailable|not found|name not allowed)|no mailbox",
    r"(?:mailbox|account|user|address) (?:is |has been |was )?"
    r"(?:disabled|inactive|deactivated|suspended|closed|deleted|terminated|removed|discontinued"
    r"|expired|locked|frozen)",
    r"(?:disabled|inactive|deactivated|closed|deleted|suspended) (?:mailbox|account|user|address)",
    r"(?:doesn't|does not|don't) have an? (?:\S+ )?account|no (?:such )?account",
    r"not (?:our|a) customer",
    r"no longer (?:with|employed|active|valid|exists|in use|available|at|works|accepts|receiving)",
    r"has (?:been )?moved|user has moved|moved permanently|not local; please try|user not local",
    r"unrout(?:e)?able|not listed in (?:the )?(?:domino )?directory|not listed in public name",
    r"host or domain name not found(?!.{0,80}try again)",
    r"name service error.{0,60}host not found(?!, try again)",
    r"domain (?:does not exist|not found|name not found|is not configured)|no such domain",
    r"unknown domain",
    r"does not accept mail|null ?mx|no mx (?:record|for)|non-existent hosts",
    r"bad destination (?:mailbox|system)",
    r"dns domain .{0,40}does not exist|undeliverable address|addressee unknown|dd this user",
    r"delivery error: dd|invalid recipient|recipient not found|address rejected|rejected: user",
    r"wasn't found at|couldn't be found|could not be found|isn't a valid|not a known user",
    r"unknown local[- ]part|mailbox (?:is )?frozen|no such person",
    r"recipient (?:does not|doesn't) exist",
    # Other languages.
    r"benutzer unbekannt|unbekannte[rn]? (?:empf[aä]nger|benutzer|adresse)|existiert nicht",
    r"gibt es nicht",
    r"utilisateur inconnu|destinataire inconnu|adresse (?:introuvable|inconnue)|n'existe pas",
    r"usuario desconocido|destinatario desconocido|no existe|utente sconosciuto|non esiste",
    r"usu[aá]rio desconhecido|n[aã]o existe|onbekende (?:gebruiker|ontvanger)|bestaat niet",
)

SOFT = _any(
    r"timed? ?out|timeout|connection (?:refused|reset|timed out|closed|lost|dropped)",
    r"network is unreachable|no route to host|lost connection|host not found, try again|try again",
    r"dns (?:error|failure|lookup failed|temporary)",
    r"temporary (?:failure|error|problem|local problem|lookup)",
    r"local error|system error|internal (?:server )?error|server error|resources? temporarily",
    r"service (?:not available|unavailable|temporarily)|queue file write error|input/output error",
    r"i/o error",
    r"mailbox (?:busy|temporarily|locked)|delivery (?:time )?expired|message expired",
    r"retry (?:time ?out|timeout|time not reached)",
    r"expired|too long in (?:the )?queue|in the queue too long|could not be delivered within",
    r"deferred",
    r"could not (?:connect|complete)|unable to connect|connect to \S+ failed|not reachable",
    r"unavailable",
)

#: Words of a report that say the message was returned after retries ran out.
EXPIRED = _any(
    r"retry time(?:out)? (?:exceeded|not reached for any host after a long failure)",
    r"have been failing for a long time|retry time not reached",
    r"delivery time expired|message expired|envelope expired|queue\.expired|expired in queue",
    r"has been in the queue too long|too long in (?:the )?queue",
    r"could not be delivered (?:for|within) \d",
    r"(?:cannot|could not) (?:send|deliver) message for \d|deferred for too long",
    r"maximum time expired",
    r"i'm not going to try again|undeliverable for \d|retry period expired",
    r"4\.4\.7",
)

#: Words that say a report is a warning about a delay, not a failure.
DELAYED = _any(
    r"this is a warning only|warning only|do not need to resend|no need to resend",
    r"will (?:be )?(?:re)?tr(?:y|ied)|will continue (?:to try|trying|attempting)",
    r"still (?:being )?(?:re)?tr(?:y|ied)",
    r"delivery (?:has been |is )?delayed|delayed mail|message (?:has been |is )?delayed",
    r"delivery status notification \(delay\)",
    r"has been delayed|is delayed|delivery incomplete|retry for \d+ more hours|will retry",
    r"warning: (?:could not send|message .{0,60}delayed)|not yet been delivered",
    r"has not been delivered yet",
    r"temporarily (?:undeliverable|delayed)|delivery delay",
)


def fold(text: str) -> str:
    """Lower case, one space between words, and the continuation codes of a multi-line reply
    ("550-5.7.1 ") dropped, so phrases match across the lines a server split them into."""
    text = re.sub(r"(?<=\s)[245]\d\d[- ](?:[245]\.\d{1,3}\.\d{1,3}\s)?", " ", " " + text)
    return " ".join(text.lower().split())
