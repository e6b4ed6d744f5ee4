#!/bin/bash
# test_install.sh — the vpp-maglev Debian package on this machine: build it
# (tools/pkg-deb.sh, lintian included), install it, check what it ships and
# what its maintainer scripts did, reinstall it over itself and upgrade it
# to a newer version with a locally modified conffile, then purge it and
# check that nothing is left but the maglevd system user (Debian policy: a
# system user stays, files it owned may remain elsewhere).
#
# Needs root and a Debian system; no systemd as PID 1 (nothing is started:
# the package does not start maglevd on its first install, and the
# maintainer scripts skip systemctl without /run/systemd/system). A smoke
# run starts the installed maglevd by hand, as user maglevd, on a loopback
# config without VPP. Purges the package on exit whatever happens, and
# removes the maglevd user and the vpp group if this test created them.
#
# usage: tests/pkg/test_install.sh [--deb FILE]   (--deb: skip the build)
# Refuses to run when vpp-maglev is already installed (it would purge it).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
top=$(pwd)
t0=$(date +%s)

deb=""
if [ "${1:-}" = "--deb" ] && [ -n "${2:-}" ]; then deb=$(readlink -f "$2"); fi

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   - $*"; }
bad() { fail=$((fail + 1)); echo "FAIL - $*"; }
check() { # check NAME COMMAND...: passes when the command exits 0
    local name=$1
    shift
    if "$@" >/tmp/pkgtest.$$.out 2>&1; then ok "$name"; else
        bad "$name"
        sed 's/^/       /' /tmp/pkgtest.$$.out | head -20
    fi
}
finish() {
    local secs=$(($(date +%s) - t0))
    echo
    if [ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]; then
        echo "test_install: PASS ($pass checks, ${secs}s)"
        exit 0
    fi
    echo "test_install: FAIL ($fail of $((pass + fail)) checks failed, ${secs}s)"
    exit 1
}

if [ "$(id -u)" -ne 0 ]; then
    echo "test_install: skipped: not root (dpkg -i needs root)"
    exit 77
fi
if dpkg-query -W -f='${db:Status-Status}' vpp-maglev 2>/dev/null | grep -qv '^not-installed$'; then
    echo "test_install: vpp-maglev is installed on this machine; this test would purge it." >&2
    echo "test_install: remove it first (dpkg --purge vpp-maglev), then run the test again." >&2
    exit 1
fi

# What this test creates outside the package, to undo on exit.
created_user=0
created_group_vpp=0
getent passwd maglevd >/dev/null || created_user=1
tmp=$(mktemp -d /tmp/pkgtest.XXXXXX)
smoke_pid=""

