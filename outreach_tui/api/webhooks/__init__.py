"""Inbound provider webhooks: each request's signature is verified before anything in it is
believed (Amazon SNS for SES, SendGrid's signed Event Webhook, Mailgun). A request that is
unsigned, stale, replayed or forged is refused (401/403) and logged, and never reaches the
engine; a verified one is parsed (core/provider_events.py) into the reports the engine
applies through the same effects as a DSN read from a mailbox.

    sns.py        SNS message signatures (X.509 certificate from an allowed host, cached)
    sendgrid.py   ECDSA P-256 over timestamp + raw body
    mailgun.py    HMAC-SHA256 over timestamp + token
    replay.py     signatures seen within the freshness window, refused a second time
"""
