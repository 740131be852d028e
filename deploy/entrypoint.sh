#!/bin/sh
# The container's entrypoint: DATABASE_URL from a secret file when DATABASE_URL_FILE names
# one (the URL carries the database password), then `outreach-tui` with the arguments given.
set -eu
if [ -z "${DATABASE_URL:-}" ] && [ -n "${DATABASE_URL_FILE:-}" ]; then
    DATABASE_URL="$(cat "$DATABASE_URL_FILE")"
    export DATABASE_URL
fi
exec outreach-tui "$@"