cleanup() {
    [ -z "$smoke_pid" ] || kill "$smoke_pid" 2>/dev/null
    if dpkg-query -W -f='${db:Status-Status}' vpp-maglev 2>/dev/null | grep -qv '^not-installed$'; then
        echo "cleanup: dpkg --purge vpp-maglev"
        dpkg --purge vpp-maglev >/dev/null 2>&1 || echo "cleanup: purge FAILED" >&2
    fi
    if [ "$created_user" = 1 ] && getent passwd maglevd >/dev/null; then
        deluser --quiet --system maglevd >/dev/null 2>&1
        getent group maglevd >/dev/null && delgroup --quiet --system maglevd >/dev/null 2>&1
    fi
    if [ "$created_group_vpp" = 1 ]; then delgroup --quiet --system vpp >/dev/null 2>&1; fi
    rm -rf "$tmp" /tmp/pkgtest.$$.out
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# Everything named *maglev* under these trees, before and after (the purge
# must bring it back to what it was). /run and /tmp are left out: tests of
# other suites use /run/vpp-maglev.
snapshot() {
    # /var/cache/man is man-db's: cat pages formatted while the package was
    # installed are its cache, which its own cron job expires
    find /etc /usr /lib /var/lib /var/cache /var/log \( -path /var/lib/dpkg/info -prune \) -o \
        \( -path /var/cache/man -prune \) -o \
        \( -name '*maglev*' -print \) 2>/dev/null | sort
}
snapshot > "$tmp/before"

# --- build ---------------------------------------------------------------
version=$(tr -d ' \n' < VERSION)
commit=$(git rev-parse --short HEAD)
pkgver="${version}~g${commit}"
arch=$(dpkg --print-architecture)
if [ -z "$deb" ]; then
    echo "=== build: tools/pkg-deb.sh (lintian included)"
    if DEB_BUILD_OPTIONS="parallel=2 nocheck" tools/pkg-deb.sh > "$tmp/build.log" 2>&1; then
        ok "tools/pkg-deb.sh builds the package, lintian clean"
        grep '^[EWIO]: ' "$tmp/build.log" | sed 's/^/       lintian: /'
    else
        bad "tools/pkg-deb.sh (log below)"
        tail -40 "$tmp/build.log" | sed 's/^/       /'
        finish
    fi
    deb="$top/build/$arch/vpp-maglev_${pkgver}_${arch}.deb"
    check "build/$arch has the .deb" test -f "$deb"
    check "build/$arch has the -dbgsym" \
        sh -c "ls '$top/build/$arch/vpp-maglev-dbgsym_${pkgver}_${arch}'.*deb"
else
    pkgver=$(dpkg-deb -f "$deb" Version)
fi
[ -f "$deb" ] || finish

# --- install ---------------------------------------------------------------
echo "=== install: dpkg -i $(basename "$deb")"
check "dpkg -i" dpkg -i "$deb"
check "installed, version $pkgver" \
    sh -c "[ \"\$(dpkg-query -W -f='\${db:Status-Abbrev}\${Version}' vpp-maglev)\" = 'ii $pkgver' ]"

mode_is() { # mode_is PATH MODE OWNER:GROUP
    [ "$(stat -c '%a %U:%G' "$1")" = "$2 $3" ] || { stat -c '%n: %a %U:%G' "$1"; return 1; }
}
check "/usr/sbin/maglevd 755 root" mode_is /usr/sbin/maglevd 755 root:root
check "/usr/bin/maglevc 755 root" mode_is /usr/bin/maglevc 755 root:root
check "/usr/bin/maglevt 755 root" mode_is /usr/bin/maglevt 755 root:root
check "/lib/systemd/system/maglevd.service 644" \
    mode_is /lib/systemd/system/maglevd.service 644 root:root
check "/etc/default/maglev 644" mode_is /etc/default/maglev 644 root:root
check "/etc/maglev/maglev.yaml 644" mode_is /etc/maglev/maglev.yaml 644 root:root
check "conffiles: /etc/default/maglev, /etc/maglev/maglev.yaml" sh -c \
    "dpkg-query -W -f='\${Conffiles}\n' vpp-maglev | awk 'NF {print \$1}' | sort | tr '\n' ' ' |
     grep -qx '/etc/default/maglev /etc/maglev/maglev.yaml '"
check "/etc/default/maglev: every variable commented out" \
    sh -c "! grep -Ev '^[[:space:]]*(#|$)' /etc/default/maglev"
for v in MAGLEV_CONFIG MAGLEV_LOG_LEVEL MAGLEV_LOG_FORMAT MAGLEV_GRPC_ADDR MAGLEV_GRPC_TLS_CERT \
    MAGLEV_GRPC_TLS_KEY MAGLEV_GRPC_TLS_CLIENT_CA MAGLEV_GRPC_SOCKET_GROUP \
    MAGLEV_GRPC_SOCKET_MODE MAGLEV_GRPC_MAX_CONNECTIONS MAGLEV_GRPC_HANDSHAKE_TIMEOUT \
    MAGLEV_GRPC_IDLE_TIMEOUT MAGLEV_VPP_API_ADDR MAGLEV_VPP_SYNC_DRY_RUN MAGLEV_VPP_STATS_ADDR \
    MAGLEV_METRICS_ADDR MAGLEVD_OPTS; do
    grep -q "^#$v=" /etc/default/maglev || bad "/etc/default/maglev lacks #$v="
done
check "/etc/default/maglev names every MAGLEV_* variable of maglevd --help" sh -c \
    "for v in \$(maglevd --help 2>&1 | grep -o 'MAGLEV_[A-Z_]*' | sort -u); do
         grep -q \"^#\$v=\" /etc/default/maglev || { echo missing \$v; exit 1; }; done"
for m in man8/maglevd.8.gz man1/maglevc.1.gz man1/maglevt.1.gz; do
    check "/usr/share/man/$m" mode_is "/usr/share/man/$m" 644 root:root
done
if [ -f docs/maglev.yaml.5 ]; then
    check "/usr/share/man/man5/maglev.yaml.5.gz" mode_is /usr/share/man/man5/maglev.yaml.5.gz 644 root:root
    check "man -w 5 maglev.yaml" man -w 5 maglev.yaml
fi
check "man -w maglevd" man -w maglevd
check "man -w maglevc" man -w maglevc
check "man -w maglevt" man -w maglevt
check "bash completion for maglevc" test -f /usr/share/bash-completion/completions/maglevc
for d in copyright changelog.gz README.md.gz config-guide.md.gz install.md.gz examples/maglev.yaml; do
    check "/usr/share/doc/vpp-maglev/$d" test -f "/usr/share/doc/vpp-maglev/$d"
done
check "copyright is machine-readable, Apache-2.0" sh -c \
    "head -1 /usr/share/doc/vpp-maglev/copyright | grep -q '^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' &&
     grep -q '^License: Apache-2.0' /usr/share/doc/vpp-maglev/copyright"
check "changelog version $pkgver" sh -c \
    "zcat /usr/share/doc/vpp-maglev/changelog.gz | head -1 | grep -qF 'vpp-maglev ($pkgver)'"

# The maintainer scripts: user, group, home, unit enabled the debhelper way.
check "system user maglevd (uid < 1000, nologin, home /var/lib/maglevd)" sh -c \
    "getent passwd maglevd | awk -F: '\$3 < 1000 && \$6 == \"/var/lib/maglevd\" && \$7 ~ /nologin\$/ {f=1} END {exit !f}'"
check "system group maglevd, maglevd's primary group" sh -c \
    "[ \"\$(id -gn maglevd)\" = maglevd ] && [ \"\$(getent group maglevd | cut -d: -f3)\" -lt 1000 ]"
check "/var/lib/maglevd owned by maglevd" sh -c "[ \"\$(stat -c %U /var/lib/maglevd)\" = maglevd ]"
if getent group vpp >/dev/null; then
    check "maglevd is in group vpp (VPP is installed)" sh -c "id -nG maglevd | grep -qw vpp"
else
    check "no group vpp: maglevd is not added to one" sh -c "! id -nG maglevd | grep -qw vpp"
fi
check "enabled: multi-user.target.wants/maglevd.service" sh -c \
    "[ \"\$(readlink /etc/systemd/system/multi-user.target.wants/maglevd.service)\" = /lib/systemd/system/maglevd.service ]"
check "deb-systemd-helper's state: enabled (purge removes the links)" \
    test -f /var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/maglevd.service
check "not started (no systemd here, and never on the first install)" \
    sh -c "! pgrep -x maglevd -u maglevd"

# The unit.
check "systemd-analyze verify maglevd.service (no output)" sh -c \
    "out=\$(systemd-analyze verify /lib/systemd/system/maglevd.service 2>&1); rc=\$?; echo \"\$out\"; [ \$rc = 0 ] && [ -z \"\$out\" ]"
sec=$(systemd-analyze security --offline=true /lib/systemd/system/maglevd.service 2>&1 |
    sed -n 's/.*Overall exposure level for maglevd.service: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p')
echo "       systemd-analyze security --offline=true: ${sec:-?}"
case "${sec#* }" in
PERFECT | SAFE | OK) ok "systemd-analyze security: $sec (OK or better)" ;;
*) bad "systemd-analyze security: '${sec:-no Overall exposure line}' (want OK or better)" ;;
esac
for k in Type=notify 'ExecStart=/usr/sbin/maglevd $MAGLEVD_OPTS' EnvironmentFile=-/etc/default/maglev \
    'ExecReload=/bin/kill -HUP $MAINPID' User=maglevd RuntimeDirectory=vpp-maglev \
    'AmbientCapabilities=CAP_NET_RAW CAP_SYS_ADMIN' 'CapabilityBoundingSet=CAP_NET_RAW CAP_SYS_ADMIN' \
    Restart=on-failure NoNewPrivileges=yes ProtectSystem=strict LimitNOFILE=65536; do
    grep -qxF "$k" /lib/systemd/system/maglevd.service || bad "maglevd.service lacks '$k'"
