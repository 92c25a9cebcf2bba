#!/usr/bin/env bash
# Walks through the wallets against a running service, printing each step: the Comune and INPS
# issue residency and ISEE credentials into a citizen's wallet over OpenID4VCI; the Camera di
# Commercio and INPS issue a registration and a DURC to a company, which stamps a document,
# and applies to a regional call over OpenID4VP disclosing only what the call asks; the
# application's receipts verify offline. Exits non-zero if any step does not do what it says.
# Usage: scripts/wallet-demo.sh [URL] [DATA_DIR] [SIGILLO_BINARY]
set -euo pipefail
url="${1:-http://127.0.0.1:8080}"
data="${2:-data}"
bin="${3:-target/release/sigillo}"
tokens="$data/access/new-tokens.txt"
[ -r "$tokens" ] || { echo "no $tokens: the issuer tokens are written there at the first start" >&2; exit 2; }
token() { awk -v who="$1" '$1 == who {print $2}' "$tokens"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
step() { printf '\n== %s\n' "$1"; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export SIGILLO_URL="$url"
offer() { # ISSUER TYPE CLAIMS -> "offer_uri tx_code"
  curl -sf -H "Authorization: Bearer $(token "$1")" -H 'Content-Type: application/json' \
    -d "{\"credential_type\": \"$2\", \"claims\": $3}" "$url/v1/oid4vci/offers" \
    | json 'd["offer_uri_by_reference"] + " " + d["tx_code"]'
}

step "A citizen creates a wallet (keys for holder binding; the file is encrypted, Argon2id + XChaCha20-Poly1305)"
export SIGILLO_WALLET="$work/anna.wallet" SIGILLO_WALLET_PASSPHRASE="anna's demo passphrase"
"$bin" wallet create --owner "Anna Bianchi"

step "The Comune di Cinisello Balsamo offers a residency attestation (OpenID4VCI, pre-authorized code + transaction code)"
read -r uri code < <(offer comune-cinisello-balsamo residenza '{"fiscal_code": "BNCNNA85M41F205X", "given_name": "Anna",
  "family_name": "Bianchi", "birth_date": "1985-08-01", "resident_since": "2012-04-02", "address": {"street_address":
  "Via Dante 3", "locality": "Cinisello Balsamo", "postal_code": "20092", "province": "MI", "region": "Lombardia"}}')
echo "offer: ${uri:0:90}…  transaction code (sent to Anna separately): $code"
"$bin" wallet receive "$uri" --tx-code "$code" --copies 2

step "INPS offers her ISEE attestation"
read -r uri code < <(offer inps isee '{"fiscal_code": "BNCNNA85M41F205X", "isee_value": 18500.5, "isee_type":
  "minorenni", "dsu_protocol": "INPS-ISEE-2026-00000123456", "dsu_valid_from": "2026-01-15", "dsu_valid_until": "2026-12-31"}')
"$bin" wallet receive "$uri" --tx-code "$code"
"$bin" wallet list

step "The same offer cannot be redeemed twice"
if "$bin" wallet receive "$uri" --tx-code "$code" 2>"$work/err"; then echo "accepted twice!" >&2; exit 1; fi
grep -o 'invalid_grant' "$work/err" | head -1

step "A company creates its wallet and receives its registration and DURC"
export SIGILLO_WALLET="$work/brambilla.wallet" SIGILLO_WALLET_PASSPHRASE="company demo passphrase"
"$bin" wallet create --owner "Officine Brambilla S.r.l." --kind business
read -r uri code < <(offer camera-commercio-milano registro-imprese '{"vat_number": "01234567890", "company_name":
  "Officine Brambilla S.r.l.", "seat": {"street_address": "Via Segreta 17", "locality": "Monza", "postal_code": "20900",
  "province": "MB", "region": "Lombardia"}, "ateco_code": "62.01", "employees": 23, "company_status": "attiva"}')
"$bin" wallet receive "$uri" --tx-code "$code"
read -r uri code < <(offer inps durc '{"vat_number": "01234567890", "regular": true, "issue_date": "2026-10-01",
  "valid_until": "2027-01-29", "protocol": "INPS_98765432"}')
"$bin" wallet receive "$uri" --tx-code "$code"

step "It keeps its balance sheet in the wallet, stamped by the notary"
echo "Bilancio 2025 - Officine Brambilla S.r.l." > "$work/bilancio-2025.txt"
# The service's operator gives the company a holder token; it stamps with it.
holder="$("$bin" tokens create --data "$data" --name officine-brambilla --role holder --scope 01234567890)"
"$bin" wallet import-document "$work/bilancio-2025.txt" --token "$holder"

step "Regione Lombardia publishes a call: DCQL query + rules (seat in Lombardy, < 50 employees, ATECO, DURC regular and valid)"
camera="$(curl -sf "$url/issuers/camera-commercio-milano/did.json" | json 'd["id"]')"
call="$(curl -sf -H "Authorization: Bearer $(token regione-lombardia)" -H 'Content-Type: application/json' -d '{
  "title": "Bando Digitalizzazione PMI 2026",
  "dcql_query": {"credentials": [
    {"id": "visura", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:sigillo:vct:registro-imprese:1"]},
     "claims": [{"path": ["seat", "region"]}, {"path": ["employees"]}, {"path": ["ateco_code"]}]},
    {"id": "durc", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:sigillo:vct:durc:1"]},
     "claims": [{"path": ["regular"]}, {"path": ["valid_until"]}]}]},
  "issuers": {"visura": ["'"$camera"'"]},
  "rules": [
    {"credential": "visura", "path": ["seat", "region"], "op": "==", "value": "Lombardia"},
    {"credential": "visura", "path": ["employees"], "op": "<", "value": 50},
    {"credential": "visura", "path": ["ateco_code"], "op": "in", "value": ["62.01", "62.02", "63.11"]},
    {"credential": "durc", "path": ["regular"], "op": "==", "value": true},
    {"credential": "durc", "path": ["valid_until"], "op": ">=", "value": "2026-11-22"}]}' "$url/v1/calls" | json 'd["id"]')"
echo "call $call"

step "The company applies (OpenID4VP): the wallet shows what will leave, then sends only that"
request="$(curl -sf -X POST "$url/v1/calls/$call/requests" | json 'd["request_uri_by_reference"]')"
"$bin" wallet present "$request" --yes --out "$work/application.json"

step "Anyone verifies the application's stamps offline (presentation and signed result)"
for part in presentation result; do
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); json.dump(d['receipts'][sys.argv[2]], open(sys.argv[3],'w'))" \
    "$work/application.json" "$part" "$work/$part.receipt.json"
  digest="$(json "d['${part}_sha256']" < "$work/application.json")"
  "$bin" verify --receipt "$work/$part.receipt.json" --digest "$digest" --notary-key did-docs/notary/did.json
done

step "A replayed answer is refused (the request's state is spent)"
if "$bin" wallet present "$request" --yes >/dev/null 2>"$work/err"; then echo "replay accepted!" >&2; exit 1; fi
tail -1 "$work/err"

printf '\nwallet demo: every step did what it says\n'
