#!/usr/bin/env bash
# Runs the public SCIM compliance checker (PyPI scim2-tester, through scim2-cli) against
# idflow's /scim/v2 with a fresh token on a fresh SQLite database. Fails unless every
# check is SUCCESS.
set -euo pipefail
cd "$(dirname "$0")/.."

binary="${IDFLOW_BINARY:-target/debug/idflow}"
port="${IDFLOW_SCIM_CHECK_PORT:-3118}"
venv=target/scim-tester-venv

if [ ! -x "$venv/bin/scim2" ] || [ scripts/scim-tester-requirements.txt -nt "$venv/bin/scim2" ]; then
  echo "==> Installing scim2-cli and scim2-tester (PyPI) into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/scim-tester-requirements.txt
  touch "$venv/bin/scim2"
fi

data=$(mktemp -d)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$data"' EXIT
token=$(DATABASE_URL="sqlite://$data/idflow.db" IDFLOW_LOG=warn "$binary" admin scim-token create "scim2-tester")
IDFLOW_DATA_DIR="$data" IDFLOW_LISTEN="127.0.0.1:$port" IDFLOW_ADMIN_PASSWORD="compliance check pw" IDFLOW_LOG=warn \
  "$binary" serve >"$data/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done

report="$data/report.txt"
SCIM_CLI_HEADERS="Authorization: Bearer $token" \
  "$venv/bin/scim2" --url "http://127.0.0.1:$port/scim/v2" test >"$report" 2>&1 || true
cat "$report"
successes=$(grep -c '^SUCCESS' "$report" || true)
failures=$(grep -cE '^(ERROR|CRITICAL|WARNING|FAILURE|SKIPPED)' "$report" || true)
echo "SCIM compliance: $successes checks SUCCESS, $failures not"
if [ "$failures" -ne 0 ] || [ "$successes" -eq 0 ]; then
  echo "SCIM compliance check failed; server log:" >&2
  tail -n 50 "$data/server.log" >&2
  exit 1
fi
