"""The healer: walks paused mailboxes back (the `heal` job, every `[scheduler] heal_seconds`).

PAUSED → QUARANTINE when the cooldown ends → RESTRICTED_SEND when the sending domain's DNS is
healthy → WARM_RECOVERY after enough clean sends → HEALTHY after enough days under the bounce
ceiling (core.recovery decides; the monitor watches relapses). A domain's DNS is healthy when
the last DNS check found SPF, DKIM and DMARC valid and the domain on no blocklist, and the
domain is not paused; a domain never checked is not healthy, and the healer asks for a check
(`request_dns`) and leaves a "dns_check_requested" event once a day per domain (the operator
sees it; `outreach-tui dns-check` answers it too).

A domain the guard paused resumes once `[monitor] domain_cooldown_hours` have passed and a DNS
check made after the pause is healthy. A campaign the guard paused stays paused: its list is
the suspect, and only the operator can vouch for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from outreach_tui.core.days import day_start_utc, local_day
from outreach_tui.core.recovery import Rates, Transition, next_step
from outreach_tui.core.states import MailboxPhase
from outreach_tui.db.repos.journal import event_keys_since, write_event
from outreach_tui.db.repos.mailboxes import MailboxPhaseRecord, mailboxes_in_phases
from outreach_tui.db.repos.sending_domains import SendingDomainState, sending_domains_to_heal
from outreach_tui.engine.context import EngineContext
from outreach_tui.engine.guard.actions import GUARD_PREFIX, GuardAction, Mode, guard_rules
from outreach_tui.engine.guard.actor import GuardActor
from outreach_tui.engine.guard.alerts import Alert, AlertSink, send_alerts
from outreach_tui.engine.guard.rates import mailbox_state, phase_rates_many

log = logging.getLogger(__name__)

DnsRequest = Callable[[list[str]], Awaitable[object]]

_HEALING = (
    MailboxPhase.PAUSED.value,
    MailboxPhase.QUARANTINE.value,
    MailboxPhase.RESTRICTED_SEND.value,
    MailboxPhase.WARM_RECOVERY.value,
)
_RECOVERING = (MailboxPhase.RESTRICTED_SEND.value, MailboxPhase.WARM_RECOVERY.value)
NO_SENDS = Rates()


def dns_healthy(domain: SendingDomainState | None) -> bool:
    """The domain is not paused and its DNS records are healthy."""
    return domain is not None and not domain.paused and dns_records_healthy(domain)


def dns_records_healthy(domain: SendingDomainState) -> bool:
    """SPF, DKIM, DMARC valid and not blocklisted, as the last DNS check found (never checked:
    not healthy)."""
    return (
        domain.dns_checked_at is not None
        and domain.spf_ok is True
        and domain.dkim_ok is True
        and domain.dmarc_ok is True
        and domain.blocklisted is False
    )


@dataclass
class HealReport:
    mode: Mode = "enforce"
    moved: list[tuple[str, str]] = field(default_factory=list)
    """(mailbox, new phase) carried out."""
    domains_resumed: list[str] = field(default_factory=list)
    suggested: list[str] = field(default_factory=list)
    observed: list[str] = field(default_factory=list)
    dns_requested: list[str] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)


class Healer:
    def __init__(
        self,
        ctx: EngineContext,
        *,
        actor: GuardActor,
        sink: AlertSink,
        request_dns: DnsRequest,
    ) -> None:
        """`actor` carries out the steps by mode; `sink` takes the alerts; `request_dns`
        runs a DNS check of the named domains (engine/guard/dnscheck.py)."""
        self.ctx = ctx
        self.actor = actor
        self.sink = sink
        self.request_dns = request_dns

    async def run(self) -> HealReport:
        report = await asyncio.to_thread(self.tick)
        if report.dns_requested:
            try:
                await self.request_dns(report.dns_requested)
            except Exception:  # the next pass asks again
                log.exception("DNS check of %s failed", ", ".join(report.dns_requested))
        await send_alerts(self.sink, report.alerts)
        return report

    def tick(self) -> HealReport:
        mode = self.actor.mode()
        now = self.ctx.clock.now()
        rules = guard_rules(self.ctx.settings)
        tz = self.ctx.tz
        actions: list[GuardAction] = []
        unchecked: set[str] = set()
        with self.ctx.db.read() as conn:
            # Only the domains this pass can act on.
            domains = {d.id: d for d in sending_domains_to_heal(conn, _HEALING)}
            boxes = mailboxes_in_phases(conn, _HEALING)
            # Only a recovering mailbox's step depends on its sends in the phase; a PAUSED or
            # QUARANTINE one's rate is read only when it moves (for the event and the alert).
            rates = phase_rates_many(conn, [box for box in boxes if box.phase in _RECOVERING], tz)
            moving: list[tuple[MailboxPhaseRecord, Transition]] = []
            for box in boxes:
                domain = domains.get(box.domain_id) if box.domain_id is not None else None
                state = mailbox_state(box)
                in_phase = rates.get(box.id, NO_SENDS)
                healthy = dns_healthy(domain)
                step = next_step(state, in_phase, now=now, dns_healthy=healthy, rules=rules)
                if (
                    step is None
                    and state.phase is MailboxPhase.QUARANTINE
                    and domain is not None
                    and domain.dns_checked_at is None
                ):
                    unchecked.add(domain.name)
                if step is not None:
                    moving.append((box, step))
            rates.update(
                phase_rates_many(conn, [box for box, _ in moving if box.id not in rates], tz)
            )
            for box, step in moving:
                actions.append(
                    GuardAction(
                        type="mailbox", subject_id=box.id, label=box.email,
                        reason=step.reason, transition=step, version=box.version,
                        rate=rates[box.id].bounce_rate,
                    )
                )  # fmt: skip
        cooldown = timedelta(hours=self.ctx.settings.monitor.domain_cooldown_hours)
        for domain in domains.values():
            if (
                domain.paused
                and (domain.paused_reason or "").startswith(GUARD_PREFIX)
                and domain.paused_at is not None
                and now - domain.paused_at >= cooldown
            ):
                checked_after = (
                    domain.dns_checked_at is not None and domain.dns_checked_at >= domain.paused_at
                )
                if checked_after and dns_records_healthy(domain):
                    actions.append(
                        GuardAction(
                            type="domain_resume",
                            subject_id=domain.id,
                            label=domain.name,
                            reason="cooldown over and a DNS check since the pause is healthy",
                        )
                    )
                elif not checked_after:
                    unchecked.add(domain.name)
        outcome = self.actor.carry_out(actions, mode)
        report = HealReport(mode=mode, alerts=list(outcome.alerts))
        for action in outcome.applied:
            if action.transition is not None:
                report.moved.append((action.label, action.transition.to_phase.value))
            else:
                report.domains_resumed.append(action.label)
        report.suggested = [a.label for a in outcome.suggested]
        report.observed = [a.label for a in outcome.observed]
        report.dns_requested = sorted(unchecked)
        if unchecked:
            self._note_dns_request(report.dns_requested)
        return report

    def _note_dns_request(self, names: list[str]) -> None:
        """One "dns_check_requested" event per domain per day: the DNS job (or the operator,
        `outreach-tui dns-check`) answers it."""
        now = self.ctx.clock.now()
        today = local_day(now, self.ctx.tz)
        day = today.isoformat()
        with self.ctx.db.write() as conn:
            # Today's requests of these domains only (the key names the local day).
            told = event_keys_since(
                conn, kind="dns_check_requested", since=day_start_utc(today, self.ctx.tz),
                subject_ids=names,
            )  # fmt: skip
            for name in names:
                key = f"dns:{name}:{day}"
                if key not in told:
                    write_event(
                        conn, kind="dns_check_requested", subject_type="domain",
                        subject_id=name, at=now, data={"key": key, "domain": name},
                        message=f"{name}: recovering mailboxes wait for a DNS check",
                    )  # fmt: skip
