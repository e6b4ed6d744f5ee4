# Thin wrapper around Meson; see README.md.
BUILD   ?= build
CONFIG  ?= examples/maglev.yaml
SOURCES  = $(shell git ls-files '*.c' '*.h' 2>/dev/null)

.PHONY: all build deps check test run fuzz bench fixstyle checkstyle clean

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

# The main job: maglevd in the foreground on the example config.
run: build
	$(BUILD)/src/daemon/maglevd --version
	$(BUILD)/src/daemon/maglevd --check --dump --config $(CONFIG)
	$(BUILD)/src/daemon/maglevd --config $(CONFIG) --log-level debug

fuzz: deps
	@tests/run-fuzz.sh

bench: build
	ninja -C $(BUILD) bench

fixstyle:
	clang-format -i $(SOURCES)

checkstyle:
	@clang-format --dry-run --Werror $(SOURCES)

clean:
	rm -rf build build-asan build-fuzz
