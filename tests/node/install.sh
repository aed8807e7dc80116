#!/bin/sh
# Installs what tests/e2e/test_node_client.py needs: Node.js with npm (Debian `nodejs`, `npm`) and the
# npm `soap` package pinned in tests/node/package.json (its dependencies in package-lock.json, which
# records no download address), into tests/node/node_modules (git ignores it).
# Idempotent: exits 0 at once when everything is present. Debian/Ubuntu only for the system part.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
want=$(sed -n 's/.*"soap": *"\([^"]*\)".*/\1/p' "$here/package.json")

have_soap() {
    [ -f "$here/node_modules/soap/package.json" ] &&
        grep -q "\"version\": *\"$want\"" "$here/node_modules/soap/package.json"
}

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null ||
            { apt-get update -qq && apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null; }
    else
        echo "tests/node/install.sh: node/npm missing; run: apt-get install -y nodejs npm" >&2
        exit 1
    fi
fi
if have_soap; then
    echo "node-soap test client present: soap $want, $(node --version)"
    exit 0
fi
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
have_soap || { echo "tests/node/install.sh: npm did not install soap $want" >&2; exit 1; }
echo "node-soap test client installed: soap $want"
