#!/usr/bin/env bash
# Says whether the PostgreSQL the store tests use answers, starting the machine's
# cluster if it is installed but stopped. Under CI=true, no PostgreSQL is a failure.
set -uo pipefail
url="${IDFLOW_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
shown=$(printf '%s' "$url" | sed -E 's#://([^:@/]+):[^@/]*@#://\1:********@#')

answers() { command -v psql >/dev/null 2>&1 && psql "$url" -Atqc 'select 1' >/dev/null 2>&1; }

if ! answers && command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  for version in $(ls /etc/postgresql); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 || true
  done
  sleep 2
fi

if answers; then
  echo "PostgreSQL: $shown answers; the store tests run on SQLite and on PostgreSQL."
elif [ "${CI:-}" = "true" ]; then
  echo "PostgreSQL: $shown does not answer, and CI=true requires it." >&2
  exit 1
else
  echo "PostgreSQL: $shown does not answer; the PostgreSQL half of the store tests will be SKIPPED." >&2
fi
