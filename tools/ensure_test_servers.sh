#!/usr/bin/env bash
# Installs the real servers (and SpamAssassin) the test suite uses on loopback, when missing:
# Dovecot (IMAP and LMTP: the reply inbox and bounce tests), PostgreSQL (the multi-worker mode),
# Postfix (the bounce world: tests/servers/bounce_world.py), and Exim unpacked from its Debian
# package (a second MTA for the bounce world; Debian's MTA packages conflict, so it is not
# installed, only unpacked under $EXIM_ROOT).
# Run by `make test`; the tests start their own instances in temporary directories (Postfix and
# Exim inside a network namespace of their own) and fail (never skip) when a server cannot be
# found. The system's Postfix is never configured nor started: debconf is told "No configuration".
set -euo pipefail

EXIM_ROOT="${OUTREACH_TEST_EXIM_ROOT:-/opt/outreach-test-servers/exim}"

if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi
export DEBIAN_FRONTEND=noninteractive

need=()
command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || need+=(dovecot-imapd)
[ -x /usr/lib/dovecot/lmtp ] || need+=(dovecot-lmtpd)
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    need+=(postgresql)
fi
command -v ip >/dev/null 2>&1 || need+=(iproute2)
# SpamAssassin's local rules judge what outgoing mail looks like (tests/api/test_spamassassin.py).
command -v spamassassin >/dev/null 2>&1 || need+=(spamassassin)
command -v script >/dev/null 2>&1 || need+=(bsdutils)
[ -x /usr/sbin/postfix ] || need+=(postfix)
# Exim's shared libraries (its own package is unpacked below, not installed).
[ -e /usr/lib/x86_64-linux-gnu/libidn.so.12 ] || ls /usr/lib/*/libidn.so.12 >/dev/null 2>&1 \
    || need+=(libidn12)

install() {
    if ! $SUDO apt-get install -y -q --no-install-recommends "$@" >/dev/null; then
        $SUDO apt-get update -q >/dev/null
        $SUDO apt-get install -y -q --no-install-recommends "$@" >/dev/null
    fi
}

if [ "${#need[@]}" -gt 0 ]; then
    echo "installing test servers: ${need[*]}" >&2
    # Postfix's package asks how to configure the system's mail; the answer is "not at all".
    echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
    # The packages' maintainer scripts try to start the services; the tests start their own.
    install "${need[@]}"
fi

if [ ! -x "$EXIM_ROOT/usr/sbin/exim4" ]; then
    echo "unpacking exim4-daemon-light into $EXIM_ROOT" >&2
    work="$(mktemp -d)"
    chmod 755 "$work"
    (cd "$work" && apt-get download -q exim4-daemon-light >/dev/null 2>&1) || {
        $SUDO apt-get update -q >/dev/null
        (cd "$work" && apt-get download -q exim4-daemon-light >/dev/null)
    }
    $SUDO mkdir -p "$EXIM_ROOT"
    $SUDO dpkg -x "$work"/exim4-daemon-light_*.deb "$EXIM_ROOT"
    rm -rf "$work"
fi
# The user the Debian binary was built for (its package's postinst would create it).
if ! getent passwd Debian-exim >/dev/null; then
    $SUDO useradd --system --user-group --no-create-home --home-dir /var/spool/exim4 \
        --shell /usr/sbin/nologin Debian-exim
fi
