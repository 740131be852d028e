"""Verify leads before they reach a send queue.

Which leads: not verified yet (`health` NULL), enrolled and still active in a campaign that
is active (or in the campaign named). The results go to `lead.verification_status,
verification_score, health, verified_at`; enrollments the planner put back "waiting for
verification" are made due again at once, so a verified lead does not wait for the next
planner back-off. Each run gets its verifier from `build_verifier` (engine/leads/verifier.py),
with domain facts kept in the `domain_insight` table.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

from outreach_tui.core.errors import InputError
from outreach_tui.core.verification import WAITING_FOR_VERIFICATION, VerificationResult
from outreach_tui.db.repos.campaigns import campaign_id_by_name
from outreach_tui.db.repos.enrollments import release_held
from outreach_tui.db.repos.leads import (
    LeadToVerify,
    LeadVerification,
    leads_to_verify,
    record_verifications,
)
from outreach_tui.engine.context import EngineContext
from outreach_tui.engine.leads.domain_insight import InsightStore
from outreach_tui.engine.leads.verifier import build_verifier
from outreach_tui.engine.sending.planner import WAITING_PREFIX

log = logging.getLogger(__name__)

#: Results written per transaction.
WRITE_BATCH = 100


class LeadVerifier:
    def __init__(self, ctx: EngineContext, *, insight: InsightStore) -> None:
        """`insight`: where the verifier keeps domain facts between runs."""
        self.ctx = ctx
        self.insight = insight

    def pending(
        self, *, campaign: str | None = None, limit: int | None = None
    ) -> list[LeadToVerify]:
        """Unverified leads with an active enrollment, oldest first."""
        with self.ctx.db.read() as conn:
            if campaign is not None and campaign_id_by_name(conn, campaign) is None:
                raise InputError(f"no campaign named {campaign!r}")
            return leads_to_verify(conn, campaign=campaign, limit=limit)

    async def run(
        self, *, campaign: str | None = None, smtp: bool = True, limit: int | None = None
    ) -> Counter[str]:
        """Verify one batch of pending leads; results by status."""
        rows = await asyncio.to_thread(self.pending, campaign=campaign, limit=limit)
        counts: Counter[str] = Counter()
        if not rows:
            return counts
        ids = {row.email: row.id for row in rows}
        settings = self.ctx.settings
        verifier = build_verifier(
            settings.verify, settings.dns, self.insight, smtp=smtp, now=self.ctx.clock.now
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
        now = self.ctx.clock.now()
        verdicts = [
            LeadVerification(lead_id, r.status.value, r.score, r.health.value)
            for lead_id, r in results
        ]
        with self.ctx.db.write() as conn:
            record_verifications(conn, verdicts, now)
            release_held(
                conn,
                [lead_id for lead_id, _ in results],
                reason=WAITING_PREFIX + WAITING_FOR_VERIFICATION,
                at=now,
            )


__all__ = ["LeadVerifier"]
