#!/bin/sh
# SPDX-License-Identifier: MIT
# run-loopback.sh - runs a driver-API test program (linked with the guest
# libcuda.so.1) as guest domain 1 of a fresh loopback world, against a
# real vgpu-backend process with the cpu executor.
#
# usage: run-loopback.sh [--quota BYTES] [--domains N] [--delay-us US]
#                        [--executor cpu|cuda] [--] BINDIR PROGRAM [ARGS...]
#   BINDIR     the build's bin/ (vgpu-backend, vgpu-loopback-xl) and
#              tests/lcu-devinfo one level up
#   --quota    the domains' GPU memory quota (default none)
#   --domains  how many guest domains (default 1; each gets a backend)
#   --delay-us the cpu executor's time per op (default 0), so that a test
#              can see work pending
#   --executor the backends' executor (default cpu; cuda on the GPU machine:
#              the backend then loads the real libcuda.so.1, so the guest
#              library must reach the program alone, e.g. with
#              `env LD_LIBRARY_PATH=... PROGRAM`)
# The program sees VGPU_DEVICE (domain 1), VGPU_TEST_DEVICE2 (domain 2,
# when there is one), VGPU_TEST_DEVINFO (a file: dom0's device snapshot as
# lcu-devinfo prints it), VGPU_TEST_QUOTA and VGPU_TEST_DELAY_US. Exit: the
# program's status; 77 (SKIP) when a piece is missing; 1 when the world
# cannot be made.
set -u
quota=0
domains=1
delay=0
executor=cpu
while [ $# -gt 0 ]; do
	case "$1" in
	--quota) quota=$2; shift 2 ;;
	--domains) domains=$2; shift 2 ;;
	--delay-us) delay=$2; shift 2 ;;
	--executor) executor=$2; shift 2 ;;
	--) shift; break ;;
	*) break ;;
	esac
done
[ $# -ge 2 ] || { echo "usage: run-loopback.sh [--quota B] [--domains N] BINDIR PROGRAM [ARGS...]" >&2; exit 2; }
bin=$1
shift
backend="$bin/vgpu-backend"
xl="$bin/vgpu-loopback-xl"
devinfo="$bin/../tests/lcu-devinfo"
for f in "$backend" "$xl" "$devinfo"; do
	[ -x "$f" ] || { echo "SKIP: $f is not built"; exit 77; }
done
tmp=${TMPDIR:-/tmp}
[ -w /dev/shm ] && tmp=/dev/shm
work=$(mktemp -d "$tmp/lcu-test-XXXXXX") || exit 1
world="$work/world"
pids=""

cleanup() {
	for p in $pids; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $pids; do
		wait "$p" 2>/dev/null
	done
	if [ "${rc:-1}" -ne 0 ] && [ "${rc:-1}" -ne 77 ]; then
		for log in "$work"/backend-*.log; do
			[ -f "$log" ] || continue
			echo "---- last lines of $(basename "$log") ----"
			tail -n 20 "$log"
		done
	fi
	rm -rf "$work"
}
trap cleanup EXIT

"$xl" -w "$world" world-create >/dev/null || exit 1
d=1
while [ $d -le "$domains" ]; do
	"$xl" -w "$world" domain-create $d >/dev/null || exit 1
	"$xl" -w "$world" attach $d --mem-quota "$quota" >/dev/null || exit 1
	"$backend" --domid $d --transport loopback --loopback-dir "$world" \
		--executor "$executor" --cpu-op-delay-us "$delay" --foreground --log-level info \
		>"$work/backend-$d.log" 2>&1 &
	pids="$pids $!"
	d=$((d + 1))
done

export VGPU_DEVICE="loopback:$world?domid=1&timeout_ms=30000"
[ "$domains" -ge 2 ] && export VGPU_TEST_DEVICE2="loopback:$world?domid=2&timeout_ms=30000"
export VGPU_TEST_QUOTA="$quota"
export VGPU_TEST_DELAY_US="$delay"
export VGPU_TEST_DEVINFO="$work/devinfo.txt"
"$devinfo" > "$VGPU_TEST_DEVINFO" || { echo "FAIL: lcu-devinfo could not read the device"; rc=1; exit 1; }
"$@"
rc=$?
exit $rc
