#!/bin/sh
# Installs what tests/e2e/test_java_client.py needs: wsimport (JAX-WS RI 2.3 tools, Debian `jaxws`),
# the JAX-WS runtime jars in /usr/share/java (Debian `libjaxws-java` and its dependencies) and a
# JDK (javac). Idempotent: exits 0 at once when everything is present. Debian/Ubuntu only.
set -eu

JARS="jaxws-rt jaxws-api jaxb-api jaxb-runtime jaxb-core jws-api saaj-impl stax-ex streambuffer
mimepull metro-policy gmbal glassfish-management-api istack-commons-runtime javax.activation
FastInfoset txw2"

missing() {
    command -v wsimport >/dev/null 2>&1 || return 0
    command -v javac >/dev/null 2>&1 || return 0
    command -v java >/dev/null 2>&1 || return 0
    for j in $JARS; do
        [ -f "/usr/share/java/$j.jar" ] || return 0
    done
    return 1
}

if ! missing; then
    echo "java client tools present: $(command -v wsimport), $(command -v javac)"
    exit 0
fi

PKGS="jaxws libjaxws-java"
command -v javac >/dev/null 2>&1 || PKGS="$PKGS default-jdk-headless"

if ! command -v apt-get >/dev/null 2>&1; then
    echo "tests/java/install.sh: apt-get not found; install $PKGS (or equivalents) by hand" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo -n"
    else
        echo "tests/java/install.sh: not root and no sudo; run: apt-get install -y $PKGS" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
if ! $SUDO apt-get install -y --no-install-recommends $PKGS; then
    $SUDO apt-get update
    $SUDO apt-get install -y --no-install-recommends $PKGS
fi

if missing; then
    echo "tests/java/install.sh: installed $PKGS but wsimport/javac/jars are still missing" >&2
    exit 1
fi
echo "java client tools installed: $PKGS"
