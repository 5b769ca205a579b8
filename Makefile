# idflow: `make run` starts it, `make test` checks everything. Both install what is
# missing first (scripts/setup.sh) and skip what is there.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# Tools installed by cargo and npm come first on the PATH (npm's binaryen provides
# wasm-opt for release builds; Debian's is too old).
export PATH := $(CURDIR)/end2end/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)

# Every build (server and WASM, debug and release, tests and clippy) takes its flags from
# .cargo/config.toml, so they share compiled dependencies and render the same views.
export LEPTOS_OUTPUT_NAME := idflow

# PostgreSQL for the store tests (the machine's server, trust auth).
export IDFLOW_TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/postgres

.PHONY: help setup run build build-release test lint unit scim-compliance e2e postgres-check clean bench-engine bench-console bench-log-search bench-scale api-conformance container-test

help: ## list these targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z0-9-]+):.*## (.*)$$/\1\t\2/' \
		| awk -F'\t' '{ printf "make %-17s %s\n", $$1, $$2 }'

setup: ## install what building and running needs (skips what is there)
	@scripts/setup.sh

run: setup build-release ## build and start idflow on SQLite (./data), printing its URL
	@mkdir -p data
	IDFLOW_SITE_DIR=target/site ./target/server-release/idflow serve

build-release: ## build the release server and console (what make run serves), its files hashed and compressed
	cargo leptos build --release --split
	target/server-release/idflow prepare-assets target/site/pkg

# Benchmarks print figures (no pass or fail).
bench-engine: ## measure the engine against Node-RED (prints figures)
	bench/engine.sh

bench-console: ## measure the console's pages (prints figures)
	bench/console.sh

bench-scale: ## measure SCIM on 100,000 users in 1,000 groups, SQLite and PostgreSQL (prints figures; needs make build-release)
	cargo build --quiet --profile server-release -p bench-engine --bin bench-scale
	target/server-release/bench-scale

bench-log-search: ## measure System Log searches over 1,000,000 entries, SQLite and PostgreSQL (prints figures)
	cargo build --quiet --profile server-release -p bench-engine --bin bench-log-search
	target/server-release/bench-log-search

build: ## a debug build of the server and console
	cargo leptos build --split

test: ## formatting, clippy, Rust tests on SQLite and PostgreSQL, SCIM checker, schemathesis, Playwright
	@scripts/setup.sh test
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory build-release
	@$(MAKE) --no-print-directory postgres-check
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory scim-compliance
	@$(MAKE) --no-print-directory api-conformance
	@$(MAKE) --no-print-directory e2e

lint: ## cargo fmt, leptosfmt and clippy (server and WASM), all checks only
	cargo fmt --all -- --check
	leptosfmt --check app/src frontend/src
	cargo clippy --all-targets -- -D warnings
	cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

postgres-check: ## check the PostgreSQL the tests use is reachable
	@scripts/postgres-check.sh

unit: ## the Rust tests (nextest), each store test on SQLite and PostgreSQL
	cargo nextest run --no-fail-fast

# The public SCIM checker (PyPI scim2-tester) against the built server.
scim-compliance: ## the public SCIM checker (scim2-tester) against the release build
	IDFLOW_BINARY=target/server-release/idflow scripts/scim-compliance.sh

api-conformance: ## schemathesis: the REST API against its OpenAPI document (release build)
	IDFLOW_BINARY=target/server-release/idflow scripts/api-conformance.sh

e2e: ## Playwright in headless Chromium against the release build
	cd end2end && npx playwright test

container-test: build-release ## the container image and compose.yaml (PostgreSQL, two servers) on loopback, with podman
	scripts/container-test.sh

clean: ## remove build output and test data
	cargo clean
	rm -rf end2end/.data end2end/test-results
