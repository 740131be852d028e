"""The send pipeline against a real aiosmtpd server on loopback (STARTTLS + AUTH, a CA made
at run time, certificate verification on)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlmodel import SQLModel

from outreach_tui.core.states import AttemptState
from outreach_tui.db import tables as t
from outreach_tui.engine.clock import SimulatedClock
from outreach_tui.engine.sending.pipeline import SendRequest
from tests.functional.helpers import PASSWORD, PASSWORD_ENV, SENDER, START, make_engine
from tests.servers.smtp import Rule


@pytest.fixture(autouse=True)
def smtp_password(monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


@pytest.fixture
def server(smtp_server):
    return smtp_server(security="starttls", users={SENDER: PASSWORD})


@pytest.fixture
def clock():
    return SimulatedClock(START)


@pytest.fixture
def engine(tmp_path, server, pki, clock):
    eng = make_engine(tmp_path, server, pki, clock)
    yield eng
    asyncio.run(eng.aclose())


def send(engine, to="anna@firma.de", subject="Quick question", body="Hi Anna,\nhello.\n"):
    async def run():
        try:
            return await engine.send(SendRequest(SENDER, to, subject, body))
        finally:
            await engine.transport.close()

    return asyncio.run(run())


def scalar(engine, query):
    with engine.db.connect() as conn:
        return conn.execute(query).scalar()


def rows(engine, table, *where):
    with engine.db.connect() as conn:
        return conn.execute(select(table).where(*where)).all()


def counters(engine):
    with engine.db.connect() as conn:
        return {(r.scope, r.key): r.count for r in conn.execute(select(t.daily_counter))}


def attempt(engine, attempt_id):
    (row,) = rows(engine, t.attempt, t.attempt.c.id == attempt_id)
    return row


def test_successful_send_consumes_counters_and_records_everything(engine, server):
    outcome = send(engine)

    assert outcome.sent, outcome
    row = attempt(engine, outcome.attempt_id)
    assert row.state == AttemptState.SENT and row.smtp_code == 250 and row.sent_at is not None
    assert counters(engine) == {
        ("user", engine.operator_id): 1,
        ("domain", "firma.de"): 1,
        ("mailbox", SENDER): 1,
    }
    assert scalar(engine, select(t.lead.c.status)) == "contacted"
    assert scalar(engine, select(func.count()).select_from(t.idempotency_key)) == 1
    (audit,) = rows(engine, t.audit_log)
    assert (audit.policy_result, audit.legal_basis, audit.user_id) == (
        "allowed",
        "consent",
        engine.operator_id,
    )
    (received,) = server.received
    assert received.tls and received.auth_user == SENDER
    assert received.rcpt_tos == ["anna@firma.de"] and received.mail_from == SENDER
    message = received.parsed()
    assert message["Message-ID"] == row.message_id
    assert message["Date"] and message["Subject"] == "Quick question"
    assert "mailto:alex@brand-news.com?subject=unsubscribe" in message["List-Unsubscribe"]


def test_one_click_unsubscribe_and_postal_footer_when_configured(tmp_path, server, pki, clock):
    engine = make_engine(
        tmp_path,
        server,
        pki,
        clock,
        sending={
            "unsubscribe_url": "https://u.example/{email}",
            "postal_address": "Example Ltd, Main St",
        },
    )
    try:
        assert send(engine).sent
    finally:
        asyncio.run(engine.aclose())
    message = server.received[0].parsed()
    assert "<https://u.example/anna%40firma.de>" in message["List-Unsubscribe"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Example Ltd, Main St" in message.get_content()


def test_message_ids_are_unique(engine, server):
    send(engine, subject="one")
    send(engine, subject="two")
    ids = [m.parsed()["Message-ID"] for m in server.received]
    assert len(set(ids)) == 2


def test_connection_is_reused_for_one_mailbox(engine, server):
    async def two():
        try:
            for subject in ("first", "second"):
                assert (await engine.send(SendRequest(SENDER, "bob@x.com", subject, "b"))).sent
        finally:
            await engine.transport.close()

    asyncio.run(two())
    assert len(server.received) == 2 and server.sessions_started == 1


@pytest.mark.parametrize("reply", ["451 4.7.1 Try again later", "421 4.3.2 Shutting down"])
def test_transient_reply_consumes_nothing_and_schedules_a_retry(engine, server, clock, reply):
    server.rules["anna@firma.de"] = Rule(rcpt_reply=reply)

    outcome = send(engine)

    assert outcome.status == "retry" and outcome.error_class == "transient"
    row = attempt(engine, outcome.attempt_id)
    assert row.state == AttemptState.APPROVED and row.retry_count == 1
    assert row.next_attempt_at == clock.now() + timedelta(seconds=300)
    assert counters(engine) == {}
    assert scalar(engine, select(func.count()).select_from(t.idempotency_key)) == 0
    assert scalar(engine, select(t.lead.c.status)) == "new"
    assert server.received == []


def test_retry_is_sent_once_due(engine, server, clock):
    server.rules["anna@firma.de"] = Rule(rcpt_reply="451 4.7.1 Greylisted")
    first = send(engine)
    server.rules.clear()

    async def retry():
        try:
            return await engine.send_attempt(first.attempt_id)
        finally:
            await engine.transport.close()

    assert asyncio.run(retry()).status == "skipped"  # not due yet
    clock.advance(301)
    assert asyncio.run(retry()).sent
    assert len(server.received) == 1 and counters(engine)[("domain", "firma.de")] == 1


def test_550_511_is_a_hard_bounce_that_suppresses_and_marks_the_lead(engine, server):
    server.rules["anna@firma.de"] = Rule(rcpt_reply="550 5.1.1 User unknown")

    outcome = send(engine)

    assert outcome.status == "failed" and outcome.error_class == "hard_bounce"
    assert attempt(engine, outcome.attempt_id).state == AttemptState.FAILED
    (entry,) = rows(engine, t.suppression)
    assert (entry.kind, entry.value) == ("address", "anna@firma.de")
    assert scalar(engine, select(t.lead.c.status)) == "bounced"
    # No cap is consumed; the refusal counts against the mailbox, one-off send or not.
    assert counters(engine) == {("mailbox_bounce", "alex@brand-news.com"): 1}
    assert send(engine, subject="again").status == "blocked"


def test_connection_dropped_after_data_is_unknown_and_never_resent(engine, server):
    server.rules["anna@firma.de"] = Rule(drop_after_data=True)

    outcome = send(engine)

    assert outcome.status == "unknown"
    row = attempt(engine, outcome.attempt_id)
    assert row.state == AttemptState.UNKNOWN and counters(engine) == {}
    assert len(server.received) == 1  # the server did get it: a resend would duplicate

    async def again():
        try:
            return await engine.send_attempt(outcome.attempt_id)
        finally:
            await engine.transport.close()

    assert asyncio.run(again()).status == "skipped"
    server.rules.clear()
    assert send(engine).status == "blocked"  # same (sender, recipient, subject): maybe delivered
    assert len(server.received) == 1


def test_untrusted_certificate_is_refused(tmp_path, smtp_server, pki, clock):
    server = smtp_server(security="starttls", cert="untrusted", users={SENDER: PASSWORD})
    engine = make_engine(tmp_path, server, pki, clock)
    try:
        outcome = send(engine)
        assert outcome.status == "retry" and outcome.error_class == "tls"
        assert _health_events(engine) == ["tls"]
    finally:
        asyncio.run(engine.aclose())
    assert server.received == [] and server.auth_successes == 0


def test_certificate_for_another_host_is_refused(tmp_path, smtp_server, pki, clock):
    server = smtp_server(security="starttls", cert="wrong_host", users={SENDER: PASSWORD})
    engine = make_engine(tmp_path, server, pki, clock)
    try:
        assert send(engine).error_class == "tls"
    finally:
        asyncio.run(engine.aclose())
    assert server.received == []


def test_server_without_starttls_is_refused_not_sent_in_plaintext(
    tmp_path, smtp_server, pki, clock
):
    server = smtp_server(security="plain", users={SENDER: PASSWORD})
    engine = make_engine(tmp_path, server, pki, clock)
    try:
        outcome = send(engine)
        assert outcome.error_class == "tls" and outcome.status == "retry"
    finally:
        asyncio.run(engine.aclose())
    assert server.received == [] and server.auth_successes == 0
    assert not any(cmd.upper().startswith(b"AUTH") for cmd in server.raw_commands)


def test_implicit_tls_on_a_465_style_server(tmp_path, smtp_server, pki, clock):
    server = smtp_server(security="tls", users={SENDER: PASSWORD})
    engine = make_engine(tmp_path, server, pki, clock)
    try:
        assert send(engine).sent
    finally:
        asyncio.run(engine.aclose())
    assert server.received[0].tls


def test_wrong_password_is_a_mailbox_health_event_not_the_leads(tmp_path, smtp_server, pki, clock):
    server = smtp_server(security="starttls", users={SENDER: "another-password"})
    engine = make_engine(tmp_path, server, pki, clock)
    try:
        outcome = send(engine)
        assert outcome.status == "retry" and outcome.error_class == "auth"
        assert _health_events(engine) == ["auth"]
        assert scalar(engine, select(t.lead.c.status)) == "new"
        assert rows(engine, t.suppression) == [] and counters(engine) == {}
        assert "password" not in outcome.message.lower() or "authentication" in outcome.message
    finally:
        asyncio.run(engine.aclose())
    assert server.auth_failures >= 1


def test_second_identical_send_within_24h_is_blocked_and_audited(engine, server, clock):
    assert send(engine).sent
    clock.advance(hours=23)

    blocked = send(engine)

    assert blocked.status == "blocked" and "within 24 h" in blocked.message
    audits = rows(engine, t.audit_log, t.audit_log.c.policy_result == "blocked")
    assert len(audits) == 1 and audits[0].lead_email == "anna@firma.de"
    assert audits[0].reason == blocked.message
    clock.advance(hours=2)
    assert send(engine).sent
    assert len(server.received) == 2


def test_twenty_first_send_to_one_recipient_domain_in_a_day_is_blocked(engine, server):
    for i in range(20):
        assert send(engine, to=f"p{i}@bigcorp.com").sent
    blocked = send(engine, to="p20@bigcorp.com")
    assert blocked.status == "blocked" and "bigcorp.com" in blocked.message
    assert blocked.decision.daily_domain_count == 20
    (audit,) = rows(engine, t.audit_log, t.audit_log.c.policy_result == "blocked")
    assert audit.lead_email == "p20@bigcorp.com" and "daily cap" in audit.reason
    assert len(server.received) == 20


def test_domain_cap_resets_at_midnight_in_the_operators_timezone(tmp_path, server, pki):
    clock = SimulatedClock(START.replace(hour=22, minute=30))  # 23:30 in Berlin (CET)
    engine = make_engine(
        tmp_path,
        server,
        pki,
        clock,
        operator={"timezone": "Europe/Berlin"},
        policy={"daily_domain_cap": 1},
    )
    try:
        assert send(engine, to="a@cap.com").sent
        assert send(engine, to="b@cap.com").status == "blocked"
        clock.advance(minutes=31)  # 00:01 in Berlin, still 23:01 UTC
        assert send(engine, to="c@cap.com").sent
    finally:
        asyncio.run(engine.aclose())


def test_a_send_of_today_left_unknown_counts_against_the_caps_until_settled(tmp_path, server, pki):
    """It may have been delivered: counting it keeps "never over the cap" true even then.
    Yesterday's unknown sends count against yesterday, not today."""
    clock = SimulatedClock(START)
    engine = make_engine(tmp_path, server, pki, clock, policy={"daily_domain_cap": 2})
    try:
        yesterday = send(engine, to="old@cap.com")
        clock.advance(days=1)
        first = send(engine, to="a@cap.com")
        assert yesterday.sent and first.sent
        with engine.db.begin() as conn:  # as after a crash mid-send, or a drop after DATA
            conn.execute(
                t.attempt.update()
                .where(t.attempt.c.id.in_([yesterday.attempt_id, first.attempt_id]))
                .values(state=AttemptState.UNKNOWN.value)
            )
            conn.execute(t.daily_counter.delete())  # an unknown send was never counted
        assert send(engine, to="b@cap.com").sent  # today: 1 unknown + this one = 2
        held = send(engine, to="c@cap.com")
        assert held.status == "blocked" and "cap.com" in held.message
    finally:
        asyncio.run(engine.aclose())


