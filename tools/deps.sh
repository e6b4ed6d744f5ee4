#!/bin/sh
# deps.sh — installs the Debian packages the build and the tests need,
# skipping those already present. Needs root (or sudo) only when something
# is missing.
set -eu
PKGS="
  build-essential pkg-config meson ninja-build git
  clang libclang-rt-14-dev clang-format
  libyaml-dev libpcre2-dev libcmocka-dev libev-dev libssl-dev libcurl4-openssl-dev libmicrohttpd-dev
  libgrpc-dev libabsl-dev libprotobuf-c-dev protobuf-c-compiler protobuf-compiler libedit-dev libsystemd-dev
  python3 python3-pytest python3-grpcio python3-protobuf python3-pexpect
  nginx iproute2 nftables openssl procps valgrind haproxy stress-ng prometheus
  python3-yaml groff-base
  chromium chromium-driver python3-selenium firefox-esr python3-websocket python3-xxhash
  debhelper dpkg-dev lintian man-db systemd
"
missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "deps: missing packages:$missing; run as root: apt-get install$missing" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
