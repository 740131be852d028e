"""Injection: CR, LF, NUL (and the other characters Python treats as line breaks) fuzzed into
every field that ends up in a message header or an SMTP command, sent through the real
pipeline to a real aiosmtpd on loopback. What counts is what the server received: the same
header names, each once, as a clean message has, and one MAIL and one RCPT per message. A
poisoned send is refused (audited) or goes out with the value intact on one header line;
never an extra header or command.

And the CSV exports: every formula prefix (=, +, -, @, TAB, CR, NUL) is neutralised.
"""

from __future__ import annotations

import asyncio
import csv
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select, update

from outreach_tui.db import tables as t
from outreach_tui.engine.clock import SimulatedClock
from outreach_tui.engine.sending.pipeline import SendRequest
from outreach_tui.engine.views.exports import EXPORTS, export_csv
from tests.functional.helpers import PASSWORD, PASSWORD_ENV, SENDER, START, make_engine

#: Line breaks for RFC 5322 and SMTP, plus what `str.splitlines` also splits on (a folding
#: routine that splits lines would turn them into header breaks too).
BREAKS = ["\r", "\n", "\r\n", "\x00", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85",
          "\u2028", "\u2029"]  # fmt: skip
_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=12)
#: A value with at least one break, often followed by something that looks like a header.
poisoned = st.builds(
    lambda a, br, tail: a + br + tail,
    _text,
    st.sampled_from(BREAKS),
    st.sampled_from(["Bcc: victim@evil.test", "X-Injected: 1", "", " folded", "RCPT TO:<e@v.l>"]),
)
FIELDS = ["subject", "recipient", "from_name", "in_reply_to", "references", "unsubscribe_url"]
SLOW = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(autouse=True)
def smtp_password(monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


@pytest.fixture
def world(tmp_path, smtp_server, pki):
    server = smtp_server(security="starttls", users={SENDER: PASSWORD})
    clock = SimulatedClock(START)
    engine = make_engine(tmp_path, server, pki, clock, verify={"required": False},
                         sending={"unsubscribe_url": "https://u.example/{email}"})  # fmt: skip
    yield server, engine, clock
    asyncio.run(engine.aclose())


def send(engine, request):
    async def run():
        try:
            return await engine.send(request)
        finally:
            await engine.transport.close()

    return asyncio.run(run())


def header_names(message) -> Counter[str]:
    return Counter(name.lower() for name in message.parsed())


def assert_clean_wire(server, baseline: Counter[str], messages_before: int) -> None:
    received = server.received
    for message in received[messages_before:]:
        assert header_names(message) == baseline, message.data[:600]
        head = message.data.split(b"\r\n\r\n", 1)[0]
        assert b"\x00" not in head
        for line in head.split(b"\r\n"):
            assert line[:1] in (b" ", b"\t") or b":" in line, line  # a header or its fold
            assert not line.lower().startswith((b"bcc:", b"x-injected:", b"rcpt")), line
    commands = Counter(c.split(b" ", 1)[0].upper().strip() for c in server.raw_commands)
    assert commands[b"MAIL"] == commands[b"RCPT"] == len(received)
    assert all(c.endswith(b"\r\n") and c.count(b"\n") == 1 for c in server.raw_commands)


@SLOW
@given(field=st.sampled_from(FIELDS), value=poisoned, n=st.integers(0, 10**9))
def test_breaks_in_header_fields_never_reach_the_wire(world, field, value, n):
    server, engine, clock = world
    clock.advance(hours=25)  # a fresh idempotency window for every example
    # A clean message first: the header names every message must have.
    before = server.received_count
    clean = send(engine, SendRequest(SENDER, f"clean{n}@example.com", f"Hello {n}", "Hi"))
    assert clean.sent, clean
    baseline = header_names(server.received[-1])

    fields = {"subject": f"Hello {n}", "recipient": f"lead{n}@example.com",
              "in_reply_to": None, "references": None}  # fmt: skip
    restore: dict[str, object] = {}
    if field == "from_name":
        with engine.db.begin() as conn:
            conn.execute(update(t.mailbox).values(from_name=value))
    elif field == "unsubscribe_url":
        restore = {"unsubscribe_url": engine.settings.sending.unsubscribe_url}
        object.__setattr__(engine.settings.sending, "unsubscribe_url", "https://u.example/" + value)
    else:
        fields[field] = value
    try:
        outcome = send(
            engine,
            SendRequest(SENDER, fields["recipient"], fields["subject"], "Body",
                        in_reply_to=fields["in_reply_to"], references=fields["references"]),
        )  # fmt: skip
    finally:
        with engine.db.begin() as conn:
            conn.execute(update(t.mailbox).values(from_name="Alex"))
        for key, old in restore.items():
            object.__setattr__(engine.settings.sending, key, old)

    assert outcome.status in ("sent", "blocked"), outcome
    assert "Traceback" not in outcome.message
    assert_clean_wire(server, baseline, before)


@SLOW
@given(column=st.sampled_from(["first_name", "company", "last_name"]), value=poisoned)
def test_breaks_in_template_variables_never_reach_the_wire(world, column, value):
    """A lead's fields reach the subject through the campaign's template; they are written
    straight to the database here, as a path that skips the CSV checks (a webhook, an older
    version) would, so the pipeline's own check is what is tested."""
    server, engine, clock = world
    clock.advance(hours=25)
    before = server.received_count
    assert send(engine, SendRequest(SENDER, "clean@example.com", f"c {clock.now()}", "b")).sent
    baseline = header_names(server.received[-1])

    from tests.functional.campaign_helpers import ALWAYS_OPEN, create_campaign, write_campaign

    name = f"C{clock.now():%j%H%M%S}"
    path = write_campaign(
        engine.settings.logging.file.parent,
        f'name = "{name}"\ntimezone = "UTC"\npostal_address = "Main St"\n{ALWAYS_OPEN}\n'
        '[[steps]]\nsubject = "Hi {{first_name|x}} {{last_name|y}} at {{company|z}}"\n'
        'body = "Hello"\n',
        name=f"{name}.toml",
    )
    campaign_id = create_campaign(engine, path)
    email = f"{name.lower()}@example.com"
    with engine.db.begin() as conn:
        lead_id = conn.execute(
            insert(t.lead).values(email=email, domain="example.com", status="new",
                                  source="test", created_at=clock.now(), **{column: value})
        ).inserted_primary_key[0]  # fmt: skip
        conn.execute(
            insert(t.campaign_lead).values(
                campaign_id=campaign_id, lead_id=lead_id, state="active", next_step=1,
                updated_at=clock.now(),
            )
        )  # fmt: skip
    engine.plan()

    async def dispatch():
        try:
            return await engine.dispatch()
        finally:
            await engine.transport.close()

    asyncio.run(dispatch())
    with engine.db.connect() as conn:
        states = (
            conn.execute(select(t.attempt.c.state).where(t.attempt.c.lead_id == lead_id))
            .scalars()
            .all()
        )
    assert states in (["sent"], ["rejected"]), states  # the step was tried, one way or the other
    assert_clean_wire(server, baseline, before)


# --- CSV exports -------------------------------------------------------------------------------

PREFIXES = ["=", "+", "-", "@", "\t", "\r", "\x00"]


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(prefix=st.sampled_from(PREFIXES), rest=st.text(max_size=20))
def test_every_export_neutralises_formula_prefixes(tmp_path_factory, prefix, rest):
    tmp = tmp_path_factory.mktemp("export")
    from outreach_tui.db import migrate
    from outreach_tui.db.session import make_engine as make_db

    db = make_db(f"sqlite:///{tmp / 'e.db'}")
    migrate.upgrade(db)
    evil = prefix + rest
    try:
        with db.begin() as conn:
            lead_id = conn.execute(
                insert(t.lead).values(email="f@example.com", domain="example.com", status="new",
                                      first_name=evil, company=evil, source=evil,
                                      created_at=START)
            ).inserted_primary_key[0]  # fmt: skip
            conn.execute(
                insert(t.suppression).values(kind="address", value="s@example.com", reason=evil,
                                             source=evil, created_at=START, created_by=evil)
            )  # fmt: skip
            conn.execute(
                insert(t.audit_log).values(user_id=evil, lead_email="f@example.com",
                                           subject=evil, policy_result="blocked", reason=evil,
                                           timestamp=START)
            )  # fmt: skip
            conn.execute(
                insert(t.attempt).values(lead_id=lead_id, operator_id=evil, sender_email=SENDER,
                                         recipient_email="f@example.com",
                                         recipient_domain="example.com", subject=evil,
                                         body=evil, idempotency_key="k", state="sent",
                                         message_id="<m@x>", retry_count=0, created_at=START,
                                         updated_at=START, error_detail=evil)
            )  # fmt: skip
        for what in EXPORTS:
            out = tmp / f"{what}.csv"
            export_csv(db, what, out)
            with out.open(encoding="utf-8", newline="") as fh:
                rows = list(csv.reader(fh))
            cells = [cell for row in rows[1:] for cell in row]
            assert cells, what
            for cell in cells:
                assert not cell.startswith(tuple(PREFIXES)), (what, cell)
            assert any(cell == "'" + evil for cell in cells), (what, evil)
    finally:
        db.dispose()
