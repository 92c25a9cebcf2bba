#!/usr/bin/env bash
# Anchoring latency and coverage on a local EVM node: anvil (installed by
# scripts/interop/install.sh) mining a block every second, like a Besu/EBSI network with short
# blocks; `sigillo serve` anchoring every second with 2 confirmations while `sigillo bench`
# keeps the log growing for SECONDS. Prints, over the confirmed anchors, the latency from
# sending to confirmed (median, max) and how many checkpoints (log sizes) each one covers.
# Usage: scripts/bench-anchor.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
scripts/interop/install.sh
. scripts/lib.sh
build_release
anvil="$PWD/scripts/interop/node_modules/.bin/anvil"
work="$(mktemp -d)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$anvil" --host 127.0.0.1 --port "$port" --block-time 1 > "$work/anvil.out" 2>&1 &
extra_pids=$!
trap 'kill $extra_pids 2>/dev/null || true; rm -rf "$work"' EXIT
rpc="http://127.0.0.1:$port"
call() { curl -s -H 'content-type: application/json' -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}" "$rpc"; }
for _ in $(seq 100); do call eth_chainId '[]' >/dev/null 2>&1 && break; sleep 0.1; done
start_service --anchor-rpc "$rpc" --anchor-interval-ms 1000 --anchor-confirmations 2 --anchor-poll-ms 100
account="$(sed -n 's/^anchoring on .* from account //p' "$work/serve.out")"
call anvil_setBalance "[\"$account\", \"0x56BC75E2D63100000\"]" > /dev/null
"$bin" bench --url "$url" --clients 8 --batch 100 --seconds "$seconds" > /dev/null
sleep 4
curl -s "$url/v1/notary/anchors" | python3 -c '
import json, statistics, sys
records = json.load(sys.stdin)["anchors"]
confirmed = [r for r in records if r["state"] == "confirmed"]
latency = [r["confirmed_ms"] - r["submitted_ms"] for r in confirmed]
sizes = [r["size"] for r in confirmed]
covered = [b - a for a, b in zip(sizes, sizes[1:])]
print(f"anchors confirmed: {len(confirmed)} (of {len(records)} sent); log size {sizes[-1] if sizes else 0}")
print(f"send -> confirmed (2 confirmations, 1 s blocks): median {statistics.median(latency):.0f} ms, max {max(latency)} ms")
print(f"checkpoints covered per anchor transaction: median {statistics.median(covered):.0f}, max {max(covered)}")
'