done
check "maglevd.service: WatchdogSec= set" grep -q '^WatchdogSec=[1-9]' /lib/systemd/system/maglevd.service

# The programs.
check "maglevd --check (the default config, /etc/maglev/maglev.yaml)" maglevd --check
check "maglevd --check as user maglevd (it can read its config)" \
    runuser -u maglevd -- /usr/sbin/maglevd --check --config /etc/maglev/maglev.yaml
check "maglevd --version: $version" sh -c "maglevd --version | grep -q '^maglevd $version (commit $commit'"
check "maglevc --version: $version" sh -c "maglevc --version | grep -q '^maglevc $version '"
check "maglevt --version: $version" sh -c "maglevt --version | grep -q '^maglevt $version '"
check "maglevt without a target: usage error, exit 2" sh -c "maglevt; [ \$? = 2 ]"
check "ldd: every library of maglevd, maglevc and maglevt resolves" \
    sh -c "! ldd /usr/sbin/maglevd /usr/bin/maglevc /usr/bin/maglevt | grep 'not found'"

# Smoke run of the installed daemon as user maglevd: a loopback backend
# without healthcheck, no VPP, the API on a socket in $tmp; maglevc reads it.
cat > "$tmp/smoke.yaml" <<'EOF'
maglev:
  backends:
    lo:
      address: 127.0.0.1
  frontends:
    smoke:
      address: 192.0.2.200
      protocol: tcp
      port: 80
      pools:
        - name: p
          backends:
            lo: {}
  vpp:
    lb:
      ipv4-src-address: 192.0.2.1
      ipv6-src-address: 2001:db8::1
