#!/usr/bin/env bash
# bench/scim: a burst of SCIM user creates and group PATCHes against the release build
# on SQLite, server pinned to core 0 and the load generator (wrk) to core 1. Prints
# requests/s, latency p50/p99 and the server's CPU time per request, and checks that
# every write also wrote its directory event.
#   bench/scim.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-15}"
connections="${2:-8}"
binary="${IDFLOW_BINARY:-target/server-release/idflow}"
port="${IDFLOW_BENCH_PORT:-3119}"

[ -x "$binary" ] || { echo "build the release server first: cargo leptos build --release (or make build-release)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }

data=$(mktemp -d)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$data"' EXIT
export TOKEN
TOKEN=$(DATABASE_URL="sqlite://$data/idflow.db" IDFLOW_LOG=warn "$binary" admin scim-token create bench)
IDFLOW_DATA_DIR="$data" IDFLOW_LISTEN="127.0.0.1:$port" IDFLOW_ADMIN_PASSWORD="bench admin password" IDFLOW_LOG=warn \
  taskset -c 0 "$binary" serve >"$data/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done

export GROUP_ID
GROUP_ID=$(curl -fsS -X POST "http://127.0.0.1:$port/scim/v2/Groups" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/scim+json' \
  -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Bench"}' | sed -E 's/.*"id":"([^"]+)".*/\1/')

ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$server/stat"; }
before=$(cpu)
taskset -c 1 wrk -t1 -c"$connections" -d"${seconds}s" --latency -s bench/scim-burst.lua "http://127.0.0.1:$port" >"$data/wrk.txt"
after=$(cpu)
cat "$data/wrk.txt"

requests=$(awk '/requests in/ {print $1}' "$data/wrk.txt")
rps=$(awk '/Requests\/sec/ {print $2}' "$data/wrk.txt")
p50=$(awk '$1 == "50%" {print $2}' "$data/wrk.txt")
p99=$(awk '$1 == "99%" {print $2}' "$data/wrk.txt")
cpu_us=$(awk -v a="$after" -v b="$before" -v t="$ticks" -v n="$requests" 'BEGIN { printf "%.0f", (a - b) / t * 1e6 / n }')
users=$(curl -fsS "http://127.0.0.1:$port/scim/v2/Users?count=0" -H "Authorization: Bearer $TOKEN" | sed -E 's/.*"totalResults":([0-9]+).*/\1/')
events=$(sqlite3 "$data/idflow.db" "select count(*) from directory_events" 2>/dev/null || echo "?")

echo
echo "bench/scim  (SQLite, server on core 0, wrk on core 1, $connections connections, ${seconds}s)"
echo "  requests:            $requests"
echo "  requests/s:          $rps   (target >= 500 on one core)"
echo "  latency p50 / p99:   $p50 / $p99"
echo "  server CPU/request:  ${cpu_us} µs"
echo "  users created:       $users"
echo "  directory events:    $events"
