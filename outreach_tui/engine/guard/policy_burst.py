"""A burst of policy refusals from one mailbox: it is probably blocklisted somewhere.

Every policy refusal that counts (a block list, reputation, SPF/DKIM/DMARC, content or rate
refusal, at SMTP time or reported later about a send of ours) leaves a `policy_refusal`
event naming the mailbox, where the refusal came from and what the receiver said
(engine/sending/event_effects.py). `[monitor] policy_burst` of them from one mailbox within
`policy_burst_minutes` raise one critical alert, "<mailbox> is probably blocklisted at
<host>", with the receiver's words. A `policy_burst` event keeps it from repeating while the
burst lasts. Alerting is news, not an action: it happens in every mode. The refusals also
count in the mailbox's bounce rate (core.recovery.Rates), which is how the monitor pauses.

A refusal from a stranger never gets here: a report that matches nothing this mailbox sent
does nothing at all (core/event_effects.py).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from outreach_tui.core.states import Severity
from outreach_tui.db.repos.journal import (
    SubjectEvent,
    event_keys_since,
    events_of_kind_since,
    write_event,
)
from outreach_tui.engine.context import EngineContext
from outreach_tui.engine.guard.alerts import Alert


@dataclass(frozen=True, slots=True)
class Burst:
    mailbox_id: str
    mailbox: str
    refusals: int
    host: str
    """Where most of them came from."""
    diagnostic: str
    """What the latest one said."""


def bursts(refusals: Sequence[SubjectEvent], threshold: int) -> list[Burst]:
    """The mailboxes with at least `threshold` of `refusals` (oldest first)."""
    by_box: dict[str, list[SubjectEvent]] = defaultdict(list)
    for event in refusals:
        if event.subject_id is not None:
            by_box[event.subject_id].append(event)
    out = []
    for mailbox_id, events in sorted(by_box.items()):
        if len(events) < threshold:
            continue
        data = [e.data or {} for e in events]
        hosts = Counter(str(d.get("host") or "the receiver") for d in data)
        latest = data[-1]
        out.append(
            Burst(
                mailbox_id=mailbox_id,
                mailbox=str(latest.get("mailbox") or f"mailbox {mailbox_id}"),
                refusals=len(events),
                host=hosts.most_common(1)[0][0],
                diagnostic=str(latest.get("diagnostic") or "")[:300],
            )
        )
    return out


def policy_burst_alerts(ctx: EngineContext, now: datetime) -> list[Alert]:
    """The alerts of bursts not told yet (each told once, with its event)."""
    settings = ctx.settings.monitor
    since = now - timedelta(minutes=settings.policy_burst_minutes)
    with ctx.db.read() as conn:
        refusals = events_of_kind_since(conn, kind="policy_refusal", since=since)
    found = bursts(refusals, settings.policy_burst)
    if not found:
        return []
    alerts = []
    with ctx.db.write() as conn:
        told = event_keys_since(
            conn, kind="policy_burst", since=since, subject_ids=[b.mailbox_id for b in found]
        )
        for burst in found:
            key = f"policy_burst:{burst.mailbox_id}"
            if key in told:
                continue
            title = f"{burst.mailbox} is probably blocklisted at {burst.host}"
            write_event(
                conn, kind="policy_burst", severity=Severity.CRITICAL.value,
                subject_type="mailbox", subject_id=burst.mailbox_id, at=now,
                message=f"{title}: {burst.refusals} policy refusals in "
                f"{settings.policy_burst_minutes:g} min; last: {burst.diagnostic}",
                data={"key": key, "host": burst.host, "refusals": burst.refusals},
            )  # fmt: skip
            alerts.append(
                Alert(
                    severity=Severity.CRITICAL,
                    key=key,
                    title=title,
                    subject_type="mailbox",
                    subject_id=burst.mailbox_id,
                    mailbox=burst.mailbox,
                    action_taken="counted in the bounce rate; no address suppressed",
                    data={
                        "refusals": f"{burst.refusals} in "
                        f"{settings.policy_burst_minutes:g} minutes",
                        "receiver said": burst.diagnostic,
                    },
                )
            )
    return alerts
