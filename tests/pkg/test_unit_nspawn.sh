#!/bin/bash
# test_unit_nspawn.sh — maglevd.service under a real systemd, without one on
# the host: boots this machine's own root (an overlay on a tmpfs, so nothing
# written inside lasts) in systemd-nspawn, installs the package there and
# drives the unit as an operator would: not started on the first install,
# systemctl start (Type=notify: returns at READY=1), the sandbox and the
# capabilities of the running process, ICMP over a raw socket inside a
# network namespace (CAP_NET_RAW + setns/CAP_SYS_ADMIN), HTTP and TCP probes,
# VPP (vppsim) through /run/vpp/api.sock as a member of group vpp, maglevc
# over /run/vpp-maglev as root and as a member of group maglevd, reload,
# the watchdog killing and restarting a stopped maglevd, restart on
# upgrade, stop on removal, purge.
#
# Optional (not part of `make test`): needs root and systemd-nspawn
# (apt-get install systemd-container). Probes go to loopback only.
# usage: tests/pkg/test_unit_nspawn.sh [--deb FILE]   (default: the newest
#        build/<arch>/vpp-maglev_*.deb; make one with tools/pkg-deb.sh)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
top=$(pwd)
t0=$(date +%s)
arch=$(dpkg --print-architecture)

deb=""
if [ "${1:-}" = "--deb" ] && [ -n "${2:-}" ]; then
    deb=$(readlink -f "$2")
else
    deb=$(ls -t "$top/build/$arch"/vpp-maglev_*_"$arch".deb 2>/dev/null | head -1)
fi
if [ "$(id -u)" -ne 0 ]; then echo "test_unit_nspawn: skipped: not root"; exit 77; fi
if ! command -v systemd-nspawn >/dev/null; then
    echo "test_unit_nspawn: skipped: no systemd-nspawn (apt-get install systemd-container)"
    exit 77
fi
if [ -z "$deb" ] || [ ! -f "$deb" ]; then
    echo "test_unit_nspawn: no package: run tools/pkg-deb.sh first (or --deb FILE)" >&2
    exit 1
fi

work=$(mktemp -d /tmp/unit-nspawn.XXXXXX)
root="$work/root"
mkdir -p "$root" "$work/out" "$work/units"
cleanup() {
    mountpoint -q "$root" && umount "$root"
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
mount --bind / "$root"
had_nspawn_dir=0
[ -e /run/systemd/nspawn ] && had_nspawn_dir=1
cp "$deb" "$work/out/pkg.deb"
cp -r "$top/tools/vppsim" "$work/out/vppsim"

# The boot target: basic.target, then the test, then power off.
cat > "$work/units/unit-test.target" <<'EOF'
[Unit]
Description=maglevd.service test
Requires=basic.target unit-test.service
After=basic.target unit-test.service
AllowIsolate=yes
EOF
cat > "$work/units/unit-test.service" <<'EOF'
[Unit]
Description=maglevd.service test
After=basic.target
[Service]
Type=oneshot
ExecStart=/bin/bash /out/inside.sh
ExecStopPost=/bin/systemctl --no-block poweroff
StandardOutput=journal+console
TimeoutStartSec=300
EOF

cat > "$work/out/inside.sh" <<'INSIDE'
#!/bin/bash
# Runs inside the container as unit-test.service.
set -u
exec > /out/results.txt 2>&1
ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; }
check() {
    local name=$1; shift
    if out=$("$@" 2>&1); then ok "$name"; else bad "$name"; echo "$out" | head -15 | sed 's/^/       /'; fi
}
prop() { systemctl show -P "$1" maglevd.service; }
wait_for() { # wait_for SECONDS COMMAND...
    local n=$(($1 * 10)); shift
    for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    return 1
}
export MAGLEV_SERVER=unix:/run/vpp-maglev/maglevd.sock

