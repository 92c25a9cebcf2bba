#!/usr/bin/env bash
# Sigillo's credential library against the interop peers, same machine, same run:
#   - Sigillo: `cargo bench -p wallet` (criterion; the middle throughput estimate);
#   - @sd-jwt/sd-jwt-vc 0.19 (Node) and sd-jwt 0.10.4 (PyPI): SD-JWT VC, ES256, 10 disclosable
#     claims, issue and verify;
#   - @digitalbazaar/vc 7.3: VC 2.0 eddsa-rdfc-2022, issue and verify.
# Each peer runs RUNS times (default 3) for SECONDS each; medians and the ratio Sigillo/peer.
# Usage: scripts/bench-peers.sh [SECONDS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-3}"
runs="${2:-3}"
scripts/interop/install.sh >/dev/null
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
cargo bench -p wallet --bench credentials -- --warm-up-time 1 --measurement-time "$seconds" 2>/dev/null | tee "$out" >&2
# "group/function" then a "thrpt: [low mid high]" line: print the middle estimate per second.
ours() {
  awk -v name="$1" '
    $0 ~ "^"name"$" || $1 == name {found = 1}
    found && /thrpt:/ {
      value = $4; unit = $5
      if (unit ~ /^Kelem/) value *= 1000
      if (unit ~ /^Melem/) value *= 1000000
      printf "%.0f\n", value; exit
    }' "$out"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
peer() { # program script request-json field
  for _ in $(seq "$runs"); do
    (cd scripts/interop && echo "$3" | $1 "$2") | python3 -c "import json,sys; print(round(json.load(sys.stdin)['$4']))"
  done | median
}
context="$(cat wallet/contexts/credentials-v1.jsonld)"
vc_request="{\"op\": \"bench\", \"seconds\": $seconds, \"documents\": {\"https://w3id.org/sigillo/credentials/v1\": $context},
  \"credential\": {\"@context\": [\"https://www.w3.org/ns/credentials/v2\", \"https://w3id.org/sigillo/credentials/v1\"],
  \"type\": [\"VerifiableCredential\", \"IseeCredential\"], \"validFrom\": \"2026-01-01T00:00:00Z\",
  \"credentialSubject\": {\"fiscal_code\": \"RSSGLI85M41F205X\", \"isee_value\": 18500.5, \"isee_type\": \"minorenni\",
  \"dsu_protocol\": \"INPS-ISEE-2025-00000123456\", \"dsu_valid_from\": \"2025-01-15\", \"dsu_valid_until\": \"2025-12-31\"}}}"
sd_request="{\"op\": \"bench\", \"seconds\": $seconds}"
row() { # label ours peer
  python3 -c "print(f'| $1 | {$2:,} | {$3:,} | {$2 / $3:.1f}x |')"
}
echo "| operation (per second, one core) | Sigillo | peer (median of $runs) | Sigillo/peer |"
echo "|---|---|---|---|"
sd_issue="$(ours sd-jwt-vc-es256-10-claims/issue)"
sd_verify="$(ours sd-jwt-vc-es256-10-claims/verify)"
row "SD-JWT VC issue vs @sd-jwt/sd-jwt-vc (npm)" "$sd_issue" "$(peer node sdjwt_peer.mjs "$sd_request" issue)"
row "SD-JWT VC verify vs @sd-jwt/sd-jwt-vc (npm)" "$sd_verify" "$(peer node sdjwt_peer.mjs "$sd_request" verify)"
row "SD-JWT VC issue vs sd-jwt (PyPI)" "$sd_issue" "$(peer .venv/bin/python sdjwt_peer.py "$sd_request" issue)"
row "SD-JWT VC verify vs sd-jwt (PyPI)" "$sd_verify" "$(peer .venv/bin/python sdjwt_peer.py "$sd_request" verify)"
row "VC 2.0 eddsa-rdfc-2022 issue vs @digitalbazaar/vc" "$(ours vc2-eddsa-rdfc-2022/issue)" "$(peer node vc_peer.mjs "$vc_request" issue)"
row "VC 2.0 eddsa-rdfc-2022 verify vs @digitalbazaar/vc" "$(ours vc2-eddsa-rdfc-2022/verify)" "$(peer node vc_peer.mjs "$vc_request" verify)"
