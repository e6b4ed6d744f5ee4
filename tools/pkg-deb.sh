#!/bin/bash
# pkg-deb.sh — builds the vpp-maglev Debian package (`make pkg-deb`).
#
# Copies the working tree (tracked and untracked files, .gitignore'd ones
# left out) to build/pkg-deb/<arch>/vpp-maglev/, writes debian/changelog
# there with the version <VERSION>~g<git short commit>, runs
# `dpkg-buildpackage -us -uc -b` (debian/: debhelper 13, meson), checks the
# result with lintian (errors and warnings fail; LINTIAN=0 skips it), and
# copies the .deb and its -dbgsym to build/<arch>/.
#
# The build happens in a copy so that neither dh_clean nor the build
# directory (obj-*) touches the working tree, and dpkg-buildpackage's output
# (written next to the source directory) stays under build/. The copy lies
# inside the git work tree, so tools/gen-version.sh still finds the commit
# (and marks it -dirty when tracked files are modified).
#
# Usage: tools/pkg-deb.sh [HOST_ARCH]. Without it, the machine's own
# architecture. With another one (arm64), a cross-build the Debian way:
# `dpkg-buildpackage --host-arch HOST_ARCH` (debhelper gives meson its cross
# file), with crossbuild-essential-HOST_ARCH and the Build-Depends of
# HOST_ARCH installed through multiarch by tools/deps-cross.sh; then the
# result is run under qemu-user-static: `maglevd --version`, `maglevc
# --version` and `maglevd --check` of the shipped /etc/maglev/maglev.yaml.
#
# Environment: DEB_BUILD_OPTIONS (default "parallel=<nproc> nocheck"),
# LINTIAN=0 (skip lintian). Build-Depends: make deps, or apt-get build-dep .
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

build_arch=$(dpkg-architecture -qDEB_BUILD_ARCH)
arch=${1:-$(dpkg-architecture -qDEB_HOST_ARCH)}
cross=()
if [ "$arch" != "$build_arch" ]; then
    tools/deps-cross.sh "$arch"
    cross=(--host-arch "$arch")
fi
version=$(tr -d ' \n' < VERSION)
commit=$(git rev-parse --short HEAD)
pkgver="${version}~g${commit}"
stage="$top/build/pkg-deb/$arch"
src="$stage/vpp-maglev"
out="$top/build/$arch"

echo "pkg-deb: vpp-maglev $pkgver ($arch) in ${stage#"$top"/}"
rm -rf "$stage"
mkdir -p "$src" "$out"

# The working tree as it is: tracked files (minus deleted ones) and untracked
# files that are not ignored.
git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do
        if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
    done |
    tar --null -T - -cf - | tar -xf - -C "$src"

# debian/changelog: the version comes from VERSION and the commit; the date
# is the commit's (dpkg derives SOURCE_DATE_EPOCH from it, and
# gen-version.sh the build date shown by --version).
maint=$(sed -n 's/^Maintainer: //p' debian/control)
date=$(LC_ALL=C date -u -R -d "@$(git log -1 --format=%ct)")
dirty=""
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
    dirty="  * Built from a work tree with uncommitted changes."
fi
{
    echo "vpp-maglev ($pkgver) unstable; urgency=medium"
    echo
    echo "  * vpp-maglev $version, git commit $commit."
    [ -z "$dirty" ] || echo "$dirty"
    echo
    echo " -- $maint  $date"
} > "$src/debian/changelog"

export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-parallel=$(nproc) nocheck}"
(cd "$src" && dpkg-buildpackage -us -uc -b "${cross[@]}")

deb="$stage/vpp-maglev_${pkgver}_${arch}.deb"
dbg=""
for f in "$stage/vpp-maglev-dbgsym_${pkgver}_${arch}.deb" "$stage/vpp-maglev-dbgsym_${pkgver}_${arch}.ddeb"; do
    if [ -f "$f" ]; then dbg="$f"; fi
done
if [ ! -f "$deb" ] || [ -z "$dbg" ]; then
    echo "pkg-deb: dpkg-buildpackage did not produce $(basename "$deb") and its -dbgsym" >&2
    ls -l "$stage" >&2
    exit 1
fi

if [ "${LINTIAN:-1}" != 0 ]; then
    if command -v lintian >/dev/null; then
        echo "pkg-deb: lintian"
        lintian --fail-on error,warning --display-info "$deb" "$dbg"
        echo "pkg-deb: lintian: no errors, no warnings"
    else
        echo "pkg-deb: lintian is not installed (make deps): not checked" >&2
    fi
fi

if [ ${#cross[@]} -gt 0 ]; then
    # the foreign binaries run: under qemu, with the HOST_ARCH libraries the
    # Build-Depends brought in through multiarch
    qemu="qemu-$(dpkg-architecture -a "$arch" -qDEB_HOST_GNU_CPU 2>/dev/null)-static"
    root="$stage/root"
    rm -rf "$root"
    dpkg-deb -x "$deb" "$root"
    echo "pkg-deb: $arch binaries under $qemu"
    file "$root/usr/sbin/maglevd" "$root/usr/bin/maglevc"
    "$qemu" "$root/usr/sbin/maglevd" --version
    "$qemu" "$root/usr/bin/maglevc" --version
    "$qemu" "$root/usr/sbin/maglevd" --check --config "$root/etc/maglev/maglev.yaml"
    # and a short run: maglevd serving its API (backends without
    # healthcheck: nothing probed; no VPP), maglevc calling it
    runcfg=tests/config/valid/backend-without-healthcheck.yaml
    sock="unix:$stage/run.sock"
    "$qemu" "$root/usr/sbin/maglevd" --config "$runcfg" --vpp-api-addr "" --metrics-addr "" \
        --grpc-addr "$sock" --log-level warn &
    pid=$!
    answer=""
    for _ in $(seq 1 150); do
        answer=$("$qemu" "$root/usr/bin/maglevc" --server "$sock" show backend static 2>/dev/null) &&
            break
        answer=""
        sleep 0.2
    done
    kill -TERM "$pid"
    wait "$pid" || true
    if ! grep -q 192.0.2.11 <<<"$answer"; then
        echo "pkg-deb: $arch: maglevc got no answer from maglevd under $qemu" >&2
        exit 1
    fi
    echo "$answer"
    echo "pkg-deb: $arch: --version, --check of the shipped config, maglevc show backend" \
        "answered by a running maglevd: OK"
fi

rm -f "$out"/vpp-maglev_*_"$arch".deb "$out"/vpp-maglev-dbgsym_*_"$arch".deb \
    "$out"/vpp-maglev-dbgsym_*_"$arch".ddeb
cp "$deb" "$dbg" "$out/"
echo "pkg-deb: ${out#"$top"/}/$(basename "$deb")"
echo "pkg-deb: ${out#"$top"/}/$(basename "$dbg")"