# A container image's policy-rc.d (exit 101) forbids the maintainer scripts'
# service actions; a router has none. This is the overlay: the host keeps it.
rm -f /usr/sbin/policy-rc.d
addgroup --quiet --system vpp
check "dpkg -i (group vpp exists, systemd runs)" dpkg -i /out/pkg.deb
check "enabled" sh -c '[ "$(systemctl is-enabled maglevd)" = enabled ]'
check "not started on the first install" sh -c '[ "$(systemctl is-active maglevd)" = inactive ]'
check "maglevd is in group vpp" sh -c 'id -nG maglevd | grep -qw vpp'

# VPP: vppsim on /run/vpp/api.sock, group vpp. A netns with lo up, where
# ping sockets are off (ping_group_range "1 0", a new netns's default):
# ICMP there needs a raw socket. An HTTP server on loopback.
mkdir -p /run/vpp && chgrp vpp /run/vpp && chmod 0750 /run/vpp
/usr/bin/python3 /out/vppsim/vppsim.py --socket /run/vpp/api.sock > /out/vppsim.log 2>&1 &
wait_for 10 test -S /run/vpp/api.sock
chgrp vpp /run/vpp/api.sock
ip netns add mgtest && ip -n mgtest link set lo up
ip netns exec mgtest cat /proc/sys/net/ipv4/ping_group_range | sed 's/^/       mgtest ping_group_range: /'
mkdir -p /tmp/www && echo ok > /tmp/www/healthz
(cd /tmp/www && exec /usr/bin/python3 -m http.server --bind 127.0.0.1 18081) > /dev/null 2>&1 &
openssl req -x509 -newkey rsa:2048 -nodes -keyout /tmp/key.pem -out /tmp/cert.pem -days 1 \
    -subj /CN=localhost > /dev/null 2>&1
