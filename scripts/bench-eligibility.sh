#!/usr/bin/env bash
# Eligibility load: starts the simulated registries (20 ms per answer, log-normal) and the
# service on loopback, then runs `sigillo eligibility bench` RUNS times for Nidi Gratis and for
# the business call, then once each with INPS down and INPS slow (10 s), where every answer
# must come within 3 s and none may be eligible (the ISEE is required).
# Usage: scripts/bench-eligibility.sh [SECONDS] [RUNS] [CLIENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}" runs="${2:-3}" clients="${3:-64}"
. scripts/lib.sh
build_release
work="$(mktemp -d)"
registries_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
registries="http://127.0.0.1:$registries_port"
RUST_LOG=warn "$bin" registries --listen "127.0.0.1:$registries_port" --population 10000 --latency-ms 20 > "$work/registries.out" &
extra_pids=$!
start_service --registries "$registries"
token="$(awk '$1 == "platform" {print $2}' "$work/data/access/new-tokens.txt")"
bench() { "$bin" eligibility bench --url "$url" --token "$token" --registries "$registries" --seconds "$seconds" --clients "$clients" "$@"; }
fault() { curl -sf -X PUT -H 'Content-Type: application/json' -d "$2" "$registries/admin/faults/$1" > /dev/null; }
for measure in nidi-gratis bando-pmi; do
  for run in $(seq "$runs"); do
    echo "# $measure, run $run of $runs: $clients clients, $seconds s, registries at 20 ms"
    bench --measure "$measure" | tail -1
  done
done
for scenario in 'down:{"outage": true}' 'slow 10 s:{"latency_ms": 10000, "latency_p99_ms": 10000}'; do
  echo "# nidi-gratis with INPS ${scenario%%:*}"
  fault inps "${scenario#*:}"
  bench --measure nidi-gratis | tail -1
  fault inps '{}'
  sleep 6 # the circuit the fault opened lets a probe through after 5 s
done
