#!/usr/bin/env bash
# Installs the real servers the test suite talks to on loopback, when they are missing:
# Dovecot (IMAP, the reply inbox tests) and PostgreSQL (the multi-worker mode).
# Run by `make test`; the tests start their own instances in temporary directories and
# fail (never skip) when a server cannot be found.
set -euo pipefail

need=()
command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || need+=(dovecot-imapd)
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    need+=(postgresql)
fi
command -v ip >/dev/null 2>&1 || need+=(iproute2)

if [ "${#need[@]}" -eq 0 ]; then
    exit 0
fi

echo "installing test servers: ${need[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
# The packages' maintainer scripts try to start the services; the tests start their own.
if ! $SUDO apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null; then
    $SUDO apt-get update -q >/dev/null
    $SUDO apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi
