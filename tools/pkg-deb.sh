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
# Environment: DEB_BUILD_OPTIONS (default "parallel=<nproc> nocheck"),
# LINTIAN=0 (skip lintian). Build-Depends: make deps, or apt-get build-dep .
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

arch=$(dpkg-architecture -qDEB_HOST_ARCH)
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
(cd "$src" && dpkg-buildpackage -us -uc -b)

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

rm -f "$out"/vpp-maglev_*_"$arch".deb "$out"/vpp-maglev-dbgsym_*_"$arch".deb \
    "$out"/vpp-maglev-dbgsym_*_"$arch".ddeb
cp "$deb" "$dbg" "$out/"
echo "pkg-deb: ${out#"$top"/}/$(basename "$deb")"
echo "pkg-deb: ${out#"$top"/}/$(basename "$dbg")"
