#!/usr/bin/env bash
# RFC 3161 replies/s on 127.0.0.1, Sigillo against the reference TSA in the same run:
#   1. a release build of `sigillo serve` on a fresh data directory, loaded by
#      `sigillo bench --tsa` (one SHA-256 query with nonce and certReq per request; every token
#      waits for its block to be durable), RUNS times (default 3);
#   2. `openssl ts -reply` with the same P-256 key and certificate, one process per token as
#      OpenSSL's TSA runs, for SECONDS.
# Prints every run, the medians and the ratio. Usage: scripts/bench-tsa.sh [SECONDS] [RUNS] [CLIENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
runs="${2:-3}"
clients="${3:-2048}"
command -v openssl >/dev/null || scripts/interop/install.sh
. scripts/lib.sh
build_release
start_service
ours=()
for run in $(seq "$runs"); do
  out="$("$bin" bench --url "$url" --tsa --clients "$clients" --seconds "$seconds")"
  echo "$out"
  ours+=("$(echo "$out" | awk -F'|' 'NR==4 {gsub(/ /, "", $3); print $3}')")
done
kill "$server"; wait "$server" 2>/dev/null || true

# The reference: openssl ts -reply, one process per token, same key and certificate.
tsa="$work/data/tsa"
cat > "$work/openssl-tsa.cnf" <<CNF
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
serial = $work/serial
signer_cert = $tsa/tsa.pem
certs = $tsa/tsa.pem
signer_key = $tsa/tsa.key
signer_digest = sha256
default_policy = 2.25.223632124405454127003488311539312839563
digests = sha256, sha384, sha512
accuracy = secs:1
ess_cert_id_alg = sha256
CNF
echo 01 > "$work/serial"
echo "a document" > "$work/doc.txt"
openssl ts -query -data "$work/doc.txt" -sha256 -cert -out "$work/q.tsq" 2>/dev/null
count=0
end=$(( $(date +%s%N) + seconds * 1000000000 ))
start=$(date +%s%N)
while [ "$(date +%s%N)" -lt "$end" ]; do
  openssl ts -reply -config "$work/openssl-tsa.cnf" -queryfile "$work/q.tsq" -out "$work/r.tsr" 2>/dev/null
  count=$((count + 1))
done
elapsed_ns=$(( $(date +%s%N) - start ))
openssl ts -verify -in "$work/r.tsr" -queryfile "$work/q.tsq" -CAfile "$tsa/ca.pem" >/dev/null 2>&1 \
  || { echo "the reference reply does not verify" >&2; exit 1; }
peer=$(python3 -c "print(f'{$count / ($elapsed_ns / 1e9):.0f}')")
median=$(printf '%s\n' "${ours[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo
echo "| TSA | replies/s (median of $runs) |"
echo "|---|---|"
echo "| sigillo (HTTP, $clients clients, each token durable in the log) | $median |"
echo "| openssl ts -reply (one process per token) | $peer |"
python3 -c "print(f'ratio sigillo/openssl: {$median / $peer:.0f}x')"
