#!/usr/bin/env bash
# Installs what building and testing idflow needs, skipping whatever is already there.
#   scripts/setup.sh         tools to build and run (make run)
#   scripts/setup.sh test    also what the tests need (make test): Chromium, leptosfmt
# Nothing here downloads a binary from outside the package registries.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.10
WASM_BINDGEN_VERSION=$(grep -A1 'name = "wasm-bindgen"' Cargo.lock | sed -n 's/version = "\(.*\)"/\1/p' | head -n1)
LEPTOSFMT_VERSION=0.1.33

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# Tool installs build from source: skip LTO and use many codegen units to halve the time.
quick_install() {
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 cargo install "$@"
}

installed_version() { # binary, prints its version number or nothing
  command -v "$1" >/dev/null 2>&1 && "$1" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n1 || true
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "Adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(cargo leptos --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' || true)" != "$CARGO_LEPTOS_VERSION" ]; then
  say "Installing cargo-leptos $CARGO_LEPTOS_VERSION (10-30 minutes, once)"
  quick_install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION"
fi

if [ "$(installed_version wasm-bindgen)" != "$WASM_BINDGEN_VERSION" ]; then
  say "Installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 5 minutes, once)"
  # Its own lockfile pins a crate this registry lacks, hence no --locked.
  CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback quick_install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

if [ ! -x end2end/node_modules/.bin/wasm-opt ] || [ ! -d end2end/node_modules/@playwright/test ] \
   || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
  say "Installing npm packages (Playwright, binaryen's wasm-opt)"
  (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi

if [ "${1:-}" = "test" ]; then
  if ! command -v cargo-nextest >/dev/null 2>&1; then
    say "Installing cargo-nextest"
    quick_install cargo-nextest --locked
  fi
  if [ "$(installed_version leptosfmt)" != "$LEPTOSFMT_VERSION" ]; then
    say "Installing leptosfmt $LEPTOSFMT_VERSION"
    quick_install leptosfmt --locked --version "$LEPTOSFMT_VERSION"
  fi
  if [ ! -f target/smtp-venv/.installed ] || [ scripts/smtp-test-requirements.txt -nt target/smtp-venv/.installed ]; then
    say "Installing aiosmtpd (PyPI), the SMTP server the email tests send to"
    python3 -m venv target/smtp-venv
    target/smtp-venv/bin/pip install --quiet --disable-pip-version-check -r scripts/smtp-test-requirements.txt
    touch target/smtp-venv/.installed
  fi
  if [ ! -f target/okta-venv/.installed ] || [ scripts/okta-test-org-requirements.txt -nt target/okta-venv/.installed ]; then
    say "Installing cryptography (PyPI), which the Okta-shaped test org checks signed tokens with"
    python3 -m venv target/okta-venv
    target/okta-venv/bin/pip install --quiet --disable-pip-version-check -r scripts/okta-test-org-requirements.txt
    touch target/okta-venv/.installed
  fi
  if [ ! -f target/schemathesis-venv/.installed ] || [ scripts/schemathesis-requirements.txt -nt target/schemathesis-venv/.installed ]; then
    say "Installing schemathesis (PyPI), which tests the REST API against its OpenAPI document"
    python3 -m venv target/schemathesis-venv
    target/schemathesis-venv/bin/pip install --quiet --disable-pip-version-check -r scripts/schemathesis-requirements.txt
    touch target/schemathesis-venv/.installed
  fi
  if [ ! -x /usr/bin/chromium ]; then
    say "Installing Chromium from Debian"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium
  fi
fi
