"""Provider event webhooks, verified with keys made at run time: Amazon SNS (its signing
certificate served over HTTPS by a local server whose host `[esp] sns_cert_host_pattern`
allows), SendGrid (ECDSA P-256) and Mailgun (HMAC-SHA256). A verified bounce about a message
the pipeline really sent goes through the same effects as a DSN (suppressed, lead bounced,
counted against the sending mailbox); unsigned, forged, stale and replayed requests are
refused (401/403) and change nothing."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import time
import uuid

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from outreach_tui.db import tables as t
from tests.functional.helpers import SENDER

LEAD = "anna@firma.de"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:ses-events"


def world_state(api):
    with api.engine.db.connect() as conn:
        status = conn.execute(select(t.lead.c.status).where(t.lead.c.email == LEAD)).scalar()
        suppressed = conn.execute(select(t.suppression.c.value, t.suppression.c.source)).all()
        rows = conn.execute(
            select(t.daily_counter.c.scope, t.daily_counter.c.count).where(
                t.daily_counter.c.key == SENDER
            )
        )
        counters = {str(scope): int(count) for scope, count in rows}
    return status, suppressed, counters


def sent_message_id(api) -> str:
    outcome = api.send(LEAD)
    assert outcome.sent, outcome
    return api.smtp.received[-1].parsed()["Message-ID"]


def assert_applied_as_a_hard_bounce(api, provider: str) -> None:
    status, suppressed, counters = world_state(api)
    assert status == "bounced"
    assert [v for v, _ in suppressed] == [LEAD] and suppressed[0][1].startswith(f"{provider}:")
    assert counters.get("mailbox_bounce_report") == 1


# -- Amazon SNS ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sns_signer():
    """An RSA key and a certificate for it, made now (what SNS's signing certificate is)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return key, cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def sns_host(pki, sns_signer):
    """An HTTPS server on localhost serving the signing certificate and a SubscribeURL."""
    server = HTTPServer(host="localhost", ssl_context=pki.server_context())
    server.start()
    server.expect_request("/SimpleNotificationService-test.pem").respond_with_data(
        sns_signer[1], content_type="application/x-pem-file"
    )
    server.expect_request("/confirm").respond_with_data("<ConfirmSubscriptionResponse/>")
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def sns_message(signer, cert_url: str, *, kind="Notification", message="", stamp=None, **extra):
    key, _ = signer
    fields = {
        "Type": kind, "MessageId": str(uuid.uuid4()), "TopicArn": TOPIC, "Message": message,
        "Timestamp": (stamp or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "SignatureVersion": "2", "SigningCertURL": cert_url, **extra,
    }  # fmt: skip
    names = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
    if kind != "Notification":
        names = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
    text = "".join(f"{n}\n{fields[n]}\n" for n in names if n in fields)
    signature = key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
    fields["Signature"] = base64.b64encode(signature).decode()
    return fields


def ses_bounce(message_id: str) -> str:
    return json.dumps({
        "notificationType": "Bounce",
        "bounce": {"bounceType": "Permanent", "feedbackId": str(uuid.uuid4()),
                   "bouncedRecipients": [{"emailAddress": LEAD, "status": "5.1.1",
                                          "diagnosticCode": "smtp; 550 5.1.1 user unknown"}]},
        "mail": {"messageId": "ses-1", "commonHeaders": {"messageId": message_id}},
    })  # fmt: skip


@pytest.fixture
def sns_api(api_world, sns_host):
    return api_world(esp={"sns_cert_host_pattern": "localhost", "sns_topic_arns": [TOPIC]})


def post_sns(api, body):
    with api.client(token=None) as client:
        return client.post(
            "/webhooks/ses", content=json.dumps(body), headers={"Content-Type": "text/plain"}
        )


def test_a_signed_ses_bounce_has_the_effects_of_a_dsn(sns_api, sns_host, sns_signer):
    message_id = sent_message_id(sns_api)
    cert = sns_host.url_for("/SimpleNotificationService-test.pem")
    response = post_sns(sns_api, sns_message(sns_signer, cert, message=ses_bounce(message_id)))
    assert response.status_code == 200, response.text
    assert response.json() == {"received": 1, "applied": 1, "duplicates": 0, "unmatched": 0}
    assert_applied_as_a_hard_bounce(sns_api, "ses")
    # The certificate was fetched once and is kept.
    second = post_sns(sns_api, sns_message(sns_signer, cert, message=ses_bounce(message_id)))
    assert second.status_code == 200
    fetched = [r for r, _ in sns_host.log if r.path.endswith(".pem")]
    assert len(fetched) == 1


def test_forged_unsigned_stale_replayed_or_foreign_sns_is_refused(sns_api, sns_host, sns_signer):
    message_id = sent_message_id(sns_api)
    before = world_state(sns_api)
    cert = sns_host.url_for("/SimpleNotificationService-test.pem")
    good = sns_message(sns_signer, cert, message=ses_bounce(message_id))
    forged = {**good, "Message": ses_bounce("<other@x>")}
    unsigned = {k: v for k, v in good.items() if k != "Signature"}
    stale = sns_message(sns_signer, cert, message=ses_bounce(message_id),
                        stamp=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))  # fmt: skip
    foreign_host = sns_message(sns_signer, cert.replace("localhost", "127.0.0.1"),
                               message=ses_bounce(message_id))  # fmt: skip
    plain_http = sns_message(sns_signer, cert.replace("https:", "http:"), message="{}")
    other_topic = sns_message(sns_signer, cert, message="{}", TopicArn="arn:aws:sns:x:1:evil")
    for body, status in ((forged, 403), (unsigned, 401), (stale, 403), (foreign_host, 403),
                         (plain_http, 403), (other_topic, 403), ({"Type": "x"}, 401)):  # fmt: skip
        response = post_sns(sns_api, body)
        assert response.status_code == status, (body.get("Type"), response.text)
        assert "detail" in response.json()
    assert world_state(sns_api) == before
    assert post_sns(sns_api, good).status_code == 200
    assert post_sns(sns_api, good).status_code == 403  # the same message again: a replay
    with sns_api.client(token=None) as client:
        assert client.post("/webhooks/ses", content=b"not json").status_code == 401


def test_an_sns_subscription_is_confirmed_on_an_allowed_host(sns_api, sns_host, sns_signer):
    cert = sns_host.url_for("/SimpleNotificationService-test.pem")
    body = sns_message(sns_signer, cert, kind="SubscriptionConfirmation", message="confirm",
                       SubscribeURL=sns_host.url_for("/confirm"), Token="t0k")  # fmt: skip
    response = post_sns(sns_api, body)
    assert response.status_code == 200 and response.json() == {"confirmed": True}
    assert any(r.path == "/confirm" for r, _ in sns_host.log)


# -- SendGrid ---------------------------------------------------------------------------------


@pytest.fixture
def sendgrid(api_world, monkeypatch):
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    monkeypatch.setenv("SENDGRID_KEY", base64.b64encode(public).decode())
    api = api_world(esp={"sendgrid_public_key": "env:SENDGRID_KEY"})
    return api, key


def post_sendgrid(api, key, body: bytes, *, stamp: int | None = None, sign: bool = True,
                  signed_body: bytes | None = None):  # fmt: skip
    timestamp = str(stamp if stamp is not None else int(time.time()))
    headers = {"Content-Type": "application/json"}
    if sign:
        signature = key.sign(timestamp.encode() + (signed_body or body),
                             ec.ECDSA(hashes.SHA256()))  # fmt: skip
        headers["X-Twilio-Email-Event-Webhook-Signature"] = base64.b64encode(signature).decode()
        headers["X-Twilio-Email-Event-Webhook-Timestamp"] = timestamp
    with api.client(token=None) as client:
        return client.post("/webhooks/sendgrid", content=body, headers=headers)


def test_a_signed_sendgrid_batch_is_applied_and_bad_ones_refused(sendgrid):
    api, key = sendgrid
    message_id = sent_message_id(api)
    events = [
        {"email": LEAD, "event": "bounce", "type": "bounce", "status": "5.1.1",
         "reason": "550 5.1.1 no such user", "smtp-id": message_id, "sg_event_id": "e1"},
        {"email": LEAD, "event": "open", "sg_event_id": "e2"},
    ]  # fmt: skip
    body = json.dumps(events).encode()
    before = world_state(api)
    assert post_sendgrid(api, key, body, sign=False).status_code == 401
    tampered = body.replace(b"5.1.1", b"5.1.2")
    assert post_sendgrid(api, key, tampered, signed_body=body).status_code == 403
    assert post_sendgrid(api, key, body, stamp=int(time.time()) - 3600).status_code == 403
    assert world_state(api) == before
    response = post_sendgrid(api, key, body)
    assert response.status_code == 200
    assert response.json() == {"received": 1, "applied": 1, "duplicates": 0, "unmatched": 0}
    assert_applied_as_a_hard_bounce(api, "sendgrid")
    replay = post_sendgrid(api, key, body, stamp=None)  # a new signature: not a replay...
    assert replay.json()["duplicates"] == 1  # ...but the same events: applied once


def test_a_replayed_sendgrid_request_is_refused(sendgrid):
    api, key = sendgrid
    body = json.dumps([{"email": LEAD, "event": "delivered", "sg_event_id": "d1"}]).encode()
    timestamp = str(int(time.time()))
    signature = base64.b64encode(
        key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    ).decode()
    headers = {"X-Twilio-Email-Event-Webhook-Signature": signature,
               "X-Twilio-Email-Event-Webhook-Timestamp": timestamp}  # fmt: skip
    with api.client(token=None) as client:
        assert client.post("/webhooks/sendgrid", content=body, headers=headers).status_code == 200
        assert client.post("/webhooks/sendgrid", content=body, headers=headers).status_code == 403


# -- Mailgun ----------------------------------------------------------------------------------

MAILGUN_KEY = "key-mailgun-signing-Zq8"


def mailgun_payload(message_id: str, *, stamp: float | None = None, token: str | None = None,
                    key: str = MAILGUN_KEY) -> dict:  # fmt: skip
    timestamp = str(int(stamp if stamp is not None else time.time()))
    token = token or uuid.uuid4().hex
    signature = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature},
        "event-data": {
            "event": "failed", "severity": "permanent", "recipient": LEAD, "id": "mg-1",
            "message": {"headers": {"message-id": message_id.strip("<>")}},
            "delivery-status": {"code": 550, "message": "5.1.1 mailbox does not exist"},
        },
    }  # fmt: skip


