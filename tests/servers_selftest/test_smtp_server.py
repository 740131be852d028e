"""Self-tests for the loopback SMTP fixtures, using aiosmtplib as an independent client.

Why: the client tests built on these servers are only as trustworthy as the servers' scripted
behaviour. Each test pins one behaviour a client test will rely on. Tests are plain sync
functions running the client in a fresh loop (``run_async``) so they do not depend on
pytest-asyncio configuration.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiosmtplib
import pytest

from tests.servers.aio import run_async
from tests.servers.conftest_fixtures import SmtpServerFactory
from tests.servers.pki import TestPKI
from tests.servers.smtp import ReceivedMessage, Rule, ScriptedSmtpServer

USER, PASSWORD = "sender@example.test", "correct horse"
USERS = {USER: PASSWORD}
FROM = "sender@example.test"
TO = "lead@example.test"
MESSAGE = (
    b"From: Sender <sender@example.test>\r\n"
    b"To: Lead <lead@example.test>\r\n"
    b"Subject: Hello there\r\n"
    b"Message-ID: <selftest@example.test>\r\n"
    b"\r\n"
    b"Hi,\r\n"
    b".leading dot line\r\n"
    b"Bye\r\n"
)

T = TypeVar("T")


def run(coro_fn: Callable[[], Awaitable[T]]) -> T:
    """Run one client coroutine in a fresh loop (no pytest-asyncio needed), leak-free."""
    return run_async(coro_fn)


def client_for(
    server: ScriptedSmtpServer, pki: TestPKI, *, timeout: float = 5.0, **overrides: Any
) -> aiosmtplib.SMTP:
    """A verifying client matching the server's security mode (host name: ``localhost``)."""
    options: dict[str, Any] = {
        "hostname": "localhost",
        "port": server.port,
        "tls_context": pki.client_context(),
        "validate_certs": True,
        "timeout": timeout,
    }
    if server.security == "tls":
        options["use_tls"] = True
    else:
        options["start_tls"] = True
    options.update(overrides)
    return aiosmtplib.SMTP(**options)


async def send(
    server: ScriptedSmtpServer,
    pki: TestPKI,
    *,
    recipients: list[str] | None = None,
    user: str | None = USER,
    password: str = PASSWORD,
    timeout: float = 5.0,
) -> tuple[dict[str, Any], str]:
    """Connect, authenticate, send MESSAGE, QUIT; always release the connection."""
    client = client_for(server, pki, timeout=timeout)
    try:
        await client.connect()
        if user is not None:
            await client.login(user, password)
        result = await client.sendmail(FROM, recipients or [TO], MESSAGE)
        await client.quit()
        return result
    finally:
        client.close()