def test_legal_basis_follows_the_recipient_region(engine):
    de = send(engine, to="anna@firma.de")
    com = send(engine, to="bob@example.com")
    assert (attempt(engine, de.attempt_id).legal_basis, attempt(engine, de.attempt_id).region) == (
        "consent",
        "EU",
    )
    assert attempt(engine, com.attempt_id).legal_basis == "legitimate_interest"


@pytest.mark.parametrize("subject", ["Hi\r\nBcc: victim@evil.test", "Hi\nX-Injected: 1"])
def test_header_injection_is_rejected_before_anything_is_written_or_sent(engine, server, subject):
    outcome = send(engine, subject=subject)
    assert outcome.status == "blocked" and "Subject" in outcome.message
    assert rows(engine, t.attempt) == [] and server.received == []
    (audit,) = rows(engine, t.audit_log)
    assert audit.policy_result == "blocked" and "Subject" in audit.reason


def test_attempt_row_is_committed_before_the_server_sees_data(tmp_path, smtp_server, pki, clock):
    server = smtp_server(security="starttls", users={SENDER: PASSWORD})
    engine = make_engine(tmp_path, server, pki, clock)
    seen: list[str] = []

    def on_data(envelope):  # runs in the server thread while DATA is being received
        from sqlalchemy import create_engine

        other = create_engine(str(engine.db.url))
        with other.connect() as conn:
            seen.extend(r[0] for r in conn.execute(select(t.attempt.c.state)))
        other.dispose()

    server.on_data = on_data
    try:
        assert send(engine).sent
    finally:
        asyncio.run(engine.aclose())
    assert seen == ["sending"]


