#!/usr/bin/env bash
# Installs the independent implementations the interop tests run against, at pinned versions,
# into this directory (node_modules/, .venv/). Idempotent: a second run only checks.
#   - anvil (Foundry's local EVM node), from npm: the anchoring tests' chain;
#   - openssl (Debian): `openssl ts -query/-reply/-verify`, the reference RFC 3161 tools;
#   - rfc3161-client (PyPI, Trail of Bits): a second RFC 3161 verifier;
#   - @sd-jwt/sd-jwt-vc, @sd-jwt/crypto-nodejs, @sd-jwt/jwt-status-list (npm) and sd-jwt (PyPI):
#     SD-JWT VC peers; Digital Bazaar's @digitalbazaar/vc stack (npm): the VC 2.0 peer.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

if ! command -v openssl >/dev/null 2>&1; then
    echo "installing openssl (Debian)" >&2
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq openssl >/dev/null
    else sudo apt-get update -qq && sudo apt-get install -y -qq openssl >/dev/null; fi
fi

if [ ! -x node_modules/.bin/anvil ] || [ ! -d node_modules/@sd-jwt/sd-jwt-vc ] \
    || [ ! -d node_modules/@digitalbazaar/vc-bitstring-status-list ]; then
    echo "installing the npm peers (package-lock.json pins them)" >&2
    npm ci --no-audit --no-fund --loglevel=error >&2
fi

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import rfc3161_client, sd_jwt' 2>/dev/null; then
    echo "installing rfc3161-client and sd-jwt from PyPI" >&2
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
fi
node_modules/.bin/anvil --version | head -1 >&2