EOF
chown maglevd:maglevd "$tmp"
chmod 0755 "$tmp"
setpriv --reuid=maglevd --regid=maglevd --init-groups -- /usr/sbin/maglevd --config "$tmp/smoke.yaml" --vpp-api-addr "" \
    --grpc-addr "unix:$tmp/api/maglevd.sock" > "$tmp/smoke.log" 2>&1 &
smoke_pid=$!
for _ in $(seq 50); do [ -S "$tmp/api/maglevd.sock" ] && break; sleep 0.1; done
check "smoke: installed maglevd serves; maglevc show frontends" sh -c \
    "maglevc --server 'unix:$tmp/api/maglevd.sock' --color never show frontends | grep -q smoke"
kill -TERM "$smoke_pid" 2>/dev/null
wait "$smoke_pid"
rc=$?
smoke_pid=""
if [ "$rc" -eq 0 ]; then ok "smoke: maglevd stops cleanly on SIGTERM"; else
    bad "smoke: maglevd exited $rc"
    tail -20 "$tmp/smoke.log" | sed 's/^/       /'
fi

# --- reinstall over itself, then upgrade, with a modified conffile --------
echo "=== reinstall and upgrade, /etc/maglev/maglev.yaml modified locally"
echo "# local change (tests/pkg/test_install.sh)" >> /etc/maglev/maglev.yaml
sum=$(md5sum < /etc/maglev/maglev.yaml)
# dpkg reads conffile answers from stdin: </dev/null fails on any prompt.
check "dpkg -i the same .deb again (no conffile prompt)" dpkg -i "$deb" < /dev/null
check "modified conffile kept over the reinstall" \
    sh -c "[ \"\$(md5sum < /etc/maglev/maglev.yaml)\" = '$sum' ]"

# A newer version of the same package, with group vpp present now (as if
# VPP had been installed in between): the upgrade path of postinst.
if ! getent group vpp >/dev/null; then
    addgroup --quiet --system vpp && created_group_vpp=1
fi
mkdir "$tmp/up"
dpkg-deb -R "$deb" "$tmp/up/root"
sed -i "s/^Version: .*/Version: ${pkgver}+up1/" "$tmp/up/root/DEBIAN/control"
dpkg-deb -b --root-owner-group "$tmp/up/root" "$tmp/up/vpp-maglev_up.deb" >/dev/null
check "upgrade to ${pkgver}+up1 (no conffile prompt)" dpkg -i "$tmp/up/vpp-maglev_up.deb" < /dev/null
check "upgraded: version ${pkgver}+up1" \
    sh -c "[ \"\$(dpkg-query -W -f='\${db:Status-Abbrev}\${Version}' vpp-maglev)\" = 'ii ${pkgver}+up1' ]"
check "modified conffile kept over the upgrade" \
    sh -c "[ \"\$(md5sum < /etc/maglev/maglev.yaml)\" = '$sum' ]"
check "no .dpkg-new/.dpkg-dist/.dpkg-old beside the conffiles" \
    sh -c "! ls /etc/maglev/*.dpkg-* /etc/default/maglev.dpkg-* 2>/dev/null | grep ."
check "maglevd added to group vpp on upgrade" sh -c "id -nG maglevd | grep -qw vpp"
check "still enabled after the upgrade" \
    test -L /etc/systemd/system/multi-user.target.wants/maglevd.service
check "maglevd --check still passes (the modified config)" maglevd --check

# --- purge ------------------------------------------------------------------
echo "=== purge"
check "dpkg --purge vpp-maglev" dpkg --purge vpp-maglev
check "not installed, no config-files left" \
    sh -c "! dpkg-query -W -f='\${db:Status-Status}' vpp-maglev 2>/dev/null | grep -qv '^not-installed\$'"
for p in /usr/sbin/maglevd /usr/bin/maglevc /usr/bin/maglevt /lib/systemd/system/maglevd.service /etc/default/maglev \
    /etc/maglev /var/lib/maglevd /usr/share/doc/vpp-maglev /etc/systemd/system/multi-user.target.wants/maglevd.service; do
    check "gone: $p" sh -c "! [ -e '$p' ] && ! [ -L '$p' ]"
done
snapshot > "$tmp/after"
check "nothing named *maglev* left in /etc /usr /lib /var/lib /var/cache /var/log" \
    diff "$tmp/before" "$tmp/after"
check "the maglevd system user stays (Debian policy 9.2.2)" getent passwd maglevd

finish