def test_interrupted_send_becomes_unknown_at_start_up(tmp_path, server, pki, clock):
    engine = make_engine(tmp_path, server, pki, clock)
    assert send(engine).sent
    with engine.db.begin() as conn:
        conn.execute(t.attempt.update().values(state="sending"))
    asyncio.run(engine.aclose())

    restarted = make_engine(tmp_path, server, pki, clock)
    try:
        assert len(restarted.recovered_unknown) == 1
        assert scalar(restarted, select(t.attempt.c.state)) == "unknown"
    finally:
        asyncio.run(restarted.aclose())


def test_no_password_in_the_database_or_the_log(tmp_path, engine, server):
    send(engine)
    send(engine, to="x@y.com", subject="other")
    asyncio.run(engine.transport.close())
    if engine.db.dialect.name != "sqlite":  # a server's database: read every row instead
        with engine.db.connect() as conn:
            for table in SQLModel.metadata.sorted_tables:
                dump = repr(conn.execute(select(table)).all())
                assert PASSWORD not in dump, f"password found in table {table.name}"
    engine.db.dispose()
    secret = PASSWORD.encode()
    files = [p for p in tmp_path.iterdir() if p.is_file()]
    assert any(p.name == "outreach.log" and p.stat().st_size > 0 for p in files)
    if engine.db.dialect.name == "sqlite":
        assert any(p.name.startswith("outreach.db") for p in files)
    for path in files:
        assert secret not in path.read_bytes(), f"password found in {path.name}"


def _health_events(engine):
    return [
        r.data["error_class"] for r in rows(engine, t.event, t.event.c.kind == "mailbox_health")
    ]
