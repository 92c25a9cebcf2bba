#!/usr/bin/env bash
# Walks through eligibility against a running service and the simulated registries, printing
# each step: a family applies for Nidi Gratis and is decided in real time from ANPR, INPS and
# the nursery register; it receives its credential in its wallet and its monthly contribution
# as tokens that only its nursery can be paid in; the nursery redeems them; an auditor replays
# the decision offline; with INPS down an application is pending and an operator resolves it;
# a company applies to the business call. Exits non-zero if any step does not do what it says.
# Usage: scripts/eligibility-demo.sh [URL] [DATA_DIR] [SIGILLO_BINARY] [REGISTRIES_URL] [DID_DOCS]
set -euo pipefail
url="${1:-http://127.0.0.1:8080}"
data="${2:-data}"
bin="${3:-target/release/sigillo}"
registries="${4:-http://127.0.0.1:8090}"
did_docs="${5:-did-docs}"
tokens="$data/access/new-tokens.txt"
[ -r "$tokens" ] || { echo "no $tokens: start the service with --registries (scripts/serve.sh does)" >&2; exit 2; }
token() { awk -v who="$1" '$1 == who {print $2}' "$tokens"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
step() { printf '\n== %s\n' "$1"; }
work="$(mktemp -d)"
trap 'curl -s -X PUT -H "Content-Type: application/json" -d "{}" "$registries/admin/faults/inps" >/dev/null || true; rm -rf "$work"' EXIT
export SIGILLO_URL="$url"
platform="$(token platform)" operator="$(token operator)"
date=2025-10-15

step "The rules: each measure's dated versions, legal basis and rule-set hash (public)"
curl -sf "$url/v1/eligibility/measures" | json '"\n".join(v["id"] + "  " + v["legal_basis"] + "  " + v["rule_set_hash"][:16] + "…" for m in d["measures"] for v in m["versions"])'

step "A family applies for Nidi Gratis Plus 2025/26 (the first eligible of the simulated households)"
"$bin" token keygen --out "$work/family.key" > "$work/family.pub"
family_did="$(json 'd["did"]' < "$work/family.pub")"
curl -sf "$registries/admin/applicants?kind=family&limit=200" | json '"\n".join(a["fiscal_code"] + " " + a["child_fiscal_code"] for a in d)' > "$work/families"
found=""
while read -r cf child; do
  "$bin" eligibility check --token "$platform" --measure nidi-gratis --cf "$cf" --child-cf "$child" \
    --date "$date" --token-key "$family_did" > "$work/decision.json" 2>/dev/null
  if [ "$(json 'd["outcome"] == "eligible" and (d["monthly_amount_cents"] or 0) > 0' < "$work/decision.json")" = True ]; then
    found="$cf"; break
  fi
done < "$work/families"
[ -n "$found" ] || { echo "no eligible family among the first 200" >&2; exit 1; }
json '"decision " + d["decision_id"] + ": " + d["outcome"] + ", " + str(d["monthly_amount_cents"] / 100) + " euro a month"' < "$work/decision.json"
json '"\n".join("  " + r["status"].ljust(12) + " " + r["reason"] for r in d["requirements"])' < "$work/decision.json"
id="$(json 'd["decision_id"]' < "$work/decision.json")"

step "It receives its Nidi Gratis credential (SD-JWT VC) in its wallet, with the code shown to it"
export SIGILLO_WALLET="$work/family.wallet" SIGILLO_WALLET_PASSPHRASE="family demo passphrase"
"$bin" wallet create --owner "Famiglia $found"
"$bin" wallet receive "$(json 'd["consequences"]["credential_offer"]' < "$work/decision.json")" \
  --tx-code "$(json 'd["tx_code"]' < "$work/decision.json")"

step "Its first month is minted as tokens only its nursery can be paid in"
holder="$(json 'd["consequences"]["tokens"]["mint"]["holder"]' < "$work/decision.json")"
class="$(json 'd["consequences"]["tokens"]["mint"]["class"]' < "$work/decision.json")"
amount="$(json 'd["consequences"]["tokens"]["mint"]["amount"]' < "$work/decision.json")"
nursery="${class#*.}"
echo "holder $holder, class $class, $amount cents"
"$bin" token keygen --out "$work/nursery.key" > "$work/nursery.pub"
"$bin" token sign --key "$data/token-authority.key" --actor authority enrol --participant "$nursery" --role merchant \
  --public-key "$(json 'd["did"]' < "$work/nursery.pub")" --category "$nursery" > "$work/enrol.json"
"$bin" token submit "$work/enrol.json" > "$work/out" && grep -q applied "$work/out" || { echo "enrolling the nursery failed" >&2; exit 1; }
echo "the authority enrolled the nursery $nursery"
"$bin" token sign --key "$work/family.key" --actor "$holder" transfer --class "$class" --to "$nursery" --amount "$amount" > "$work/pay.json"
"$bin" token submit "$work/pay.json" > "$work/out" && grep -q '"applied"' "$work/out" || { echo "the payment failed" >&2; exit 1; }
echo "the family paid $amount cents to $nursery"
"$bin" token sign --key "$work/nursery.key" --actor "$nursery" redeem --class "$class" --amount "$amount" > "$work/redeem.json"
"$bin" token submit "$work/redeem.json" > "$work/out" && grep -q '"applied"' "$work/out" || { echo "the redemption failed" >&2; exit 1; }
echo "the nursery redeemed them (burnt, in its settlement report)"

step "An auditor replays the decision offline: registry signatures, rules, notary receipt"
curl -sf "$registries/.well-known/jwks.json" > "$work/registry-keys.json"
for _ in $(seq 50); do
  curl -sf -H "Authorization: Bearer $operator" "$url/v1/eligibility/decisions/$id/evidence" > "$work/evidence.json"
  [ "$(json 'd["receipt"] is not None' < "$work/evidence.json")" = True ] && break; sleep 0.1
done
"$bin" replay "$id" --evidence "$work/evidence.json" --registry-keys "$work/registry-keys.json" --notary-key "$did_docs/notary/did.json"
python3 -c "import json,sys; b=json.load(open(sys.argv[1])); b['evidence']['evaluation']['monthly_amount_cents']=99999; json.dump(b, open(sys.argv[2], 'w'))" "$work/evidence.json" "$work/tampered.json"
if "$bin" replay "$id" --evidence "$work/tampered.json" --registry-keys "$work/registry-keys.json" --notary-key "$did_docs/notary/did.json" 2> "$work/err"; then
  echo "a tampered evidence file replayed!" >&2; exit 1
fi
echo "the same evidence with its amount changed is refused: $(cat "$work/err")"

step "INPS goes down: the same family's application is pending within the deadline, never eligible"
curl -sf -X PUT -H 'Content-Type: application/json' -d '{"outage": true}' "$registries/admin/faults/inps" > /dev/null
child="$(awk -v cf="$found" '$1 == cf {print $2}' "$work/families")"
start=$(date +%s%N)
"$bin" eligibility check --token "$platform" --measure nidi-gratis --cf "$found" --child-cf "$child" --date "$date" > "$work/pending.json" 2>/dev/null
echo "answered in $(( ($(date +%s%N) - start) / 1000000 )) ms: $(json 'd["outcome"]' < "$work/pending.json")"
[ "$(json 'd["outcome"]' < "$work/pending.json")" = pending_manual_review ] || exit 1
curl -sf -X PUT -H 'Content-Type: application/json' -d '{}' "$registries/admin/faults/inps" > /dev/null
"$bin" eligibility reviews --token "$operator" | json '"\n".join(p["decision_id"] + ": " + "; ".join(u["reason"] for u in p["undetermined"]) for p in d["pending"])' | tail -1
pending_id="$(json 'd["decision_id"]' < "$work/pending.json")"
"$bin" eligibility review "$pending_id" --token "$operator" --outcome eligible --amount-cents "$amount" \
  --reason "DSU checked on the INPS portal by the operator" | json '"reviewed: " + d["outcome"] + " by " + d["review"]["reviewer"]'

step "A company applies to the regional business call (Registro Imprese and DURC)"
vat="$(curl -sf "$registries/admin/applicants?kind=business&limit=1" | json 'd[0]["vat"]')"
"$bin" eligibility check --token "$platform" --measure bando-pmi --vat "$vat" --date "$date" 2>/dev/null \
  | json '"partita IVA " + d["applicant"]["vat"] + ": " + d["outcome"] + "\n" + "\n".join("  " + r["status"].ljust(12) + " " + r["reason"] for r in d["requirements"])'

printf '\nThe eligibility walk-through completed.\n'