def test_a_signed_mailgun_event_is_applied_and_bad_ones_refused(api_world, monkeypatch):
    monkeypatch.setenv("MAILGUN_KEY", MAILGUN_KEY)
    api = api_world(esp={"mailgun_signing_key": "env:MAILGUN_KEY"})
    message_id = sent_message_id(api)
    before = world_state(api)

    def post(payload):
        with api.client(token=None) as client:
            return client.post("/webhooks/mailgun", json=payload)

    unsigned = mailgun_payload(message_id)
    del unsigned["signature"]
    assert post(unsigned).status_code == 401
    assert post(mailgun_payload(message_id, key="someone-else")).status_code == 403
    assert post(mailgun_payload(message_id, stamp=time.time() - 3600)).status_code == 403
    assert world_state(api) == before
    good = mailgun_payload(message_id, token="tok-1")
    response = post(good)
    assert response.status_code == 200 and response.json()["applied"] == 1
    assert_applied_as_a_hard_bounce(api, "mailgun")
    assert post(good).status_code == 403  # the same token again: a replay


def test_providers_not_configured_refuse_everything(api):
    with api.client(token=None) as client:
        assert client.post("/webhooks/sendgrid", content=b"[]").status_code == 403
        assert client.post("/webhooks/mailgun", json={}).status_code == 403
