#!/usr/bin/env bash
# One load run over every module's main endpoint, against a fresh service and fresh simulated
# registries (20 ms per answer) on loopback, one after the other, SECONDS each, and one summary
# table: operations/s, p50 and p99 latency, errors. The load tools share the 2 cores with the
# service (and the registries), so the figures are lower bounds.
# Usage: scripts/load.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-5}"
. scripts/lib.sh
build_release
work="$(mktemp -d)"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
registries="http://127.0.0.1:$(port)"
RUST_LOG=warn "$bin" registries --listen "${registries#http://}" --population 10000 --latency-ms 20 > "$work/registries.out" &
extra_pids=$!
listen="127.0.0.1:$(port)"
start_service --public-url "http://$listen" --registries "$registries"
data="$work/data"
rows="$work/rows"
: > "$rows"
# row MODULE OPERATION CLIENTS OPS P50 P99 ERRORS
row() { printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$@" >> "$rows"; }
cell() { awk -F'|' -v n="$1" 'END {gsub(/ /, "", $n); print $n}'; }

echo "notary: single entries, 512 clients"
out="$("$bin" bench --url "$url" --clients 512 --batch 1 --seconds "$seconds" | tail -1)"
row notary "POST /v1/notary/entries (1 entry, durable)" 512 "$(cell 2 <<<"$out")" "$(cell 4 <<<"$out")" "$(cell 5 <<<"$out")" "$(cell 7 <<<"$out")"

echo "TSA: RFC 3161 queries, 512 clients"
out="$("$bin" bench --url "$url" --tsa --clients 512 --seconds "$seconds" | tail -1)"
row tsa "POST /v1/tsa (durable)" 512 "$(cell 2 <<<"$out")" "$(cell 4 <<<"$out")" "$(cell 5 <<<"$out")" "$(cell 7 <<<"$out")"

echo "token ledger: signed transfers in batches of 1,000, 4 clients"
out="$("$bin" token bench --url "$url" --authority-key "$data/token-authority.key" --clients 4 --batch 1000 --seconds "$seconds" 2>/dev/null | tail -1)"
python3 - "$out" >> "$rows" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
print("| token | POST /v1/token/operations (1,000 transfers, durable; latency per batch) | 4 | %.0f | %.1f | %.1f | 0 |"
      % (d["operations_per_second"], d["batch_latency_ms"]["p50"], d["batch_latency_ms"]["p99"]))
PY

inps="$(awk '$1 == "inps" {print $2}' "$data/access/new-tokens.txt")"
for spec in "issue SD-JWT VC|--operation issue --format sd-jwt" "verify SD-JWT VC|--operation verify --format sd-jwt" \
            "issue VC 2.0 eddsa-rdfc-2022|--operation issue --format vc"; do
  echo "credentials: ${spec%%|*}, 32 clients"
  # shellcheck disable=SC2086 # the flags are meant to split
  out="$("$bin" credentials bench --url "$url" --token "$inps" ${spec#*|} --clients 32 --seconds "$seconds" | tail -1)"
  row credentials "${spec%%|*}" 32 "$(cell 4 <<<"$out")" "$(cell 5 <<<"$out")" "$(cell 6 <<<"$out")" "$(cell 7 <<<"$out")"
done

echo "wallets: apply to a call (OpenID4VP round trip), 8 clients"
out="$("$bin" wallet bench --url "$url" --tokens "$data/access/new-tokens.txt" --clients 8 --seconds "$seconds" | tail -1)"
row wallet "apply to a call (request, present 2 credentials, check, store)" 8 "$(cell 4 <<<"$out")" "$(cell 5 <<<"$out")" "$(cell 6 <<<"$out")" "$(cell 7 <<<"$out")"

platform="$(awk '$1 == "platform" {print $2}' "$data/access/new-tokens.txt")"
for measure in nidi-gratis bando-pmi; do
  echo "eligibility: $measure, 64 clients"
  out="$("$bin" eligibility bench --url "$url" --token "$platform" --registries "$registries" --measure "$measure" --clients 64 --seconds "$seconds" | tail -1)"
  row eligibility "POST /v1/eligibility/$measure/applications (registries at 20 ms)" 64 "$(cell 4 <<<"$out")" "$(cell 5 <<<"$out")" "$(cell 7 <<<"$out")" "$(cell 9 <<<"$out")"
done

printf '\n| module | operation | clients | ops/s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|---|---|\n'
cat "$rows"
