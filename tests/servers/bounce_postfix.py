"""The two Postfix instances of the bounce world: ours, sending, and a receiving one with the
restrictions real receivers use (DNSBLs, reverse DNS, HELO and sender-domain checks, body checks,
a size limit, relay control, virtual mailboxes, a forward to a domain that does not exist).

Ours retries every second or two, warns of a delay after DELAY_WARNING seconds and gives up after
QUEUE_LIFETIME, so expiry and delay notices come within a test run.
"""

from __future__ import annotations

import os
import pwd
from pathlib import Path

from tests.servers.bounce_scenarios import REMOTE_POSTFIX_IP, REMOTE_POSTFIX_SMALL_IP, SPAM_PHRASE
from tests.servers.postfix import PostfixInstance

#: Seconds: the sending Postfix's delay warning and queue lifetime.
DELAY_WARNING = 3
QUEUE_LIFETIME = 9


def _postfix_uid_gid() -> tuple[int, int]:
    entry = pwd.getpwnam("postfix")
    return entry.pw_uid, entry.pw_gid


def sending_postfix(root: Path, netns: str, lmtp: Path) -> PostfixInstance:
    transport = f"lmtp:unix:{lmtp}"
    return PostfixInstance(
        root=root / "sender",
        netns=netns,
        settings={
            "myhostname": "mta.outreach.test",
            "mydomain": "outreach.test",
            "myorigin": "$mydomain",
            "inet_interfaces": "127.0.0.1",
            "mynetworks": "127.0.0.1/32",
            "smtp_bind_address": "127.0.0.1",
            "smtp_tls_security_level": "none",
            "transport_maps": f"inline:{{ outreach.test={transport}, dovecot.test={transport} }}",
            "maximal_queue_lifetime": f"{QUEUE_LIFETIME}s",
            "bounce_queue_lifetime": "1h",
            "delay_warning_time": f"{DELAY_WARNING}s",
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            "smtp_connect_timeout": "3s",
            "message_size_limit": "10240000",
        },
    )


def receiving_postfix(root: Path, netns: str, lmtp: Path) -> PostfixInstance:
    uid, gid = _postfix_uid_gid()
    home = root / "receiver"
    vmail = home / "vmail"
    vmail.mkdir(parents=True, exist_ok=True)
    # A mailbox that is already at its size limit: every delivery to it fails after acceptance.
    (vmail / "full").write_text("From x\n" + "x" * 30000 + "\n")
    for path in (vmail, vmail / "full"):
        os.chown(path, uid, gid)
    classes = {
        "rbl-spamhaus.test": "spamhaus",
        "rbl-barracuda.test": "barracuda",
        "rbl-spamcop.test": "spamcop",
        "rbl-dbl.test": "dbl",
        "ptr-check.test": "ptr",
        "helo-check.test": "helo",
        "sender-check.test": "senderdomain",
        "access-check.test": "REJECT",
        "grey-check.test": (
            "DEFER_IF_PERMIT Greylisted, see http://postgrey.schweikert.ch/help/grey-check.test.html"
        ),
    }
    domains = ["pfremote.test", *[d for d in classes]]
    mailboxes = {f"ok@{d}": f"{d}/ok/" for d in domains}
    mailboxes.update({f"a@{d}": f"{d}/a/" for d in domains})
    mailboxes.update({"full@pfremote.test": "full", "spam@pfremote.test": "spam/"})
    mailboxes["a@bigmsg.test"] = "bigmsg/"
    return PostfixInstance(
        root=home,
        netns=netns,
        settings={
            "myhostname": "mx.pfremote.test",
            "mydomain": "pfremote.test",
            "inet_interfaces": f"{REMOTE_POSTFIX_IP}, {REMOTE_POSTFIX_SMALL_IP}",
            "mynetworks": f"{REMOTE_POSTFIX_IP}/32",
            "smtp_tls_security_level": "none",
            "virtual_mailbox_domains": " ".join([*domains, "bigmsg.test"]),
            "virtual_mailbox_maps": f"texthash:{home}/etc/mailboxes",
            "virtual_alias_maps": "inline:{ forward@pfremote.test=someone@no-such-domain.test }",
            "virtual_mailbox_base": str(vmail),
            "virtual_uid_maps": f"static:{uid}",
            "virtual_gid_maps": f"static:{gid}",
            "virtual_mailbox_limit": "20000",
            "message_size_limit": "20000",
            "transport_maps": f"inline:{{ outreach.test=lmtp:unix:{lmtp} }}",
            "smtpd_restriction_classes": "spamhaus barracuda spamcop dbl ptr helo senderdomain",
            "spamhaus": "reject_rbl_client zen.spamhaus.org",
            "barracuda": "reject_rbl_client b.barracudacentral.org",
            "spamcop": "reject_rbl_client bl.spamcop.net",
            "dbl": "reject_rhsbl_sender dbl.spamhaus.org",
            "ptr": "reject_unknown_reverse_client_hostname",
            "helo": "reject_unknown_helo_hostname",
            "senderdomain": "reject_unknown_sender_domain",
            "smtpd_relay_restrictions": "reject_unauth_destination",
            "smtpd_recipient_restrictions": f"check_recipient_access texthash:{home}/etc/classes",
            "body_checks": f"regexp:{home}/etc/body_checks",
            "maximal_queue_lifetime": "1s",
            "bounce_queue_lifetime": "1h",
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "1s",
        },
        services=[
            f"{REMOTE_POSTFIX_IP}:25 inet n - n - - smtpd",
            f"{REMOTE_POSTFIX_SMALL_IP}:25 inet n - n - - smtpd -o message_size_limit=1500",
        ],
        files={
            "mailboxes": "".join(f"{k} {v}\n" for k, v in mailboxes.items()),
            "classes": "".join(f"{k} {v}\n" for k, v in classes.items()),
            "body_checks": f"/{SPAM_PHRASE}/ REJECT Message content rejected as spam\n",
        },
    )
