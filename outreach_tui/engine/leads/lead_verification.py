"""Verify leads before they reach a send queue.

Which leads: not verified yet (`health` NULL), enrolled and still active in a campaign that
is active (or in the campaign named). The results go to `lead.verification_status,
verification_score, health, verified_at`; enrollments the planner put back "waiting for
verification" are made due again at once, so a verified lead does not wait for the next
planner back-off.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any

from sqlalchemy import Engine, select, update

from outreach_tui.config import Settings
from outreach_tui.core.errors import InputError
from outreach_tui.core.states import CampaignStatus, EnrollmentState
from outreach_tui.core.verification import WAITING_FOR_VERIFICATION, VerificationResult
from outreach_tui.db import tables as t
from outreach_tui.db.session import read_tx, write_tx
from outreach_tui.engine.clock import Clock
from outreach_tui.engine.leads.domain_insight_db import DbInsightStore
from outreach_tui.engine.leads.verifier import Verifier
from outreach_tui.engine.sending.planner import WAITING_PREFIX
from outreach_tui.mail.dns import make_resolver

log = logging.getLogger(__name__)

#: Results written per transaction.
WRITE_BATCH = 100


class LeadVerifier:
    def __init__(self, db: Engine, settings: Settings, clock: Clock) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock

    def pending(self, *, campaign: str | None = None, limit: int | None = None) -> list[Any]:
        """(id, email) of unverified leads with an active enrollment, oldest first."""
        query = (
            select(t.lead.c.id, t.lead.c.email)
            .where(t.lead.c.health.is_(None))
            .where(
                t.lead.c.id.in_(
                    select(t.campaign_lead.c.lead_id)
                    .join(t.campaign, t.campaign.c.id == t.campaign_lead.c.campaign_id)
                    .where(
                        t.campaign_lead.c.state == EnrollmentState.ACTIVE.value,
                        t.campaign.c.name == campaign
                        if campaign is not None
                        else t.campaign.c.status == CampaignStatus.ACTIVE.value,
                    )
                )
            )
            .order_by(t.lead.c.id)
        )
        if limit is not None:
            query = query.limit(limit)
        with read_tx(self.db) as conn:
            if campaign is not None:
                known = conn.execute(
                    select(t.campaign.c.id).where(t.campaign.c.name == campaign)
                ).first()
                if known is None:
                    raise InputError(f"no campaign named {campaign!r}")
            return list(conn.execute(query))

    async def run(
        self, *, campaign: str | None = None, smtp: bool = True, limit: int | None = None
    ) -> Counter[str]:
        """Verify one batch of pending leads; results by status."""
        rows = await asyncio.to_thread(self.pending, campaign=campaign, limit=limit)
        counts: Counter[str] = Counter()
        if not rows:
            return counts
        ids = {row.email: row.id for row in rows}
        verify = self.settings.verify
        resolver = make_resolver(self.settings.dns.nameservers, timeout=verify.timeout_seconds)
        verifier = Verifier(
            verify, resolver, DbInsightStore(self.db), smtp=smtp, now=self.clock.now
        )
        buffer: list[tuple[int, VerificationResult]] = []
        async for result in verifier.verify_stream(list(ids)):
            counts[result.status.value] += 1
            lead_id = ids.get(result.email)
            if lead_id is None:  # pragma: no cover - results carry the address as given
                continue
            buffer.append((lead_id, result))
            if len(buffer) >= WRITE_BATCH:
                await asyncio.to_thread(self._write, buffer)
                buffer = []
        if buffer:
            await asyncio.to_thread(self._write, buffer)
        log.info("verified %d leads: %s", sum(counts.values()), dict(counts))
        return counts

    def _write(self, results: list[tuple[int, VerificationResult]]) -> None:
        now = self.clock.now()
        with write_tx(self.db) as conn:
            for lead_id, result in results:
                conn.execute(
                    update(t.lead)
                    .where(t.lead.c.id == lead_id)
                    .values(
                        verification_status=result.status.value,
                        verification_score=result.score,
                        health=result.health.value,
                        verified_at=now,
                        updated_at=now,
                    )
                )
            conn.execute(
                update(t.campaign_lead)
                .where(
                    t.campaign_lead.c.lead_id.in_([lead_id for lead_id, _ in results]),
                    t.campaign_lead.c.state == EnrollmentState.ACTIVE.value,
                    t.campaign_lead.c.stop_reason == WAITING_PREFIX + WAITING_FOR_VERIFICATION,
                )
                .values(next_due_at=now, stop_reason=None, updated_at=now)
            )


__all__ = ["LeadVerifier"]
