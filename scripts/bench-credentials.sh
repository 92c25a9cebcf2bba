#!/usr/bin/env bash
# Credentials over HTTP on 127.0.0.1: a release build of `sigillo serve` on a fresh data
# directory, loaded by `sigillo credentials bench` for SD-JWT VC issuance (single and batches
# of 100) and verification, and VC 2.0 (eddsa-rdfc-2022) issuance and verification, each RUNS
# times (default 3). Prints every run and the medians.
# Usage: scripts/bench-credentials.sh [SECONDS] [RUNS] [CLIENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-5}"
runs="${2:-3}"
clients="${3:-32}"
. scripts/lib.sh
build_release
start_service
token="$(awk '$1 == "inps" {print $2}' "$work/data/access/new-tokens.txt")"
echo "| operation | clients | credentials/s (median of $runs) | p50 ms | p99 ms |"
echo "|---|---|---|---|---|"
for spec in "issue sd-jwt 1" "issue sd-jwt 100" "verify sd-jwt 1" "issue vc 1" "verify vc 1"; do
  set -- $spec
  rows=()
  for run in $(seq "$runs"); do
    rows+=("$("$bin" credentials bench --url "$url" --token "$token" --operation "$1" --format "$2" \
      --batch "$3" --clients "$clients" --seconds "$seconds" | tail -1)")
  done
  # The run with the median rate, whole.
  printf '%s\n' "${rows[@]}" | sort -t'|' -k4 -n | sed -n "$(( (runs + 1) / 2 ))p" \
    | awk -F'|' '{printf "|%s|%s|%s|%s|%s|\n", $2, $3, $4, $5, $6}'
done
