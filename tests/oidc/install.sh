#!/usr/bin/env bash
# Installs node's oidc-provider (the pinned version of tests/oidc/package.json) into
# tests/oidc/node_modules (gitignored) for the inbox's ID-porten tests. Needs node >= 20 and npm;
# downloads nothing but npm packages. Called by deploy/system-deps.sh (so by `make test`).
set -eu
cd "$(dirname "$0")"
want=$(node -e 'console.log(require("./package.json").dependencies["oidc-provider"])' 2>/dev/null) || {
  echo "oidc-provider: node is missing (install nodejs >= 20 and npm)" >&2
  exit 1
}
have=$(node -e 'console.log(require("./node_modules/oidc-provider/package.json").version)' 2>/dev/null || true)
if [ "$have" = "$want" ]; then
  exit 0
fi
echo "oidc-provider: installing $want into tests/oidc/node_modules"
npm install --no-audit --no-fund --no-package-lock --omit=dev --loglevel=error >/dev/null
