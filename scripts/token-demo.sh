#!/usr/bin/env bash
# A walk through the token ledger against a running service (scripts/serve.sh): the authority
# enrols a municipality, a family, a nursery and an auditor, defines a "Nidi Gratis" class;
# the municipality mints, the family pays the nursery in two phases, the nursery redeems; the
# auditor replays the journal. Usage: scripts/token-demo.sh [URL] [DATA_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
url="${1:-http://127.0.0.1:8080}"
data="${2:-data}"
bin="$PWD/target/release/sigillo"
[ -x "$bin" ] || cargo build --locked --release --bin sigillo
export SIGILLO_URL="$url"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
authority="$data/token-authority.key"
step() { printf '\n== %s\n' "$*"; }
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))$2)" "$1"; }

step "keys for the participants (sigillo token keygen)"
for p in comune famiglia asilo revisore; do "$bin" token keygen --out "$work/$p.key" > "$work/$p.pub"; done
cat "$work/famiglia.pub"

step "the authority enrols them and defines the class, in one batch"
seq=$("$bin" token sign --key "$authority" --actor authority \
  enrol --participant "demo-comune-$$" --role issuer --public-key "$(field "$work/comune.pub" "['did']")")
echo "$seq" > "$work/setup.jsonl"
next=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['operation']['seq'] + 1)" "$seq")
for spec in "demo-famiglia-$$ holder famiglia citizen" "demo-asilo-$$ merchant asilo nursery" "demo-revisore-$$ auditor revisore -"; do
  set -- $spec
  extra=(); [ "$4" != "-" ] && extra=(--category "$4")
  "$bin" token sign --key "$authority" --actor authority --seq "$next" enrol --participant "$1" --role "$2" \
    --public-key "$(field "$work/$3.pub" "['did']")" "${extra[@]}" >> "$work/setup.jsonl"
  next=$((next + 1))
done
cat > "$work/nidi.json" <<JSON
{"title":"Nidi Gratis Plus 2025/26","issuer":"demo-comune-$$","decimals":2,
 "holder_categories":["citizen"],"merchant_categories":["nursery"],"holder_limit":300000}
JSON
"$bin" token sign --key "$authority" --actor authority --seq "$next" define-class --class "demo-nidi-$$" --rules "$work/nidi.json" >> "$work/setup.jsonl"
"$bin" token submit "$work/setup.jsonl" | grep -E '"(applied|rejected)"'

step "the municipality mints 1,500.00 to the family"
"$bin" token sign --key "$work/comune.key" --actor "demo-comune-$$" mint --class "demo-nidi-$$" --to "demo-famiglia-$$" --amount 150000 > "$work/mint.json"
"$bin" token submit "$work/mint.json" | grep -E '"(status|index)"'

step "the family reserves 500.00 for the nursery (two-phase); the nursery posts it"
"$bin" token sign --key "$work/famiglia.key" --actor "demo-famiglia-$$" pending --class "demo-nidi-$$" --to "demo-asilo-$$" --amount 50000 --timeout-ms 600000 > "$work/pending.json"
"$bin" token submit "$work/pending.json" | grep -E '"status"'
"$bin" token sign --key "$work/asilo.key" --actor "demo-asilo-$$" post --class "demo-nidi-$$" --pending "$(field "$work/pending.json" "['operation']['id']")" > "$work/post.json"
"$bin" token submit "$work/post.json" | grep -E '"status"'

step "a payment over the balance is refused, and changes nothing (exit 1)"
"$bin" token sign --key "$work/famiglia.key" --actor "demo-famiglia-$$" transfer --class "demo-nidi-$$" --to "demo-asilo-$$" --amount 999999 > "$work/over.json"
"$bin" token submit "$work/over.json" | grep -E '"(code|message)"' || true

step "the nursery redeems 500.00 (burnt, in its settlement report)"
"$bin" token sign --key "$work/asilo.key" --actor "demo-asilo-$$" redeem --class "demo-nidi-$$" --amount 50000 > "$work/redeem.json"
"$bin" token submit "$work/redeem.json" | grep -E '"status"'

step "the family reads its balance (a signed read; it cannot read others')"
"$bin" token balance --key "$work/famiglia.key" --actor "demo-famiglia-$$"

step "the auditor replays the journal from genesis and checks the notarised heads"
sleep 0.5
"$bin" token audit --key "$work/revisore.key" --actor "demo-revisore-$$" \
  --authority "$(curl -s "$url/v1/token/ledger" | python3 -c 'import json,sys; print(json.load(sys.stdin)["authority_did"])')" \
  --notary-key "${SIGILLO_DID_DOCS:-did-docs}/notary/did.json" | grep -E '"(result|entries|stamps_checked|stamp_receipts_verified)"'
