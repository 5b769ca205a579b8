#!/usr/bin/env bash
# bench/engine: idflow's execution engine under load, with Node-RED running the same two
# flows in the same run. (a) API endpoint -> set -> return, every card saved; (b) a
# 10-card chain with a table write and read. Each server is pinned to core 0, the load
# to core 1. Prints executions/s, CPU us per execution, latency p50/p99 and RSS idle and
# under load for both, and the ratios. Figures only: nothing here passes or fails.
#   bench/engine.sh            (BENCH_SECONDS=10 BENCH_CONNECTIONS=32 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export LEPTOS_OUTPUT_NAME=idflow

scripts/setup.sh
echo "==> Building the release server (incremental)"
cargo leptos build --release --split
target/server-release/idflow prepare-assets target/site/pkg
echo "==> Building the load generator"
cargo build --quiet --profile server-release -p bench-engine

# Node-RED from the npm registry, pinned by bench/node-red/package-lock.json.
if [ ! -f bench/node-red/node_modules/node-red/red.js ] \
   || [ bench/node-red/package-lock.json -nt bench/node-red/node_modules/.package-lock.json ]; then
  echo "==> Installing Node-RED (npm)"
  (cd bench/node-red && npm ci --no-audit --no-fund --omit=optional)
fi

IDFLOW_BINARY="${IDFLOW_BINARY:-target/server-release/idflow}" NODE_RED_DIR=bench/node-red \
  taskset -c 1 target/server-release/bench-engine
