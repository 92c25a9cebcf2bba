#!/usr/bin/env bash
# Installs the independent implementations the interop tests run against, at pinned versions,
# into this directory (node_modules/, .venv/). Idempotent: a second run only checks.
#   - anvil (Foundry's local EVM node), from npm: the anchoring tests' chain;
#   - openssl (Debian): `openssl ts -query/-reply/-verify`, the reference RFC 3161 tools;
#   - rfc3161-client (PyPI, Trail of Bits): a second RFC 3161 verifier.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

if ! command -v openssl >/dev/null 2>&1; then
    echo "installing openssl (Debian)" >&2
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq openssl >/dev/null
    else sudo apt-get update -qq && sudo apt-get install -y -qq openssl >/dev/null; fi
fi

if [ ! -x node_modules/.bin/anvil ]; then
    echo "installing anvil from npm (package-lock.json pins it)" >&2
    npm ci --no-audit --no-fund --loglevel=error >&2
fi

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import rfc3161_client' 2>/dev/null; then
    echo "installing rfc3161-client from PyPI" >&2
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
fi
node_modules/.bin/anvil --version | head -1 >&2
