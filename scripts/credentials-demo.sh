#!/usr/bin/env bash
# Walks through the credentials against a running service, printing each step:
# INPS issues an ISEE attestation as an SD-JWT VC and as a VC 2.0 credential, anyone verifies
# them, a municipality is refused an ISEE, INPS revokes the SD-JWT VC and the verifier refuses
# it, and the Token Status List shows it. Exits non-zero if any step does not do what it says.
# Usage: scripts/credentials-demo.sh [URL] [DATA_DIR]
set -euo pipefail
url="${1:-http://127.0.0.1:8080}"
data="${2:-data}"
tokens="$data/access/new-tokens.txt"
[ -r "$tokens" ] || { echo "no $tokens: the issuer tokens are written there at the first start" >&2; exit 2; }
inps="$(awk '$1 == "inps" {print $2}' "$tokens")"
milano="$(awk '$1 == "comune-milano" {print $2}' "$tokens")"
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
step() { printf '\n== %s\n' "$1"; }
isee='{"fiscal_code": "RSSGLI85M41F205X", "isee_value": 18500.5, "isee_type": "minorenni",
       "dsu_protocol": "INPS-ISEE-2025-00000123456", "dsu_valid_from": "2025-01-15", "dsu_valid_until": "2025-12-31"}'

step "INPS's did:web document (Ed25519 for Data Integrity, P-256 for ES256)"
curl -sf "$url/issuers/inps/did.json" | json 'd["id"] + "  " + ", ".join(m["type"] for m in d["verificationMethod"])'

step "INPS issues an ISEE attestation as an SD-JWT VC (ES256, every claim disclosable, decoys)"
issued="$(curl -sf -H "Authorization: Bearer $inps" -H 'Content-Type: application/json' \
  -d "{\"vct\": \"isee\", \"claims\": $isee}" "$url/v1/credentials/sd-jwt/issue")"
echo "$issued" | json 'd["id"] + "  status index " + str(d["status"]["index"]) + " in " + d["status"]["list"]'
sd_jwt="$(echo "$issued" | json 'd["credential"]')"
echo "${sd_jwt:0:100}…"

step "Anyone verifies it"
curl -sf -H 'Content-Type: application/json' -d "{\"verifiableCredential\": \"$sd_jwt\"}" \
  "$url/v1/credentials/verify" | json '"checks: " + ", ".join(d["checks"]) + "; ISEE " + str(d["claims"]["isee_value"])'

step "The same as a W3C VC 2.0 credential with an eddsa-rdfc-2022 proof (VC-API shape)"
vc="$(curl -sf -H "Authorization: Bearer $inps" -H 'Content-Type: application/json' \
  -d "{\"credential\": {\"@context\": [\"https://www.w3.org/ns/credentials/v2\", \"https://w3id.org/sigillo/credentials/v1\"],
       \"type\": [\"VerifiableCredential\", \"IseeCredential\"], \"credentialSubject\": $isee}}" \
  "$url/v1/credentials/issue" | json 'json.dumps(d["verifiableCredential"])')"
echo "$vc" | json 'd["proof"]["cryptosuite"] + " by " + d["proof"]["verificationMethod"]'
curl -sf -H 'Content-Type: application/json' -d "{\"verifiableCredential\": $vc}" \
  "$url/v1/credentials/verify" | json '"checks: " + ", ".join(d["checks"])'

step "The Comune di Milano may not issue an ISEE (403)"
code="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $milano" -H 'Content-Type: application/json' \
  -d "{\"vct\": \"isee\", \"claims\": $isee}" "$url/v1/credentials/sd-jwt/issue")"
echo "HTTP $code"; [ "$code" = 403 ]

step "INPS revokes the SD-JWT VC; the verifier refuses it"
curl -sf -H "Authorization: Bearer $inps" -H 'Content-Type: application/json' \
  -d "{\"credentialId\": \"$(echo "$issued" | json 'd["id"]')\", \"status\": \"revoked\"}" "$url/v1/credentials/status"; echo
answer="$(curl -s -H 'Content-Type: application/json' -d "{\"verifiableCredential\": \"$sd_jwt\"}" "$url/v1/credentials/verify")"
echo "$answer"; echo "$answer" | grep -q '"revoked"'

step "The Token Status List (statuslist+jwt, 2 bits x 131,072 entries, signed by INPS)"
list_url="$(echo "$issued" | json 'd["status"]["list"]')"
curl -sfi "$list_url" | grep -iE '^(content-type|cache-control|etag):'
echo; echo "credentials demo: every step did what it said"
