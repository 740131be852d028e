"""DNS health of a sending domain, evaluated from DNS answers: MX, SPF, DKIM, DMARC, DNSBL.

Pure: the lookups happen in `outreach_tui.mail.dnshealth`, which hands over a `DnsWorld`
(every answer it got, keyed by name and type). Keeping the rules here means they are tested
on record strings alone, and "we could not find out" (SERVFAIL, timeout) stays apart from
"the record is not there" all the way to the database.

    answers     Answer, DnsWorld, CheckResult and CheckStatus
    spf         SPF parsing, lookup counting, sending-IP authorisation
    dkim_dmarc  DKIM keys and the DMARC policy (tag lists)
    dnsbl       blocklist names and answers
    report      MX, DomainHealth, findings and changes for the operator

Everything is re-exported here: callers import `outreach_tui.core.dnshealth`.
"""

from outreach_tui.core.dnshealth.answers import (
    Answer,
    AnswerStatus,
    CheckResult,
    CheckStatus,
    DnsWorld,
    norm,
    worst_status,
)
from outreach_tui.core.dnshealth.dkim_dmarc import (
    dkim_name,
    evaluate_dkim,
    evaluate_dmarc,
    parse_tags,
)
from outreach_tui.core.dnshealth.dnsbl import (
    dnsbl_name_for_domain,
    dnsbl_name_for_ip,
    evaluate_dnsbl,
)
from outreach_tui.core.dnshealth.report import (
    DomainHealth,
    Finding,
    describe_changes,
    evaluate_mx,
    findings,
    no_dkim_selectors,
)
from outreach_tui.core.dnshealth.spf import (
    SPF_LOOKUP_LIMIT,
    SPF_LOOKUP_TERMS,
    SpfRecord,
    SpfTerm,
    evaluate_spf,
    parse_spf,
    spf_fetch_plan,
    spf_records,
)

__all__ = [
    "SPF_LOOKUP_LIMIT",
    "SPF_LOOKUP_TERMS",
    "Answer",
    "AnswerStatus",
    "CheckResult",
    "CheckStatus",
    "DnsWorld",
    "DomainHealth",
    "Finding",
    "SpfRecord",
    "SpfTerm",
    "describe_changes",
    "dkim_name",
    "dnsbl_name_for_domain",
    "dnsbl_name_for_ip",
    "evaluate_dkim",
    "evaluate_dmarc",
    "evaluate_dnsbl",
    "evaluate_mx",
    "evaluate_spf",
    "findings",
    "no_dkim_selectors",
    "norm",
    "parse_spf",
    "parse_tags",
    "spf_fetch_plan",
    "spf_records",
    "worst_status",
]