(cd /tmp/www && exec /usr/bin/python3 -c '
import http.server, ssl
s = http.server.HTTPServer(("127.0.0.4", 18443), http.server.SimpleHTTPRequestHandler)
c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
c.load_cert_chain("/tmp/cert.pem", "/tmp/key.pem")
s.socket = c.wrap_socket(s.socket, server_side=True)
s.serve_forever()') > /dev/null 2>&1 &

cat > /etc/maglev/maglev.yaml <<'EOF'
maglev:
  healthchecks:
    http:
      type: http
      port: 18081
      interval: 500ms
      rise: 1
      params:
        path: /healthz
    tcp:
      type: tcp
      port: 18081
      interval: 500ms
      rise: 1
    https:
      type: https
      port: 18443
      interval: 500ms
      rise: 1
      params:
        path: /healthz
        response-regex: "^ok"
        tls-insecure: true
    icmp-ns:
      type: icmp
      netns: mgtest
      interval: 500ms
      rise: 1
  backends:
    web:
      address: 127.0.0.1
      healthcheck: http
    tcp:
      address: 127.0.0.3
      healthcheck: tcp
    ping-ns:
      address: 127.0.0.2
      healthcheck: icmp-ns
    tls:
      address: 127.0.0.4
      healthcheck: https
  frontends:
    web:
      address: 192.0.2.100
      protocol: tcp
      port: 80
      pools:
        - name: p
          backends:
            web: {}
    tls:
      address: 192.0.2.102
      protocol: tcp
      port: 443
      pools:
        - name: p
          backends:
            tls: {}
    ping:
      address: 192.0.2.101
      protocol: tcp
      port: 80
      pools:
        - name: p
          backends:
            ping-ns: {}
  vpp:
    lb:
      ipv4-src-address: 192.0.2.1
      ipv6-src-address: 2001:db8::1
      startup-min-delay: 0s
      startup-max-delay: 0s
EOF
# 127.0.0.3:18081 is closed: the tcp backend goes down (a real probe result).

check "systemctl start maglevd (Type=notify: READY=1)" systemctl start maglevd
check "active (running)" sh -c '[ "$(systemctl is-active maglevd)" = active ]'
pid=$(prop MainPID)
echo "       MainPID $pid, StatusText: $(prop StatusText)"
check "runs as maglevd:maglevd, with group vpp" sh -c \
    "[ \"\$(ps -o user=,group= -p $pid | tr -s ' ')\" = 'maglevd maglevd' ] && grep -q \"^Groups:.*\$(getent group vpp | cut -d: -f3)\" /proc/$pid/status"
check "capabilities: exactly cap_net_raw,cap_sys_admin (effective, bounding)" sh -c \
    "for f in CapEff CapBnd CapAmb; do v=\$(sed -n \"s/^\$f:\\t//p\" /proc/$pid/status); [ \"\$(capsh --decode=\$v | cut -d= -f2)\" = cap_net_raw,cap_sys_admin ] || { echo \$f \$v; exit 1; }; done"
check "NoNewPrivs 1, seccomp filter on" sh -c \
    "grep -q '^NoNewPrivs:.*1' /proc/$pid/status && grep -q '^Seccomp:.*2' /proc/$pid/status"
check "/etc is read-only for it (ProtectSystem=strict)" sh -c \
    "nsenter -t $pid -m sh -c 'touch /etc/maglev/x' 2>&1 | grep -q 'Read-only file system'"
check "/run/vpp-maglev 750 maglevd:maglevd" sh -c \
    '[ "$(stat -c "%a %U:%G" /run/vpp-maglev)" = "750 maglevd:maglevd" ]'
check "API socket 660, group maglevd" sh -c \
    '[ "$(stat -c "%a %G" /run/vpp-maglev/maglevd.sock)" = "660 maglevd" ]'
check "LimitNOFILE=65536 (soft = hard)" sh -c \
    "[ \"\$(systemctl show -P LimitNOFILE maglevd)\" = 65536 ] && grep -Eq 'Max open files +([0-9]+) +\\1 ' /proc/$pid/limits"
echo "       $(grep 'Max open files' /proc/$pid/limits) (at most the container's own hard limit)"

state() { maglevc --color never show backend "$1" | head -1 | grep -qw "$2"; }
check "http probe: web up" wait_for 15 state web up
check "icmp probe over a raw socket inside netns mgtest: ping-ns up" wait_for 15 state ping-ns up
check "https probe (OpenSSL, a PCRE2 regex under MemoryDenyWriteExecute): tls up" wait_for 15 state tls up
check "tcp probe: tcp down (closed port)" wait_for 15 state tcp down
check "no SOCKERR (capabilities suffice)" sh -c "! journalctl -u maglevd --no-pager | grep -q SOCKERR"
check "VPP connected through /run/vpp/api.sock" wait_for 15 sh -c \
    "maglevc --color never show vpp info | head -1 | grep -qw connected"
check "VPP has the VIPs" wait_for 15 sh -c \
    "maglevc --color never show vpp lb state | grep -q 192.0.2.100"

useradd --system --no-create-home operator1 && adduser --quiet operator1 maglevd
check "maglevc as a member of group maglevd" runuser -u operator1 -- maglevc show version
useradd --system --no-create-home outsider
check "maglevc refused to a non-member" sh -c "! runuser -u outsider -- maglevc show version"

check "systemctl reload maglevd" systemctl reload maglevd
check "reloaded, same process, active" wait_for 10 sh -c \
    "journalctl -u maglevd --no-pager | grep -q 'msg=config-reloaded' && [ \"\$(systemctl show -P MainPID maglevd)\" = $pid ] && [ \"\$(systemctl is-active maglevd)\" = active ]"

# The watchdog, shortened by a drop-in: a stopped process is killed and
# restarted.
mkdir -p /run/systemd/system/maglevd.service.d
printf '[Service]\nWatchdogSec=3s\n' > /run/systemd/system/maglevd.service.d/wd.conf
systemctl daemon-reload && systemctl restart maglevd
pid=$(prop MainPID)
check "WATCHDOG_USEC is 3s" sh -c "tr '\\0' '\\n' < /proc/$pid/environ | grep -qx WATCHDOG_USEC=3000000"
sleep 4
check "pings keep a healthy maglevd alive" sh -c "[ \"\$(systemctl show -P MainPID maglevd)\" = $pid ]"
kill -STOP "$pid"
check "watchdog: a stopped maglevd is killed and restarted" wait_for 20 sh -c \
    "[ \"\$(systemctl show -P NRestarts maglevd)\" -ge 1 ] && [ \"\$(systemctl is-active maglevd)\" = active ] && [ \"\$(systemctl show -P MainPID maglevd)\" != $pid ]"
journalctl -u maglevd --no-pager | grep -i 'watchdog' | tail -2 | sed 's/^/       /'
rm -r /run/systemd/system/maglevd.service.d
systemctl daemon-reload && systemctl restart maglevd

pid=$(prop MainPID)
check "upgrade (dpkg -i again) restarts a running maglevd" sh -c \
    "dpkg -i /out/pkg.deb >/dev/null && [ \"\$(systemctl is-active maglevd)\" = active ] && [ \"\$(systemctl show -P MainPID maglevd)\" != $pid ]"
check "systemctl stop: clean exit" sh -c \
    "systemctl stop maglevd && [ \"\$(systemctl show -P Result maglevd)\" = success ] && [ \"\$(systemctl show -P ExecMainStatus maglevd)\" = 0 ]"
systemctl start maglevd
check "dpkg -r stops a running maglevd" sh -c \
    "dpkg -r vpp-maglev >/dev/null && ! pgrep -x maglevd"
check "dpkg --purge" dpkg --purge vpp-maglev
check "purged: /etc/maglev, /var/lib/maglevd, the enablement gone" sh -c \
    "! [ -e /etc/maglev ] && ! [ -e /var/lib/maglevd ] && ! [ -e /etc/systemd/system/multi-user.target.wants/maglevd.service ]"
journalctl -u maglevd --no-pager > /out/journal.txt 2>&1
echo "       journal: $(wc -l < /out/journal.txt) lines; systemd's own messages about maglevd.service:"
grep 'systemd\[1\]: maglevd.service:' /out/journal.txt | sed 's/^/       /'
echo DONE
INSIDE

echo "test_unit_nspawn: booting / in systemd-nspawn (overlay) with $(basename "$deb")"
timeout 600 systemd-nspawn -q -D "$root" --volatile=overlay --register=no --keep-unit \
    --link-journal=no --capability=all --bind="$work/out:/out" \
    --bind-ro="$work/units/unit-test.target:/etc/systemd/system/unit-test.target" \
    --bind-ro="$work/units/unit-test.service:/etc/systemd/system/unit-test.service" \
    -b systemd.unit=unit-test.target > "$work/boot.log" 2>&1
rc=$?
# nspawn leaves its lock and propagation directories on a host without systemd.
[ "$had_nspawn_dir" = 1 ] || rm -rf /run/systemd/nspawn

cat "$work/out/results.txt" 2>/dev/null
secs=$(($(date +%s) - t0))
if [ "$rc" -ne 0 ] || ! grep -q '^DONE$' "$work/out/results.txt" 2>/dev/null; then
    echo "test_unit_nspawn: FAIL: the container did not finish (nspawn rc $rc); its console:"
    tail -30 "$work/boot.log"
    exit 1
fi
if grep -q '^FAIL' "$work/out/results.txt"; then
    echo "--- journal of maglevd.service:"
    tail -40 "$work/out/journal.txt"
    echo "test_unit_nspawn: FAIL ($(grep -c '^FAIL' "$work/out/results.txt") failed, ${secs}s)"
    exit 1
fi
echo "test_unit_nspawn: PASS ($(grep -c '^ok' "$work/out/results.txt") checks, ${secs}s)"
