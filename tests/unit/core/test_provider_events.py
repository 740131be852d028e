"""What a provider's event says, read into one shape: SES notifications, SendGrid batches and
Mailgun events; bounce classes by the same rules as a DSN's; everything else dropped."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from outreach_tui.core.provider_events import mailgun_events, sendgrid_events, ses_events


def test_an_ses_permanent_bounce_is_hard_and_a_transient_one_soft():
    def note(kind: str, diagnostic: str) -> str:
        return json.dumps({
            "notificationType": "Bounce",
            "bounce": {"bounceType": kind, "feedbackId": "f1", "bouncedRecipients": [
                {"emailAddress": "Anna <ANNA@firma.de>", "status": "5.1.1",
                 "diagnosticCode": diagnostic}]},
            "mail": {"messageId": "ses-1", "commonHeaders": {"messageId": "<m1@brand.com>"}},
        })  # fmt: skip

    (hard,) = ses_events(note("Permanent", "smtp; 550 5.1.1 user unknown"))
    assert (hard.kind, hard.recipient, hard.message_id, hard.bounce_class) == (
        "bounce", "anna@firma.de", "<m1@brand.com>", "hard"
    )  # fmt: skip
    (policy,) = ses_events(note("Permanent", "smtp; 550 5.7.1 blocked using zen.spamhaus.org"))
    assert policy.bounce_class == "policy"
    (soft,) = ses_events(note("Transient", "smtp; 452 4.2.2 mailbox full"))
    assert soft.bounce_class == "soft"


def test_an_ses_complaint_and_garbage():
    recipients = [{"emailAddress": "x@y.com"}]
    body = {"notificationType": "Complaint", "mail": {},
            "complaint": {"feedbackId": "c1", "complainedRecipients": recipients}}  # fmt: skip
    (complaint,) = ses_events(json.dumps(body))
    assert (complaint.kind, complaint.recipient) == ("complaint", "x@y.com")
    assert complaint.message_id is None
    for garbage in ("", "[]", "null", '{"notificationType": "Bounce"}', "{not json"):
        assert ses_events(garbage) == []


def test_sendgrid_batches_keep_bounces_complaints_and_deliveries_only():
    events = sendgrid_events([
        {"email": "a@b.com", "event": "bounce", "type": "bounce", "status": "5.1.1",
         "reason": "550 5.1.1 unknown", "smtp-id": "<m@x>", "sg_event_id": "1"},
        {"email": "a@b.com", "event": "bounce", "type": "blocked", "reason": "421 try later",
         "sg_event_id": "2"},
        {"email": "a@b.com", "event": "spamreport", "sg_event_id": "3"},
        {"email": "a@b.com", "event": "open", "sg_event_id": "4"},
        {"email": "not an address", "event": "bounce"},
        "garbage",
    ])  # fmt: skip
    assert [(e.kind, e.bounce_class) for e in events] == [
        ("bounce", "hard"), ("bounce", "soft"), ("complaint", None)
    ]  # fmt: skip
    assert events[0].message_id == "<m@x>" and len({e.event_id for e in events}) == 3


def test_mailgun_failed_permanent_and_temporary():
    base = {"recipient": "a@b.com", "id": "ev1",
            "message": {"headers": {"message-id": "m@x"}},
            "delivery-status": {"code": 550, "message": "5.1.1 no such user"}}  # fmt: skip
    (hard,) = mailgun_events({**base, "event": "failed", "severity": "permanent"})
    assert (hard.bounce_class, hard.delivery_status, hard.message_id) == ("hard", "failed", "<m@x>")
    (later,) = mailgun_events({**base, "event": "failed", "severity": "temporary"})
    assert later.delivery_status == "delayed"
    assert mailgun_events({**base, "event": "opened"}) == []


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=10), c, max_size=4),
    max_leaves=30,
)


@given(_JSON)
def test_no_payload_makes_the_readers_raise(payload):
    sendgrid_events(payload)
    if isinstance(payload, dict):
        mailgun_events(payload)
    ses_events(json.dumps(payload))
