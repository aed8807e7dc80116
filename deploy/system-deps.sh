#!/usr/bin/env bash
# System packages the test suite needs: PostgreSQL 15 server binaries (tests start their own
# cluster), curl (the example requests' commands), Chromium and its WebDriver (the inbox browser
# tests), wrk (the load generator of `make bench`) and, for the generated-Java-client test,
# wsimport + the JAX-WS runtime jars; for the node-soap client test, Node.js, npm and the npm `soap`
# package (tests/node/install.sh, into the git-ignored tests/node/node_modules); node's oidc-provider
# (npm) for the inbox's ID-porten tests.
# Installs only what is missing, and only as root; otherwise it says what is missing and goes on.
set -u
need=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql)
command -v curl >/dev/null || need+=(curl)  # tests/e2e/test_examples.py runs the README's curl lines
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
command -v wrk >/dev/null || need+=(wrk)  # make bench
command -v xmlsec1 >/dev/null || need+=(xmlsec1)  # DPI: independent check of our XAdES signatures
if [ -x tests/java/install.sh ]; then
  bash tests/java/install.sh || echo "system-deps: Java client tooling could not be installed" >&2
fi
if [ -x tests/node/install.sh ]; then
  bash tests/node/install.sh || echo "system-deps: the node-soap client could not be installed" >&2
fi
# node's oidc-provider (pinned, npm) for the inbox's ID-porten tests, into tests/oidc/node_modules
if [ -x tests/oidc/install.sh ]; then
  bash tests/oidc/install.sh || echo "system-deps: the test OpenID provider could not be installed" >&2
fi
if ((${#need[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "system-deps: installing ${need[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "system-deps: missing ${need[*]} (install them: apt-get install ${need[*]})" >&2
  fi
fi
exit 0
