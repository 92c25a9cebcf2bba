#!/usr/bin/env bash
# The test command: builds the `sigillo` binary the end-to-end tests start, then runs every
# test of the workspace (unit, property, HTTP, end to end, and each benchmark once as a test).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "cargo is missing: install Rust with rustup (https://rustup.rs)" >&2; exit 2; }
cargo build --locked --bin sigillo
cargo test --locked --workspace --all-targets
