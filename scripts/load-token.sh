#!/usr/bin/env bash
# Load test of the token ledger over HTTP on 127.0.0.1, bounded in time: starts a release build
# of the service on a fresh data directory, runs `sigillo token bench` (batches of 1,000 signed
# transfers, pre-signed before the clock starts) RUNS times (default 3) per client count, and
# prints every run; report the median. Usage: scripts/load-token.sh [SECONDS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
runs="${2:-3}"
. scripts/lib.sh
build_release
start_service
echo "service at $url; $runs runs of $seconds s per scenario"
for run in $(seq "$runs"); do
  for clients in 4 8; do
    echo "== batches of 1000, $clients clients, run $run"
    "$bin" token bench --url "$url" --authority-key "$work/data/token-authority.key" \
      --clients "$clients" --batch 1000 --seconds "$seconds"
  done
done
