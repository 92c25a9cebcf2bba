#!/usr/bin/env bash
# The test command: builds the `sigillo` binary the end-to-end tests start, then runs every
# test of the workspace (unit, property, HTTP, end to end, interop with independent
# implementations, and each benchmark once as a test).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "cargo is missing: install Rust with rustup (https://rustup.rs)" >&2; exit 2; }
# The independent implementations the interop tests run against (openssl, anvil, rfc3161-client).
scripts/interop/install.sh
cargo build --locked --bin sigillo
cargo test --locked --workspace --all-targets
