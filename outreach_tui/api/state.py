"""What a running app holds, on `app.state.api`: the engine, the tokens and their rate
limits, the provider verifiers (built on first use, from `[esp]`), the validate jobs."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from outreach_tui.api.auth import RateLimiter, TokenBook
from outreach_tui.api.validate_jobs import ValidateJobs
from outreach_tui.api.webhooks.errors import WebhookRefused
from outreach_tui.api.webhooks.mailgun import MailgunVerifier
from outreach_tui.api.webhooks.sendgrid import SendGridVerifier
from outreach_tui.api.webhooks.sns import SnsVerifier
from outreach_tui.config import Settings
from outreach_tui.engine import Engine
from outreach_tui.secrets import resolve_secret

log = logging.getLogger("outreach_tui.api")


@dataclass
class ApiState:
    engine: Engine
    tokens: TokenBook
    limiter: RateLimiter
    jobs: ValidateJobs
    _sns: SnsVerifier | None = field(default=None, repr=False)
    _sendgrid: SendGridVerifier | None = field(default=None, repr=False)
    _mailgun: MailgunVerifier | None = field(default=None, repr=False)

    @classmethod
    def for_engine(cls, engine: Engine) -> ApiState:
        api = engine.settings.api
        return cls(
            engine=engine,
            tokens=TokenBook(api),
            limiter=RateLimiter(api.rate_limit_per_minute, api.rate_limit_burst),
            jobs=ValidateJobs(api.validate_jobs_kept),
        )

    @property
    def settings(self) -> Settings:
        return self.engine.settings

    def sns(self) -> SnsVerifier:
        if self._sns is None:
            self._sns = SnsVerifier(self.settings.esp, ca_file=self.settings.tls.ca_file)
        return self._sns

    def sendgrid(self) -> SendGridVerifier:
        if self._sendgrid is None:
            ref = self.settings.esp.sendgrid_public_key
            if ref is None:
                raise WebhookRefused(403, "SendGrid events are not configured ([esp])")
            key = resolve_secret(ref, key="esp.sendgrid_public_key")
            self._sendgrid = SendGridVerifier(
                key, max_age_seconds=self.settings.esp.max_age_seconds
            )
        return self._sendgrid

    def mailgun(self) -> MailgunVerifier:
        if self._mailgun is None:
            ref = self.settings.esp.mailgun_signing_key
            if ref is None:
                raise WebhookRefused(403, "Mailgun events are not configured ([esp])")
            key = resolve_secret(ref, key="esp.mailgun_signing_key")
            self._mailgun = MailgunVerifier(key, max_age_seconds=self.settings.esp.max_age_seconds)
        return self._mailgun
