# vgpu-xen: the commands the README names. Each one installs what is missing
# first (scripts/install-deps.sh), so a fresh machine needs nothing else.
#
#   make demo     the system's main job: a backend and two guests over the
#                 loopback transport (real Xen when present), cuda executor
#                 on a GPU, else cpu
#   make check    everything testable on this machine: unit suites,
#                 loopback integration, sanitizers, fuzzing, the module
#                 build, the real-Xen testbed under QEMU
#   make module   vgpu-front.ko against Debian's linux-headers-amd64, W=1
#   make e2e      only the real-Xen scenarios (from the packages' contents)
#   make deb      the Debian packages (debian/) into build/debs, checked with
#                 lintian, and the guest module built from its DKMS package
#   make bench    the benchmarks (results go to docs/performance.md by hand)

BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
CTEST_ARGS ?=
# The packages (make deb). The Xen testbed installs their contents into dom0
# and the guests when VGPU_DEBS names them (make e2e and make check do).
DEBS       ?= $(BUILD)/debs

.PHONY: all deps build asan module deb check check-unit check-asan demo e2e bench clean help

all: build

help:
	@sed -n '1,/^$$/p' Makefile | sed 's/^# \{0,1\}//'

deps:
	@scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

# Sanitizer build with clang: ASan+LSan+UBSan, plus the libFuzzer targets.
asan: deps
	CC=clang cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug \
	    -DVGPU_SANITIZE=ON -DVGPU_FUZZ=ON >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS)

module: deps
	scripts/build-module.sh

deb: deps
	JOBS=$(JOBS) scripts/build-debs.sh $(DEBS)

check-unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE 'xen' $(CTEST_ARGS)

check-asan: asan
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	    ctest --output-on-failure -j $(JOBS) -L 'unit|loopback|fuzz' $(CTEST_ARGS)

e2e: build module deb
	cd $(BUILD) && VGPU_DEBS=$(abspath $(DEBS)) ctest --output-on-failure -L 'xen|packages' $(CTEST_ARGS)

# Order matters only for readability of the log: sanitizers first, then the
# packages, then the whole suite (the Xen testbed included, from the
# packages' contents) on the normal build, whose ctest summary is the last
# line.
check: module check-asan build deb
	cd $(BUILD) && VGPU_DEBS=$(abspath $(DEBS)) ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

demo: build
	scripts/demo.sh

bench: build
	scripts/bench.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(DEBS)
	-scripts/build-module.sh clean
