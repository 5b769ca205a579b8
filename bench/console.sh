#!/usr/bin/env bash
# bench/console: the server time to render the Flows tab with 500 flows, and the size of
# the console's WASM (raw and brotli). Builds the release server and console first.
# Figures only: nothing here passes or fails.
#   bench/console.sh           (BENCH_FLOWS=500 BENCH_REQUESTS=50 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export LEPTOS_OUTPUT_NAME=idflow

scripts/setup.sh
echo "==> Building the release server and console (incremental)"
cargo leptos build --release --split
target/server-release/idflow prepare-assets target/site/pkg
echo "==> Building the bench"
cargo build --quiet --profile server-release -p bench-engine --bin bench-console

IDFLOW_BINARY="${IDFLOW_BINARY:-target/server-release/idflow}" target/server-release/bench-console