def exception_chain(error: BaseException) -> list[BaseException]:
    """The error and everything it was raised from / while handling."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


# --------------------------------------------------------------------------- happy paths


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_good_send_is_received_with_auth_user_and_tls(
    smtp_server: SmtpServerFactory, pki: TestPKI, security: str
) -> None:
    server = smtp_server(security=security, users=USERS)
    errors, reply = run(lambda: send(server, pki))

    assert errors == {}
    assert reply.startswith("2.0.0")
    [message] = server.received
    assert server.received_count == 1
    assert message == ReceivedMessage(
        mail_from=FROM, rcpt_tos=[TO], data=MESSAGE, auth_user=USER, tls=True
    )
    parsed = message.parsed()
    assert parsed["Subject"] == "Hello there"
    assert ".leading dot line" in parsed.get_content()
    assert server.sessions_started == 1
    assert server.sessions_quit == 1
    assert server.auth_failures == 0
    assert server.host == "127.0.0.1"


def test_starttls_listener_refuses_mail_before_starttls_and_hides_auth(
    smtp_server: SmtpServerFactory, pki: TestPKI
) -> None:
    server = smtp_server(security="starttls", users=USERS)

    async def scenario() -> tuple[bool, bool, int]:
        client = client_for(server, pki, start_tls=False)
        try:
            await client.connect()
            await client.ehlo()
            offers = (client.supports_extension("starttls"), client.supports_extension("auth"))
            response = await client.execute_command(b"MAIL", b"FROM:<" + FROM.encode() + b">")
            await client.quit()
            return offers[0], offers[1], response.code
        finally:
            client.close()

    starttls, auth, mail_code = run(scenario)
    assert starttls is True
    assert auth is False
    assert mail_code == 530


def test_unauthenticated_mail_is_refused_when_users_are_set(
    smtp_server: SmtpServerFactory, pki: TestPKI
) -> None:
    server = smtp_server(users=USERS)
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as info:
        run(lambda: send(server, pki, user=None))
    assert info.value.code == 530
    assert server.received == []


def test_auth_login_mechanism_works(smtp_server: SmtpServerFactory, pki: TestPKI) -> None:
    server = smtp_server(users=USERS)

    async def scenario() -> None:
        client = client_for(server, pki)
        try:
            await client.connect()
            await client.ehlo()  # connect() did STARTTLS; auth_login() does not re-EHLO itself
            await client.auth_login(USER, PASSWORD)
            await client.sendmail(FROM, [TO], MESSAGE)
            await client.quit()
        finally:
            client.close()

    run(scenario)
    assert [m.auth_user for m in server.received] == [USER]
    # aiosmtplib puts the user name on the AUTH line; the password goes on a continuation
    # line, which is not a command and so is not recorded.
    [auth_line] = server.commands_named("AUTH")
    assert auth_line.startswith(b"AUTH LOGIN ")
    assert all(b"Y29ycmVjdCBob3JzZQ" not in c for c in server.raw_commands)  # b64(password)


def test_raw_commands_record_command_lines_but_not_content(
    smtp_server: SmtpServerFactory, pki: TestPKI
) -> None:
    server = smtp_server(users=USERS)
    run(lambda: send(server, pki))

    verbs = [c.split(b" ", 1)[0].strip() for c in server.raw_commands]
    assert verbs == [b"EHLO", b"STARTTLS", b"EHLO", b"AUTH", b"MAIL", b"RCPT", b"DATA", b"QUIT"]
    assert server.commands_named("rcpt") == [b"RCPT TO:<lead@example.test>\r\n"]
    assert not any(b"Subject" in c for c in server.raw_commands)


def test_quit_is_counted_only_when_sent(smtp_server: SmtpServerFactory, pki: TestPKI) -> None:
    server = smtp_server(users=USERS)

    async def hang_up_without_quit() -> None:
        client = client_for(server, pki)
        try:
            await client.connect()
        finally:
            client.close()

    run(hang_up_without_quit)
    server.wait_until(lambda s: s.active_sessions == 0)
    assert (server.sessions_started, server.sessions_quit) == (1, 0)

    run(lambda: send(server, pki))
    assert (server.sessions_started, server.sessions_quit) == (2, 1)


def test_concurrent_sessions_are_counted(smtp_server: SmtpServerFactory, pki: TestPKI) -> None:
    server = smtp_server(users=USERS, default_rule=Rule(reply_delay_seconds=0.2))

    async def three_at_once() -> None:
        await asyncio.gather(*(send(server, pki) for _ in range(3)))

    run(three_at_once)
    assert len(server.received) == 3
    assert server.max_concurrent_sessions == 3
    server.wait_until(lambda s: s.active_sessions == 0)

    server.reset_counters()
    assert (server.received, server.sessions_started, server.max_concurrent_sessions) == ([], 0, 0)


# --------------------------------------------------------------------------- scripted replies


def test_unknown_recipient_gets_550_at_rcpt(smtp_server: SmtpServerFactory, pki: TestPKI) -> None:
    server = smtp_server(
        users=USERS, rules={"Nobody@Example.test": Rule(rcpt_reply="550 5.1.1 User unknown")}
    )
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as info:
        run(lambda: send(server, pki, recipients=["nobody@example.test"]))
    [refused] = info.value.recipients
    assert (refused.code, refused.message) == (550, "5.1.1 User unknown")
    assert server.received == []


def test_rules_are_per_recipient(smtp_server: SmtpServerFactory, pki: TestPKI) -> None:
    server = smtp_server(
        users=USERS, rules={"busy@example.test": Rule(rcpt_reply="451 4.7.1 Try later")}
    )
    errors, _ = run(lambda: send(server, pki, recipients=["busy@example.test", TO]))
    assert errors["busy@example.test"].code == 451
    [message] = server.received
    assert message.rcpt_tos == [TO]


def test_data_reply_refuses_message(smtp_server: SmtpServerFactory, pki: TestPKI) -> None:
    server = smtp_server(users=USERS, default_rule=Rule(data_reply="554 5.7.1 Refused"))
    with pytest.raises(aiosmtplib.SMTPDataError) as info:
        run(lambda: send(server, pki))
    assert info.value.code == 554
    assert server.received == []


def test_mail_reply_refuses_sender(smtp_server: SmtpServerFactory, pki: TestPKI) -> None:
    server = smtp_server(users=USERS, mail_reply="451 4.3.0 Sender temporarily rejected")
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as info:
        run(lambda: send(server, pki))
    assert info.value.code == 451


def test_rules_can_be_edited_on_a_running_server(
    smtp_server: SmtpServerFactory, pki: TestPKI
) -> None:
    server = smtp_server(users=USERS)
    server.rules[TO.upper()] = Rule(data_reply="452 4.3.1 full")  # keys are case-insensitive
    with pytest.raises(aiosmtplib.SMTPDataError) as info:
        run(lambda: send(server, pki))
    assert info.value.code == 452

    server.rules.clear()
    server.default_rule = Rule(rcpt_reply="550 5.7.1 Nobody here")
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
        run(lambda: send(server, pki))

    server.default_rule = Rule()
    run(lambda: send(server, pki))
    assert len(server.received) == 1


def test_on_data_hook_runs_before_the_reply(smtp_server: SmtpServerFactory, pki: TestPKI) -> None:
    server = smtp_server(users=USERS)
    seen: list[tuple[list[str], int]] = []
    server.on_data = lambda envelope: seen.append((list(envelope.rcpt_tos), len(server.received)))
    run(lambda: send(server, pki))
    assert seen == [([TO], 0)]  # called before the message was recorded / answered
    assert len(server.received) == 1


def test_reply_delay_slows_rcpt_and_data(smtp_server: SmtpServerFactory, pki: TestPKI) -> None:
    server = smtp_server(users=USERS, default_rule=Rule(reply_delay_seconds=0.15))
    started = time.monotonic()
    run(lambda: send(server, pki))
    assert time.monotonic() - started >= 0.3  # one delay before RCPT's reply, one before DATA's
    assert len(server.received) == 1


# --------------------------------------------------------------------------- broken connections


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_drop_after_data_records_message_but_client_sees_disconnect(
    smtp_server: SmtpServerFactory, pki: TestPKI, security: str
) -> None:
    server = smtp_server(security=security, users=USERS, default_rule=Rule(drop_after_data=True))
    with pytest.raises(aiosmtplib.SMTPServerDisconnected):
        run(lambda: send(server, pki))
    [message] = server.received
    assert message.data == MESSAGE
    assert server.sessions_quit == 0


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_drop_mid_data_records_nothing(
    smtp_server: SmtpServerFactory, pki: TestPKI, security: str
) -> None:
    server = smtp_server(security=security, users=USERS, default_rule=Rule(drop_mid_data=True))
    with pytest.raises(aiosmtplib.SMTPServerDisconnected):
        run(lambda: send(server, pki))
    assert server.received == []


def test_stall_after_data_times_the_client_out_after_the_message_was_received(
    smtp_server: SmtpServerFactory, pki: TestPKI
) -> None:
    server = smtp_server(users=USERS, default_rule=Rule(stall_after_data_seconds=3))
    started = time.monotonic()
    with pytest.raises(aiosmtplib.SMTPTimeoutError):
        run(lambda: send(server, pki, timeout=0.5))
    assert time.monotonic() - started < 2.5
    assert len(server.received) == 1


@pytest.mark.parametrize("security", ["starttls", "tls", "plain"])
def test_tarpit_times_the_client_out(
    smtp_server: SmtpServerFactory, pki: TestPKI, security: str
) -> None:
    server = smtp_server(security=security, tarpit=True)
    started = time.monotonic()
    with pytest.raises(aiosmtplib.SMTPTimeoutError):
        run(lambda: send(server, pki, timeout=0.3))
    assert time.monotonic() - started < 2
    assert server.connections_accepted == 1
    assert server.raw_commands == []


@pytest.mark.parametrize("security", ["starttls", "tls", "plain"])
def test_greeting_421_makes_connect_fail(
    smtp_server: SmtpServerFactory, pki: TestPKI, security: str
) -> None:
    server = smtp_server(security=security, greeting="421 4.3.2 Service not available")
    with pytest.raises(aiosmtplib.SMTPConnectResponseError) as info:
        run(lambda: send(server, pki))
    assert info.value.code == 421


# --------------------------------------------------------------------------- TLS and auth


@pytest.mark.parametrize("security", ["starttls", "tls"])
@pytest.mark.parametrize("cert", ["untrusted", "wrong_host", "expired"])
def test_bad_certificates_fail_verification(
    smtp_server: SmtpServerFactory, pki: TestPKI, security: str, cert: str
) -> None:
    server = smtp_server(security=security, cert=cert, users=USERS)
    with pytest.raises(Exception) as info:  # the wrapper type is aiosmtplib's choice
        run(lambda: send(server, pki))
    verification_errors = [
        e for e in exception_chain(info.value) if isinstance(e, ssl.SSLCertVerificationError)
    ]
    assert verification_errors, f"no SSLCertVerificationError in {exception_chain(info.value)!r}"
    expected = {
        "untrusted": "unable to get local issuer certificate",
        "wrong_host": "Hostname mismatch",
        "expired": "certificate has expired",
    }[cert]
    assert expected in str(verification_errors[0])
    assert server.received == []
    assert server.auth_failures == 0 and server.auth_successes == 0


def test_good_certificate_also_verifies_by_ip_address(
    smtp_server: SmtpServerFactory, pki: TestPKI
) -> None:
    server = smtp_server(security="tls", users=USERS)

    async def scenario() -> None:
        client = client_for(server, pki, hostname="127.0.0.1")
        try:
            await client.connect()
            await client.quit()
        finally:
            client.close()

    run(scenario)
    assert server.sessions_quit == 1


def test_plain_server_never_offers_starttls(smtp_server: SmtpServerFactory, pki: TestPKI) -> None:
    server = smtp_server(security="plain", users=USERS)
    with pytest.raises(aiosmtplib.SMTPException, match="STARTTLS"):
        run(lambda: send(server, pki))
    assert server.commands_named("STARTTLS") == []
    assert server.received == []

    # A client that does not insist on TLS can log in and send in the clear: the downgrade is
    # real, so a client test can prove the code under test refuses it.
    async def careless_client() -> None:
        client = client_for(server, pki, start_tls=False)
        try:
            await client.connect()
            assert not client.supports_extension("starttls")
            await client.login(USER, PASSWORD)
            await client.sendmail(FROM, [TO], MESSAGE)
            await client.quit()
        finally:
            client.close()

    run(careless_client)
    [message] = server.received
    assert (message.tls, message.auth_user) == (False, USER)


def test_wrong_password_is_refused_and_counted(
    smtp_server: SmtpServerFactory, pki: TestPKI
) -> None:
    server = smtp_server(users=USERS)
    with pytest.raises(aiosmtplib.SMTPAuthenticationError) as info:
        run(lambda: send(server, pki, password="wrong"))
    assert info.value.code == 535
    # aiosmtplib's login() tries each advertised mechanism (PLAIN, LOGIN) before giving up.
    assert server.auth_failures == len(server.commands_named("AUTH")) >= 1
    assert server.received == []


def test_options_are_validated(pki: TestPKI) -> None:
    with pytest.raises(ValueError, match="TestPKI"):
        ScriptedSmtpServer(None, security="tls")
    with pytest.raises(ValueError, match="non-2xx"):
        ScriptedSmtpServer(pki, greeting="220 hello")
    with pytest.raises(ValueError, match="unknown certificate kind"):
        ScriptedSmtpServer(pki, cert="bogus")  # type: ignore[arg-type]


def test_context_manager_starts_and_stops(pki: TestPKI) -> None:
    with ScriptedSmtpServer(pki, users=USERS) as server:
        run(lambda: send(server, pki))
        assert len(server.received) == 1
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.port
    server.stop()  # idempotent


def test_run_async_aborts_connections_the_test_left_open(
    smtp_server: SmtpServerFactory, pki: TestPKI
) -> None:
    server = smtp_server(security="tls", users=USERS)

    async def forget_to_close() -> aiosmtplib.SMTP:
        client = client_for(server, pki)
        await client.connect()
        return client

    started = time.monotonic()
    client = run_async(forget_to_close, close_grace=0.2)
    assert time.monotonic() - started < 2
    assert not client.is_connected  # aborted: aiosmtplib saw connection_lost
    server.wait_until(lambda s: s.active_sessions == 0)
