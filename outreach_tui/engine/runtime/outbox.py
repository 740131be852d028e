"""Outbound webhooks from a durable outbox: what happened, told to other programs, signed, and
never lost while a receiver is down.

Each pass (the scheduler's `webhooks` job, and `outreach-tui serve` when it delivers too):

1. **fill**: new rows of `event` and `reply` past the outbox's cursor become events
   (engine/runtime/outbox_events.py), queued once per subscribed receiver in
   `webhook_delivery` in the same transaction that advances the cursor. The reader goes
   back a margin below its cursor each time: on PostgreSQL a lower id can commit after a
   higher one, and a row queued twice is queued once (unique on receiver and source).
2. **deliver**: due deliveries are POSTed; a 2xx marks one delivered; anything else (an
   error status, a refused connection, a timeout) retries after `first_delay_seconds`,
   doubling up to `max_delay_seconds`, until `give_up_hours` after the event, when it is
   abandoned. New failures and abandonments are `webhook_failed`/`webhook_abandoned` events
   in the console, one per receiver and pass.

One process at a time delivers (the `webhook-outbox` lease), so several workers and an API
process share the work without sending twice.

The request (documented in README "Outbound webhooks"):

    POST <url>
    Content-Type: application/json
    X-Outreach-Event: lead.bounced
    X-Outreach-Delivery: <uuid, the same on every retry>
    X-Outreach-Timestamp: <Unix seconds of this try>
    X-Outreach-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import httpx

from outreach_tui import __version__
from outreach_tui.db.repos import outbox as repo
from outreach_tui.db.repos.journal import write_event
from outreach_tui.engine.context import EngineContext
from outreach_tui.engine.runtime.outbox_events import (
    EVENT_KINDS,
    Lookups,
    WebhookEvent,
    from_event,
    from_reply,
    needed_ids,
)
from outreach_tui.engine.sending.leases import acquire
from outreach_tui.secrets import resolve_secret

log = logging.getLogger(__name__)

LEASE = "webhook-outbox"
#: How far below its cursor the reader looks again (ids a slower transaction may commit).
OVERLAP_IDS = 200
_READ_BATCH = 2000
_CONCURRENCY = 8


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The `X-Outreach-Signature` value of `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


class WebhookOutbox:
    def __init__(
        self, ctx: EngineContext, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.ctx = ctx
        self.settings = ctx.settings.webhooks
        self.transport = transport
        self.endpoints = {e.name: e for e in self.settings.endpoints}

    @property
    def enabled(self) -> bool:
        return bool(self.endpoints)

    async def run(self) -> tuple[int, int]:
        """One pass: (deliveries queued, deliveries made). Nothing without receivers, or
        while another process holds the lease."""
        if not self.enabled:
            return 0, 0
        if not await asyncio.to_thread(self._lease):
            return 0, 0
        queued = await asyncio.to_thread(self.fill)
        delivered = await self.deliver()
        return queued, delivered

    def _lease(self) -> bool:
        ttl = max(60.0, self.settings.interval_seconds * 3)
        with self.ctx.db.write() as conn:
            return acquire(conn, LEASE, self.ctx.holder, self.ctx.clock.now(), ttl)

    # -- fill -------------------------------------------------------------------------------

    def fill(self) -> int:
        """Queue the events of rows written since the last pass; how many deliveries."""
        queued = 0
        for source in ("event", "reply"):
            while True:
                count, more = self._fill_source(source)
                queued += count
                if not more:
                    break
        return queued

    def _fill_source(self, source: str) -> tuple[int, bool]:
        now = self.ctx.clock.now()
        with self.ctx.db.write() as conn:
            last = repo.cursor(conn, source)
            if last is None:  # the first pass: from now on, not the whole history
                repo.set_cursor(conn, source, repo.max_source_id(conn, source), now)
                return 0, False
            after = max(0, last - OVERLAP_IDS)
            events: list[WebhookEvent] = []
            if source == "event":
                rows = repo.events_after(conn, after, EVENT_KINDS, _READ_BATCH)
                reply_ids, mailbox_ids, campaign_ids, attempt_ids = needed_ids(rows)
                names = Lookups(
                    repo.reply_addresses(conn, reply_ids),
                    repo.mailbox_emails(conn, mailbox_ids),
                    repo.campaign_names(conn, campaign_ids),
                    repo.attempt_recipients(conn, attempt_ids),
                )
                events = [w for r in rows if (w := from_event(r, names)) is not None]
                ids = [r.id for r in rows]
            else:
                replies = repo.replies_after(conn, after, _READ_BATCH)
                events = [w for r in replies for w in from_reply(r)]
                ids = [r.id for r in replies]
            queued = repo.enqueue(conn, self._deliveries(events, now))
            top = max([last, *ids])
            if top != last:
                repo.set_cursor(conn, source, top, now)
        # A full batch: more rows may wait above it.
        return queued, len(ids) >= _READ_BATCH

    def _deliveries(self, events: list[WebhookEvent], now: datetime) -> list[dict[str, Any]]:
        rows = []
        for event in events:
            for endpoint in self.endpoints.values():
                if event.event not in endpoint.events:
                    continue
                delivery_id = str(uuid.uuid4())
                body = {"id": delivery_id, "event": event.event,
                        "created_at": event.at.isoformat(), "data": event.data}  # fmt: skip
                rows.append({
                    "endpoint": endpoint.name, "source": event.source, "event": event.event,
                    "delivery_id": delivery_id,
                    "payload": json.dumps(body, separators=(",", ":"), sort_keys=True),
                    "created_at": now, "next_attempt_at": now,
                })  # fmt: skip
        return rows

    # -- deliver ----------------------------------------------------------------------------

    async def deliver(self) -> int:
        """POST the due deliveries; how many were taken."""
        now = self.ctx.clock.now()
        due = await asyncio.to_thread(self._due, now)
        if not due:
            return 0
        semaphore = asyncio.Semaphore(_CONCURRENCY)
        kwargs: dict[str, Any] = {"timeout": self.settings.timeout_seconds}
        if self.transport is not None:
            kwargs["transport"] = self.transport
        async with httpx.AsyncClient(follow_redirects=False, **kwargs) as client:

            async def one(d: repo.Delivery) -> tuple[repo.Delivery, str | None]:
                async with semaphore:
                    return d, await self._post(client, d)

            results = await asyncio.gather(*(one(d) for d in due))
        return await asyncio.to_thread(self._record, results, now)

    def _due(self, now: datetime) -> list[repo.Delivery]:
        with self.ctx.db.read() as conn:
            return repo.due_deliveries(conn, now, self.settings.batch)

    async def _post(self, client: httpx.AsyncClient, d: repo.Delivery) -> str | None:
        """None when the receiver took it; else why not (never the URL: it may be secret)."""
        endpoint = self.endpoints.get(d.endpoint)
        if endpoint is None:
            return "receiver no longer configured"
        try:
            secret = resolve_secret(endpoint.secret, key=f"webhooks.endpoints[{d.endpoint}].secret")
        except Exception as exc:  # a secret that does not resolve: said, never raised
            return str(exc)
        body = d.payload.encode()
        stamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"outreach-tui/{__version__}",
            "X-Outreach-Event": d.event,
            "X-Outreach-Delivery": d.delivery_id,
            "X-Outreach-Timestamp": str(stamp),
            "X-Outreach-Signature": signature(secret, stamp, body),
        }
        try:
            response = await client.post(endpoint.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return type(exc).__name__
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"

    def _record(self, results: list[tuple[repo.Delivery, str | None]], now: datetime) -> int:
        failed: Counter[str] = Counter()
        abandoned: Counter[str] = Counter()
        reasons: dict[str, str] = {}
        give_up = timedelta(hours=self.settings.give_up_hours)
        with self.ctx.db.write() as conn:
            for d, error in results:
                attempts = d.attempts + 1
                if error is None:
                    repo.mark_delivered(conn, d.id, attempts, now)
                    continue
                reasons[d.endpoint] = error
                if now - d.created_at >= give_up:
                    repo.mark_abandoned(conn, d.id, attempts, error, now)
                    abandoned[d.endpoint] += 1
                    continue
                delay = min(
                    self.settings.max_delay_seconds,
                    self.settings.first_delay_seconds * 2 ** (attempts - 1),
                )
                repo.mark_retry(conn, d.id, attempts, now + timedelta(seconds=delay), error)
                if attempts == 1:
                    failed[d.endpoint] += 1
            for name, count in failed.items():
                write_event(
                    conn, kind="webhook_failed", severity="warning", subject_type="webhook",
                    subject_id=name, at=now,
                    message=f"webhook {name}: {count} deliveries failed ({reasons[name]}); "
                    "retrying with backoff",
                    data={"endpoint": name, "failed": count, "error": reasons[name]},
                )  # fmt: skip
            for name, count in abandoned.items():
                write_event(
                    conn, kind="webhook_abandoned", severity="critical", subject_type="webhook",
                    subject_id=name, at=now,
                    message=f"webhook {name}: {count} deliveries abandoned after "
                    f"{self.settings.give_up_hours:g} h ({reasons[name]})",
                    data={"endpoint": name, "abandoned": count, "error": reasons[name]},
                )  # fmt: skip
            repo.purge_finished(conn, now - timedelta(days=self.settings.keep_days))
        for name in failed:
            log.warning("webhook %s: deliveries failing (%s)", name, reasons[name])
        return len(results)

    def state(self) -> repo.OutboxState:
        with self.ctx.db.read() as conn:
            return repo.outbox_state(conn)
