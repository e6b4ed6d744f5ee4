#!/bin/sh
# deps-cross.sh ARCH — what a cross-build of the package for ARCH needs
# (tools/pkg-deb.sh ARCH, part of `make pkg-deb`), the Debian way: ARCH as a
# foreign architecture of dpkg, crossbuild-essential-ARCH, the package's
# Build-Depends for ARCH through multiarch (apt-get build-dep -a ARCH, from
# debian/control, so they are the declared ones), qemu-user-static and file
# to run and inspect the result. Installs only what is missing; needs root
# (or sudo) then. Not part of `make deps` (the tests do not cross-build).
set -eu
arch=${1:?usage: tools/deps-cross.sh ARCH}
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
updated=""
if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
    echo "deps-cross: adding dpkg architecture $arch"
    $SUDO dpkg --add-architecture "$arch"
    $SUDO apt-get update -q
    updated=1
fi
missing=""
for p in "crossbuild-essential-$arch" qemu-user-static file; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
# the Build-Depends of ARCH: dpkg-checkbuilddeps says what is missing
if [ -n "$missing" ] || ! dpkg-checkbuilddeps -a "$arch" >/dev/null 2>&1; then
    [ -n "$updated" ] || $SUDO apt-get update -q
    if [ -n "$missing" ]; then
        echo "deps-cross: installing:$missing"
        # shellcheck disable=SC2086
        $SUDO apt-get install -y -q --no-install-recommends $missing
    fi
    echo "deps-cross: Build-Depends for $arch (apt-get build-dep -a $arch)"
    $SUDO apt-get build-dep -y -q --no-install-recommends -a "$arch" ./
fi
