"""The Dovecot fixture itself: it really serves IMAPS and STARTTLS-only IMAP with the test
PKI, keeps users apart, survives a restart, and can change a folder's UIDVALIDITY."""

from __future__ import annotations

import imaplib
import ssl

import pytest

MESSAGE = b"From: a@example.com\r\nSubject: hi\r\nMessage-ID: <1@example.com>\r\n\r\nbody\r\n"


def test_imaps_serves_the_test_ca_certificate_and_logs_in(dovecot, dovecot_user):
    conn = dovecot.client(dovecot_user)
    try:
        typ, _ = conn.select("INBOX")
        assert typ == "OK"
        typ, data = conn.list()
        assert typ == "OK"
        assert any(b"Sent" in line for line in data)
    finally:
        conn.logout()


def test_plain_port_offers_starttls_and_logs_in_after_it(dovecot, dovecot_user):
    conn = imaplib.IMAP4(dovecot.host, dovecot.imap_port, timeout=10)
    try:
        # (Dovecot counts loopback as secured and would even allow a plaintext login here;
        # that the client never tries one is pinned in tests/functional/test_inbox_imap.py.)
        assert "STARTTLS" in conn.capabilities
        # dovecot.pki: the session server's CA (this directory's conftest has its own `pki`).
        conn.starttls(ssl_context=dovecot.pki.client_context())
        typ, _ = conn.login(dovecot_user.name, dovecot_user.password)
        assert typ == "OK"
    finally:
        conn.logout()


def test_append_returns_uids_and_users_do_not_share_mail(dovecot, dovecot_user):
    other = dovecot.add_user()
    assert dovecot.append(dovecot_user, [MESSAGE, MESSAGE]) == [1, 2]
    assert dovecot.message_count(dovecot_user) == 2
    assert dovecot.message_count(other) == 0


def test_messages_dropped_into_the_maildir_are_served(dovecot, dovecot_user):
    dovecot.drop_into_maildir(dovecot_user, [MESSAGE] * 3)
    assert dovecot.message_count(dovecot_user) == 3


def test_uidvalidity_can_be_changed(dovecot, dovecot_user):
    dovecot.append(dovecot_user, [MESSAGE])
    before = dovecot.uidvalidity(dovecot_user)
    after = dovecot.change_uidvalidity(dovecot_user)
    assert after != before
    assert dovecot.uidvalidity(dovecot_user) == after


def test_rawlog_records_what_clients_sent(dovecot, dovecot_user):
    dovecot.append(dovecot_user, [MESSAGE])
    assert b"APPEND INBOX" in dovecot.rawlog(dovecot_user)


def test_restart_keeps_mail_and_ports(dovecot_factory, pki):
    server = dovecot_factory()
    user = server.add_user("restart@example.test")  # a named user (waits for the reload)
    server.append(user, [MESSAGE])
    port = server.imaps_port
    server.restart()
    assert server.imaps_port == port
    assert server.message_count(user) == 1
    conn = server.client(user)
    conn.logout()


def test_wrong_host_certificate_fails_verification(dovecot_factory, pki):
    server = dovecot_factory(cert="wrong_host")
    with pytest.raises(ssl.SSLCertVerificationError):
        imaplib.IMAP4_SSL(server.host, server.imaps_port, ssl_context=pki.client_context())


def test_server_without_tls_offers_no_starttls(dovecot_factory):
    server = dovecot_factory(tls="none")
    conn = imaplib.IMAP4(server.host, server.imap_port, timeout=10)
    try:
        assert "STARTTLS" not in conn.capabilities
    finally:
        conn.logout()
