#!/usr/bin/env bash
# The main command: builds Sigillo in release mode and runs the service on its embedded store
# (sled under ./data), printing a walk-through of what to try from another terminal.
# Environment: SIGILLO_LISTEN (default 127.0.0.1:8080), SIGILLO_DATA (default ./data),
# SIGILLO_REGISTRIES_LISTEN (the simulated registries, default 127.0.0.1:8090).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "cargo is missing: install Rust with rustup (https://rustup.rs)" >&2; exit 2; }
cargo build --locked --release --bin sigillo
# First the whole story on a throw-away data directory (SIGILLO_SKIP_DEMO=1 skips it).
if [ -z "${SIGILLO_SKIP_DEMO:-}" ]; then
  SIGILLO_BIN=target/release/sigillo scripts/demo.sh
fi
listen="${SIGILLO_LISTEN:-127.0.0.1:8080}"
url="http://$listen"
bin="$PWD/target/release/sigillo"
registries_listen="${SIGILLO_REGISTRIES_LISTEN:-127.0.0.1:8090}"
registries="http://$registries_listen"
cat <<TXT

Sigillo (notary, RFC 3161 TSA, token ledger, credentials, wallets, eligibility) is starting on $url (data in ${SIGILLO_DATA:-./data}).
Try, from another terminal in $PWD. Every write needs a bearer token of a role that may do it;
the first start writes one per role (operator, platform, auditor) and one per issuer to
${SIGILLO_DATA:-data}/access/new-tokens.txt (hand them out, then delete the file), and
\`$bin tokens create|revoke|list\` manages them (docs/access.md):

  export SIGILLO_TOKEN=\$(awk '\$1 == "operator" {print \$2}' ${SIGILLO_DATA:-data}/access/new-tokens.txt)
  echo "delibera n. 42" > delibera.txt
  $bin stamp --url $url delibera.txt            # hash locally, notarise, save delibera.txt.receipt.json
  $bin verify --receipt delibera.txt.receipt.json --file delibera.txt \\
      --notary-key did-docs/notary/did.json      # offline: prints block, time, checkpoint
  echo "altered" >> delibera.txt
  $bin verify --receipt delibera.txt.receipt.json --file delibera.txt \\
      --notary-key did-docs/notary/did.json      # fails: the file changed (exit 1)
  $bin audit --url $url --since audit.json       # proves the log only grew; run it again later
  curl -s $url/v1/notary/checkpoint              # the latest signed checkpoint (C2SP)
  curl -s $url/notary/did.json                   # the notary's did:web document
  $bin bench --url $url --clients 32 --batch 1000 --seconds 5   # load test

  An RFC 3161 "marca temporale" from the same ledger (the TSA chain is in data/tsa/):
  openssl ts -query -data delibera.txt -sha256 -cert -out delibera.tsq
  curl -s -H "Authorization: Bearer \$SIGILLO_TOKEN" -H 'Content-Type: application/timestamp-query' --data-binary @delibera.tsq \
      $url/v1/tsa -o delibera.tsr
  openssl ts -verify -in delibera.tsr -data delibera.txt -CAfile ${SIGILLO_DATA:-data}/tsa/ca.pem
  openssl ts -reply -in delibera.tsr -text       # serial = entry number, time = block time

  Anchoring on an EVM chain: restart with --anchor-rpc http://NODE:8545 (fund the account it
  prints), then: $bin verify --receipt delibera.txt.receipt.json --file delibera.txt \
      --notary-key did-docs/notary/did.json --upgrade --url $url --rpc http://NODE:8545

  The token ledger (closed-circuit vouchers; the authority key is data/token-authority.key):
  scripts/token-demo.sh $url                     # enrol, define a class, mint, pay in two
                                                 # phases, redeem, read, audit the journal
  curl -s $url/v1/token/ledger                   # the ledger's name, authority, head
  curl -s $url/v1/token/classes                  # classes, rules, supply (public)

  Verifiable credentials (issuer tokens are written once to data/access/new-tokens.txt):
  scripts/credentials-demo.sh $url ${SIGILLO_DATA:-data}   # INPS issues an ISEE as SD-JWT VC and
                                                 # VC 2.0, verify, a refused issuer, revoke
  curl -s $url/v1/credentials/issuers            # issuers, their did:web DIDs and types
  curl -s $url/v1/credentials/types/isee         # SD-JWT VC type metadata with its schema
  $bin credentials bench --url $url --token TOKEN --operation verify   # load test

  Wallets (citizens and businesses), OpenID4VCI issuance into them, calls (bandi) over OpenID4VP:
  scripts/wallet-demo.sh $url ${SIGILLO_DATA:-data} $bin   # residency and ISEE into a citizen's
                                                 # wallet; a company applies to a regional call
                                                 # disclosing only what it asks; stamps verified
  $bin wallet --help                             # create, list, show, import-document, receive,
                                                 # present, export, bench

  Eligibility (Nidi Gratis, a business call) from the simulated registries started beside the
  service on $registries (ANPR, INPS, nurseries, job centres, Registro Imprese, DURC; each answer
  signed; tokens for platforms and operators are in ${SIGILLO_DATA:-data}/access/new-tokens.txt):
  scripts/eligibility-demo.sh $url ${SIGILLO_DATA:-data} $bin $registries   # a family decided in real
                                                 # time, its credential and tokens, the nursery
                                                 # redeems, an offline replay, INPS down -> pending
                                                 # and an operator's review, a company's application
  $bin eligibility check --token TOKEN --measure nidi-gratis --cf CF --child-cf CF --date 2025-10-15
  curl -s $url/v1/eligibility/measures           # the rules' versions and hashes (public)
  curl -s -X PUT -d '{"latency_ms": 10000}' $registries/admin/faults/inps   # inject a fault
  $bin eligibility bench --token TOKEN --registries $registries --clients 64 --seconds 10

Stop with Ctrl-C: the service seals what it accepted and exits.

TXT
# The registries run as their own process: 10,000 synthetic families, 20 ms per answer.
"$bin" registries --listen "$registries_listen" --population 10000 --latency-ms 20 &
registries_pid=$!
trap 'kill $registries_pid 2>/dev/null || true' EXIT
"$bin" serve --listen "$listen" --data "${SIGILLO_DATA:-data}" --registries "$registries"
