#!/usr/bin/env bash
# The REST API against its own OpenAPI document, and SCIM against
# scripts/scim-openapi.json, with schemathesis (PyPI): a release server on a fresh SQLite
# database on 127.0.0.1, an API token with every scope and a SCIM token; at least 1,000
# generated requests each, failing on any 5xx, any answer that does not match its
# documented status, content type, headers or schema, any schema-invalid request the REST
# API accepts, and any request served without a valid token.
#
# Not checked: that every schema-valid request is accepted (positive_data_acceptance): a
# System Log filter or a keyword is free text in the schema, and a filter that does not
# parse is rightly refused with 400.
#   scripts/api-conformance.sh      (IDFLOW_BINARY, ST_MAX_EXAMPLES, ST_SEED to change)
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="${IDFLOW_BINARY:-target/server-release/idflow}"
VENV=target/schemathesis-venv
MAX_EXAMPLES="${ST_MAX_EXAMPLES:-60}"
SEED="${ST_SEED:-20261206}"

if [ ! -f "$VENV/.installed" ] || [ scripts/schemathesis-requirements.txt -nt "$VENV/.installed" ]; then
  echo "==> Installing schemathesis (PyPI) into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r scripts/schemathesis-requirements.txt
  touch "$VENV/.installed"
fi
[ -x "$BIN" ] || { echo "no $BIN: run make build-release first" >&2; exit 1; }

DATA="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export IDFLOW_DATA_DIR="$DATA" IDFLOW_LISTEN="127.0.0.1:$PORT" IDFLOW_LOG=warn \
  IDFLOW_ADMIN_EMAIL=admin@example.com IDFLOW_ADMIN_PASSWORD='a long conformance password' \
  IDFLOW_REFUSED_PER_MINUTE=1000000 IDFLOW_SITE_DIR=target/site
"$BIN" serve > "$DATA/server.log" 2>&1 &
SERVER=$!
cleanup() { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; rm -rf "$DATA"; }
trap cleanup EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/healthz" > /dev/null && break
  sleep 0.2
done
TOKEN="$("$BIN" admin api-token create conformance --user admin@example.com --scopes all --days 1)"
SCIM_TOKEN="$("$BIN" admin scim-token create conformance)"

# The number of requests a run's report says it generated; at least 1,000.
enough() {
  local generated
  generated="$(grep -oE '[0-9]+ generated' "$1" | grep -oE '[0-9]+' | tail -1)"
  echo "==> $2: ${generated:-0} requests generated"
  if [ "${generated:-0}" -lt 1000 ]; then
    echo "fewer than 1,000 requests were generated for $2; raise ST_MAX_EXAMPLES" >&2
    exit 1
  fi
}

# One worker: hypothesis parses lambdas with `ast` while it generates, and two threads
# doing so at once trip CPython 3.11's "AST constructor recursion depth mismatch".
echo "==> schemathesis against http://127.0.0.1:$PORT/api/v1/openapi.json (seed $SEED)"
"$VENV/bin/schemathesis" run "http://127.0.0.1:$PORT/api/v1/openapi.json" \
  --header "Authorization: Bearer $TOKEN" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection,ignored_auth,missing_required_header,unsupported_method \
  --max-examples "$MAX_EXAMPLES" --seed "$SEED" --workers 1 --no-color \
  | tee "$DATA/rest.txt"
enough "$DATA/rest.txt" "the REST API"

# SCIM: what its answers must be, for any request. (Whether a schema-invalid SCIM request
# is refused is the SCIM checker's part: SCIM ignores attributes it does not know.)
echo "==> schemathesis against http://127.0.0.1:$PORT/scim/v2 (seed $SEED)"
"$VENV/bin/schemathesis" run scripts/scim-openapi.json --url "http://127.0.0.1:$PORT/scim/v2" \
  --header "Authorization: Bearer $SCIM_TOKEN" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,ignored_auth \
  --max-examples "$MAX_EXAMPLES" --seed "$SEED" --workers 1 --no-color \
  | tee "$DATA/scim.txt"
enough "$DATA/scim.txt" "SCIM"
