#!/usr/bin/env bash
# Load test of the notary over HTTP on 127.0.0.1, bounded in time: starts a release build of
# the service on a fresh data directory, runs `sigillo bench` for each scenario RUNS times
# (default 3), and prints every run; report the median. Usage: scripts/load-notary.sh [SECONDS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
runs="${2:-3}"
. scripts/lib.sh
build_release
start_service
echo "service at $url; $runs runs of $seconds s per scenario"
# The disk's own fsync latency bounds the notary's tail latency (one fsync per block).
if command -v python3 >/dev/null; then
  python3 - "$work/fsync-probe" <<'PY'
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
lat = []
for _ in range(200):
    os.write(fd, b"x" * 16384)
    start = time.perf_counter(); os.fsync(fd); lat.append((time.perf_counter() - start) * 1000)
    time.sleep(0.005)
lat.sort()
print("disk fsync ms: p50 %.2f p99 %.2f max %.2f" % (lat[100], lat[197], lat[-1]))
PY
fi
# Each client keeps one request in flight (closed loop), so requests/s ≈ clients / latency;
# the first 2 seconds of each run are warm-up, left out of the figures.
# The goals: 200,000 entries/s in batches of 1,000 (20 batches a block), and 20,000
# single-entry requests/s (2,000 clients a block), with p99 at most 150 ms.
scenarios=(
  "batches of 1000, 24 clients|--clients 24 --batch 1000"
  "single entries, 2048 clients|--clients 2048 --batch 1"
  "single entries, 2304 clients|--clients 2304 --batch 1"
  "single entries, 2560 clients|--clients 2560 --batch 1"
  "single entries, 1024 clients|--clients 1024 --batch 1"
)
# A scenario's runs follow each other, after one unmeasured run: the first minutes of a new
# load shape (2,000 fresh connections after 24 big ones, say) pay page faults for buffers
# that a service in production has long had.
for scenario in "${scenarios[@]}"; do
  # shellcheck disable=SC2086 # the flags are meant to split
  "$bin" bench --url "$url" ${scenario#*|} --seconds 3 >/dev/null
  for run in $(seq "$runs"); do
    echo "== ${scenario%%|*}, run $run"
    # shellcheck disable=SC2086
    "$bin" bench --url "$url" ${scenario#*|} --seconds "$seconds" --warmup-seconds 2
  done
done
