#!/usr/bin/env bash
# Load test of the token ledger over HTTP on 127.0.0.1, bounded in time: starts a release build
# of the service on a fresh data directory, runs `sigillo token bench` (batches of 1,000 signed
# transfers, pre-signed before the clock starts) RUNS times (default 3) per client count, and
# prints every run; report the median. Usage: scripts/load-token.sh [SECONDS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
runs="${2:-3}"
cargo build --locked --release --bin sigillo
bin="$PWD/target/release/sigillo"
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
RUST_LOG=warn "$bin" serve --data "$work/data" --did-docs "$work/did-docs" --listen 127.0.0.1:0 > "$work/serve.out" &
server=$!
for _ in $(seq 100); do grep -q "listening on" "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
url="$(sed -n 's/^sigillo listening on //p' "$work/serve.out")"
[ -n "$url" ] || { echo "the service did not start" >&2; exit 1; }
echo "service at $url; $runs runs of $seconds s per scenario"
for run in $(seq "$runs"); do
  for clients in 4 8; do
    echo "== batches of 1000, $clients clients, run $run"
    "$bin" token bench --url "$url" --authority-key "$work/data/token-authority.key" \
      --clients "$clients" --batch 1000 --seconds "$seconds"
  done
done
