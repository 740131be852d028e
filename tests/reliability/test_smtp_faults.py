"""The SMTP fault matrix: every way a submission server can fail, against the real pipeline and a
real scriptable aiosmtpd server on loopback (STARTTLS + AUTH, certificates verified against a
CA made at run time).

Each row says where the fault happens and what must follow: the attempt's state and error
class, the retry decision, the effect on the lead (bounced, suppressed) or on the mailbox (a
health event), and whether the server holds a copy. Common to every row: nothing is consumed
(daily counters, idempotency key, lead `contacted`) unless the final reply was 250.

Rows that tests/functional/test_send_pipeline.py already pins in more detail name that test in
`pinned_by`; they run here too, because this table checks all rows the same way (counters,
keys, retry time, health event, lead, server copy), which the single tests do not all do.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from outreach_tui.db import tables as t
from outreach_tui.engine.clock import SimulatedClock
from outreach_tui.engine.sending.pipeline import SendRequest
from tests.functional.helpers import PASSWORD, PASSWORD_ENV, SENDER, START, make_engine
from tests.servers.smtp import Rule

TO = "anna@firma.de"
#: Short client timeout for the rows where the server goes silent.
SHORT_TIMEOUT = 1.0
FIRST_RETRY = timedelta(seconds=300)  # [retry] first_delay_seconds
#: Well over what loopback's socket buffers take in (send buffer up to 4 MiB here, the
#: receiver's unread buffer ~128 KiB, as the server stops reading), so the client is still
#: writing content when the connection breaks.
MID_DATA_BODY_BYTES = 16 * 2**20


@dataclass(frozen=True)
class Fault:
    name: str
    server: dict[str, Any] = field(default_factory=dict)  # ScriptedSmtpServer options
    rule: Rule | None = None  # the recipient's rule
    status: str = "retry"  # what the caller hears
    state: str = "approved"  # the attempt afterwards (approved = waiting for its retry)
    error_class: str | None = "transient"
    health_event: bool = False  # counts against the mailbox (a mailbox_health event)
    lead: str = "new"
    suppressed: bool = False
    server_copy: bool = False  # the server recorded the message
    timeout: float | None = None
    pinned_by: str = ""
    body_bytes: int = 0  # padding for the body: a message larger than the socket buffers
    counted: str | None = None  # a final refusal counts against the mailbox (never a cap)


FAULTS = [
    Fault("accepted with 250", status="sent", state="sent", error_class=None, lead="contacted",
          server_copy=True,
          pinned_by="test_successful_send_consumes_counters_and_records_everything"),
    Fault("421 at greeting", server={"greeting": "421 4.3.2 Service not available"},
          error_class="connection", health_event=True),
    Fault("450 on RCPT", rule=Rule(rcpt_reply="450 4.2.1 Mailbox busy, try later")),
    Fault("451 on RCPT (greylisting)", rule=Rule(rcpt_reply="451 4.7.1 Greylisted, retry"),
          pinned_by="test_transient_reply_consumes_nothing_and_schedules_a_retry"),
    Fault("451 after DATA", rule=Rule(data_reply="451 4.3.0 Local error in processing")),
    Fault("452 after DATA", rule=Rule(data_reply="452 4.3.1 Insufficient system storage")),
    Fault("550 5.1.1 on RCPT", rule=Rule(rcpt_reply="550 5.1.1 User unknown"), status="failed",
          state="failed", error_class="hard_bounce", lead="bounced", suppressed=True,
          counted="mailbox_bounce",
          pinned_by="test_550_511_is_a_hard_bounce_that_suppresses_and_marks_the_lead"),
    Fault("552 after DATA", rule=Rule(data_reply="552 5.3.4 Message size exceeds limit"),
          status="failed", state="failed", error_class="rejected_message",
          counted="mailbox_soft_bounce"),
    Fault("554 5.7.1 after DATA", rule=Rule(data_reply="554 5.7.1 Message refused as spam"),
          status="failed", state="failed", error_class="rejected_message",
          counted="mailbox_policy"),
    Fault("554 5.7.1 on RCPT (policy, not the address)",
          rule=Rule(rcpt_reply="554 5.7.1 Relay access denied"), status="failed",
          state="failed", error_class="rejected_message", counted="mailbox_policy"),
    Fault("552 5.2.2 on RCPT (mailbox full: soft, not the address)",
          rule=Rule(rcpt_reply="552 5.2.2 Mailbox full"), status="failed", state="failed",
          error_class="rejected_message", counted="mailbox_soft_bounce"),
    Fault("STARTTLS missing", server={"security": "plain"}, error_class="tls", health_event=True,
          pinned_by="test_server_without_starttls_is_refused_not_sent_in_plaintext"),
    Fault("certificate for the wrong host", server={"cert": "wrong_host"}, error_class="tls",
          health_event=True, pinned_by="test_certificate_for_another_host_is_refused"),
    Fault("expired certificate", server={"cert": "expired"}, error_class="tls",
          health_event=True),
    Fault("untrusted certificate", server={"cert": "untrusted"}, error_class="tls",
          health_event=True, pinned_by="test_untrusted_certificate_is_refused"),
    Fault("AUTH failure", server={"users": {SENDER: "another-password"}}, error_class="auth",
          health_event=True,
          pinned_by="test_wrong_password_is_a_mailbox_health_event_not_the_leads"),
    Fault("greeting never comes", server={"tarpit": True}, error_class="connection",
          health_event=True, timeout=SHORT_TIMEOUT),
    # The message was complete at the server: it may be delivered. Never re-sent blindly.
    Fault("stall after DATA", rule=Rule(stall_after_data_seconds=5 * SHORT_TIMEOUT),
          status="unknown", state="unknown", error_class="unknown_outcome", server_copy=True,
          timeout=SHORT_TIMEOUT),
    Fault("drop after DATA", rule=Rule(drop_after_data=True), status="unknown", state="unknown",
          error_class="unknown_outcome", server_copy=True,
          pinned_by="test_connection_dropped_after_data_is_unknown_and_never_resent"),
    # The server drops after one line of content. A message larger than what the socket
    # buffers hold shows the drop while its content is still being written, before the final
    # "." left: the server cannot have it, so it is a plain retry (RFC 5321 §3.8).
    Fault("drop mid-DATA, before the final dot left", rule=Rule(drop_mid_data=True),
          body_bytes=MID_DATA_BODY_BYTES),
    # A short message is handed over whole, "." included, before the drop can show: from
    # the client's side that is a break after the "." and the server may have accepted it
    # (RFC 1047), so unknown, never a retry that could duplicate.
    Fault("drop mid-DATA, the dot already handed over", rule=Rule(drop_mid_data=True),
          status="unknown", state="unknown", error_class="unknown_outcome"),
    # A reply line aiosmtplib cannot read (9,000 bytes: code -1) is never a refusal: on RCPT
    # it is a retry (never a hard bounce that suppresses the address), after DATA the server
    # had the whole message and may have queued it: unknown (a resend could duplicate it).
    Fault("a 9,000-byte 250 on RCPT", rule=Rule(rcpt_reply="250 2.1.5 " + "x" * 9000)),
    Fault("a 9,000-byte 250 after DATA", rule=Rule(data_reply="250 2.0.0 " + "x" * 9000),
          status="unknown", state="unknown", error_class="unknown_outcome", server_copy=True),
]  # fmt: skip


@pytest.fixture(autouse=True)
def smtp_password(monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


def send(engine, padding=0):
    body = "Hi Anna\n" + ("x" * 77 + "\n") * (padding // 78)

    async def run():
        try:
            return await engine.send(SendRequest(SENDER, TO, "Quick question", body))
        finally:
            await engine.transport.close()

    return asyncio.run(run())


def table(engine, tbl, *where):
    with engine.db.connect() as conn:
        return conn.execute(select(tbl).where(*where)).all()


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_smtp_fault_ends_in_the_right_state_and_consumes_nothing_unless_250(
    tmp_path, smtp_server, pki, fault
):
    options = {"security": "starttls", "users": {SENDER: PASSWORD}, **fault.server}
    server = smtp_server(**options)
    if fault.rule is not None:
        server.rules[TO] = fault.rule
    clock = SimulatedClock(START)
    extra = {"smtp_send_timeout": fault.timeout} if fault.timeout else {}
    engine = make_engine(tmp_path, server, pki, clock, **extra)
    try:
        outcome = send(engine, fault.body_bytes)

        (attempt,) = table(engine, t.attempt)
        assert (outcome.status, attempt.state) == (fault.status, fault.state), outcome
        assert attempt.error_class == fault.error_class
        assert outcome.message and "Traceback" not in outcome.message
        # The retry decision.
        if fault.status == "retry":
            assert attempt.retry_count == 1
            assert attempt.next_attempt_at == START + FIRST_RETRY
        else:
            assert attempt.retry_count == 0
        # Nothing consumed unless the final reply was 250; a final refusal is counted
        # against the mailbox once, in its class's counter (core/event_effects.py).
        counters = {(r.scope, r.key): r.count for r in table(engine, t.daily_counter)}
        keys = table(engine, t.idempotency_key)
        if fault.status == "sent":
            assert counters == {("user", engine.operator_id): 1, ("domain", "firma.de"): 1,
                                ("mailbox", SENDER): 1}  # fmt: skip
            assert [k.attempt_id for k in keys] == [attempt.id]
        else:
            assert counters == ({(fault.counted, SENDER): 1} if fault.counted else {})
            assert keys == []
        # The lead's side, and the mailbox's side.
        (lead,) = table(engine, t.lead)
        assert lead.status == fault.lead
        suppressed = [(s.kind, s.value) for s in table(engine, t.suppression)]
        assert suppressed == ([("address", TO)] if fault.suppressed else [])
        health = [
            e.data["error_class"]
            for e in table(engine, t.event, t.event.c.kind == "mailbox_health")
        ]
        assert health == ([fault.error_class] if fault.health_event else [])
        # What the server holds; an unknown outcome is never sent again, even by hand.
        assert len(server.received) == (1 if fault.server_copy else 0)
        if fault.status == "unknown":
            server.rules.clear()
            again = send(engine)
            assert again.status == "blocked"
            assert len(server.received) == (1 if fault.server_copy else 0)
            assert table(engine, t.daily_counter) == []
    finally:
        asyncio.run(engine.aclose())
