"""One-click unsubscribe (RFC 8058): the signed link a message carried, honoured at once.

The link's token (core/unsubscribe_token.py) names the address and the message; it is
verified with the key alone, so an unsubscribe works even when the lead was deleted or the
database is another one's copy. Honouring it stops every sequence of the lead (its status
becomes unsubscribed), puts the address on the suppression list through the suppression
service (audited, under the actor `one-click`), and writes an `unsubscribed` event that the
console shows and the outbound webhooks carry (engine/runtime/outbox.py).
"""

from __future__ import annotations

import logging

from outreach_tui.core.states import LeadStatus
from outreach_tui.core.unsubscribe_token import UnsubscribeClaim, one_click_status, verify
from outreach_tui.db.repos.journal import write_event
from outreach_tui.db.repos.leads import lead_id_by_email
from outreach_tui.engine.context import EngineContext
from outreach_tui.engine.leads.suppression import SuppressionService
from outreach_tui.engine.sending.sequences import stop_lead
from outreach_tui.secrets import resolve_secret

log = logging.getLogger(__name__)

#: Who the audit log names for a recipient's own unsubscribe.
ONE_CLICK_ACTOR = "one-click"


class OneClickUnsubscribe:
    def __init__(self, ctx: EngineContext, *, suppression: SuppressionService) -> None:
        self.ctx = ctx
        self.suppression = suppression

    def status(self) -> tuple[bool, str]:
        """(on, in words): on when `[sending] unsubscribe_url` is set."""
        return one_click_status(self.ctx.settings.sending.unsubscribe_url)

    def _key(self) -> bytes | None:
        ref = self.ctx.settings.sending.unsubscribe_key
        if ref is None:
            return None
        return resolve_secret(ref, key="sending.unsubscribe_key").encode()

    def claim(self, token: str) -> UnsubscribeClaim | None:
        """What a link's token says, if it was signed with our key; None otherwise."""
        key = self._key()
        return None if key is None else verify(key, token)

    def honour(self, claim: UnsubscribeClaim) -> bool:
        """Stop the lead's sequences and suppress the address; True when it was not
        suppressed yet (a second click changes nothing and is not an error)."""
        now = self.ctx.clock.now()
        address = claim.email
        with self.ctx.db.read() as conn:
            lead_id = lead_id_by_email(conn, address)
        stopped = 0
        with self.ctx.db.write() as conn:
            if lead_id is not None:
                stopped = stop_lead(
                    conn,
                    lead_id=lead_id,
                    reason="one-click unsubscribe",
                    operator_id=ONE_CLICK_ACTOR,
                    now=now,
                    lead_status=LeadStatus.UNSUBSCRIBED,
                )
        added = self.suppression.add(
            address,
            kind="address",
            reason=f"one-click unsubscribe (message <{claim.message_id}>)"[:300],
            source="one-click",
        )
        if added:
            with self.ctx.db.write() as conn:
                write_event(
                    conn,
                    kind="unsubscribed",
                    message=f"{address} unsubscribed (one-click); {stopped} sequence(s) stopped",
                    at=now,
                    subject_type="lead",
                    subject_id=lead_id,
                    data={"email": address, "message_id": f"<{claim.message_id}>",
                          "via": "one-click", "sequences_stopped": stopped},
                )  # fmt: skip
            log.info("one-click unsubscribe of %s honoured", address)
        return added
