#!/usr/bin/env bash
# The apply-to-a-call round trip over HTTP on 127.0.0.1: a release build of `sigillo serve`
# on a fresh data directory and a known port (OpenID4VCI and OpenID4VP URLs carry it), loaded
# by `sigillo wallet bench` RUNS times (default 3): each application asks for an authorization
# request, matches the DCQL query, discloses, signs the KB-JWT and posts the answer, which the
# service checks, signs and has the notary stamp before answering. Prints every run and the
# median. Extra arguments go to `sigillo serve` (e.g. --block-interval-ms 10).
# Usage: scripts/bench-wallet.sh [SECONDS] [RUNS] [CLIENTS] [SERVE ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-5}"
runs="${2:-3}"
clients="${3:-8}"
shift $(( $# < 3 ? $# : 3 ))
. scripts/lib.sh
build_release
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
listen="127.0.0.1:$port"
start_service --public-url "http://$listen" "$@"
rows=()
for run in $(seq "$runs"); do
  row="$("$bin" wallet bench --url "$url" --tokens "$work/data/access/new-tokens.txt" \
    --clients "$clients" --seconds "$seconds" | tail -1)"
  echo "run $run: $row"
  rows+=("$row")
done
echo "| operation | clients | applications/s (median of $runs) | p50 ms | p99 ms |"
echo "|---|---|---|---|---|"
printf '%s\n' "${rows[@]}" | sort -t'|' -k4 -n | sed -n "$(( (runs + 1) / 2 ))p" \
  | awk -F'|' '{printf "|%s|%s|%s|%s|%s|\n", $2, $3, $4, $5, $6}'
