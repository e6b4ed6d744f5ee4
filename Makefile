# Thin wrapper around Meson; see README.md.
BUILD   ?= build
SOURCES  = $(shell git ls-files '*.c' '*.h' 2>/dev/null)

.PHONY: all build deps check test test-under-load run demo-fail demo-heal pkg-deb fuzz bench bench-probes bench-vpp-sync bench-failover bench-reload bench-metrics bench-startup bench-api-flood bench-maglev fixstyle checkstyle clean vpp-binapi

all: build

deps:
	@tools/deps.sh

build: deps
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD)
	@ninja -C $(BUILD)

# Quick developer loop: the gcc build's tests only.
check: build
	meson test -C $(BUILD) --print-errorlogs

# Everything CI runs: style, gcc -Werror build + all tests, clang
# ASan/UBSan build + unit and config tests, each fuzzer for a bounded time.
test: deps
	@tests/run-all.sh

# The python suites (integration, api, vppsim) 5 times in a row while
# stress-ng keeps every core busy (RUNS, HOGS): proof that no test depends
# on an idle machine. Not part of make test (~30 minutes).
test-under-load: build
	@tests/run-under-load.sh

# The main job: the demo lab (nginx backends in network namespaces) with
# maglevd in the foreground probing them and programming vppsim; the demo
# checks its own config with maglevd --check first. Ctrl-C stops and cleans
# up, saying so; make returns after "demo: lab removed" (make reaps its child
# before dying of the SIGINT, and exec leaves no shell between them).
# In another terminal: make demo-fail BACKEND=nginx2, make demo-heal
# BACKEND=nginx2 (see docs/demo.md).
run: build
	$(BUILD)/src/daemon/maglevd --version
	exec env MAGLEVD=$(BUILD)/src/daemon/maglevd /usr/bin/python3 tools/demo.py

# Fail a backend of the running demo (stop its nginx), heal it (start it again).
demo-fail:
	@exec /usr/bin/python3 tools/demo.py fail $(BACKEND)

demo-heal:
	@exec /usr/bin/python3 tools/demo.py heal $(BACKEND)

# The Debian packages: build/<arch>/vpp-maglev_<VERSION>~g<commit>_<arch>.deb
# and its -dbgsym, lintian-checked, for every arch of PKG_ARCHES; the
# machine's own natively, the others cross-built (tools/deps-cross.sh adds
# their dpkg architecture and Build-Depends) and run under qemu-user-static.
# See docs/install.md.
PKG_ARCHES ?= amd64 arm64
pkg-deb: deps
	@native=$$(dpkg-architecture -qDEB_BUILD_ARCH); \
	for a in $(PKG_ARCHES); do [ $$a != $$native ] || tools/pkg-deb.sh $$a || exit 1; done; \
	for a in $(PKG_ARCHES); do [ $$a = $$native ] || tools/pkg-deb.sh $$a || exit 1; done

fuzz: deps
	@tests/run-fuzz.sh

bench: build
	ninja -C $(BUILD) bench

# The probe engine against HAProxy, ~5 minutes; needs nginx and haproxy.
# Quick run: make bench-probes PROBES_ARGS="--seconds 10 --sizes 1000"
bench-probes: build
	$(BUILD)/bench/bench_probes $(PROBES_ARGS)

# A full VPP LB sync (1,000 VIPs x 32 ASes) into vppsim, pipelined vs one
# request at a time, and a no-op sync. Options: VPP_SYNC_ARGS="--vips 100".
bench-vpp-sync: build
	$(BUILD)/bench/bench_vpp_sync $(VPP_SYNC_ARGS)

# Failover through the control loop: a health transition to VPP's last reply
# (1,000 VIPs x 32 ASes in vppsim), pipelined vs one request at a time, and a
# ramp-up of 1,000 / 10,000 backends; ~1 minute.
# Options: FAILOVER_ARGS="--trials 50 --vips 100".
bench-failover: build
	$(BUILD)/bench/bench_failover $(FAILOVER_ARGS)

# A config reload of 10,000 / 20,000 / 50,000 frontends on the real core:
# load and reload time, the longest loop block, RSS after a rejected reload.
# Options: RELOAD_ARGS="--sizes 1000,5000".
bench-reload: build
	$(BUILD)/bench/bench_reload $(RELOAD_ARGS)

# A Prometheus scrape of 10,000 backends in 1,000 frontends while 10,000 tcp
# probes a second run: probe lateness without and with a scrape a second, the
# render and loop time per scrape; ~40 s.
# Options: METRICS_ARGS="--backends 1000 --seconds 5".
bench-metrics: build
	$(BUILD)/bench/bench_metrics $(METRICS_ARGS)

# The exact Maglev table: µs per 1,024- and 65,536-bucket table for 8 / 32 /
# 256 ASes, beside the closed-form counts; what one AS out moves (~2 s).
bench-maglev: build
	$(BUILD)/bench/bench_maglev $(MAGLEV_ARGS)

# The real maglevd bringing 1,000 and 10,000 http-checked loopback backends
# up from unknown, vppsim following (root, nginx; ~1 minute).
bench-startup: build
	MAGLEVD=$(BUILD)/src/daemon/maglevd /usr/bin/python3 bench/startup.py $(STARTUP_ARGS)

# GetBackend latency on the unix socket of the real maglevd while 0, 1,000,
# 5,000 and the cap (6,000) idle HTTP/2 connections are held on its TCP
# listener; RSS, descriptors and idle CPU, RSS after they close (~30 s).
# Options: API_FLOOD_ARGS="--conns 0,1000,cap --calls 5000".
bench-api-flood: build
	MAGLEVD=$(BUILD)/src/daemon/maglevd PROTO_PY_DIR=$(BUILD)/proto /usr/bin/python3 bench/api_flood.py $(API_FLOOD_ARGS)
	GRPC_POLL_STRATEGY=epoll1 MAGLEVD=$(BUILD)/src/daemon/maglevd PROTO_PY_DIR=$(BUILD)/proto /usr/bin/python3 bench/api_flood.py $(API_FLOOD_ARGS)

# Regenerate the committed VPP message codecs (src/vpp/gen/) from VPP's API
# JSON; the build itself never needs the JSON.
VPP_API_JSON ?= ../shared/vpp/json
vpp-binapi:
	/usr/bin/python3 tools/vppapigen.py $(VPP_API_JSON) src/vpp/gen
	clang-format -i src/vpp/gen/vpp_msgs.h src/vpp/gen/vpp_msgs.c

fixstyle:
	clang-format -i $(SOURCES)

checkstyle:
	@clang-format --dry-run --Werror $(SOURCES)

clean:
	rm -rf build build-asan build-fuzz
