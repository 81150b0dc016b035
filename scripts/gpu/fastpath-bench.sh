#!/usr/bin/env bash
# fastpath-bench.sh - the whole table of issue #14 on the GPU machine, in one
# run (docs/performance.md, "Mediated path"): native CUDA, the cuda executor
# and the whole mediated path (a guest program through vgpu.h over the
# loopback transport, a real vgpu-backend per domain, its GPU worker) with
# every end's defaults; then launch-probe's per-thread profile of a guest's
# LAUNCH+SYNC in a one-domain world; then cu-bench, one driver-API program
# run natively and through the guest libcuda.so.1 (BUILD/libcuda), lines
# interleaved native/guest.
#
# Since revision 3, section 1's loopback bandwidth table has a "registered"
# column (vgpu_host_register: zero copy where the cuda executor's worker maps
# the guest's pages itself) beside pinned-not-registered and pageable, and
# cu-bench's pinned rows are cuMemAllocHost memory, which the guest libcuda
# registers; the backend's "host region" log lines say which copy mode.
#
# Usage: scripts/gpu/fastpath-bench.sh [BUILD_DIR] [--quick]   (default: build)
# Prints the GPU, the date and the tables; 4-5 minutes (--quick: about 1).
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$here/$build" ;; esac
for f in bench/gpu-bench bench/launch-probe bin/vgpu-backend bin/vgpu-exec-probe bin/vgpu-loopback-xl; do
  [ -x "$build/$f" ] || { echo "fastpath-bench: $build/$f is missing" >&2; exit 1; }
done
if ! "$build/bin/vgpu-exec-probe" -e cuda >/dev/null 2>&1; then
  echo "SKIP: no usable CUDA device"; exit 77
fi
if [ "${2:-}" = --quick ]; then
  gb=(-n 500 -a 10000 -s 1 -m 16); lp=(-n 500 -a 5000); cb=(16 500 5000)
else
  gb=(-n 3000 -a 50000 -s 2 -m 256); lp=(-n 2000 -a 20000); cb=(256 3000 50000)
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null
date -u '+%Y-%m-%d %H:%M UTC'; echo "CPUs: $(nproc)"
status=0
echo "== 1. native, executor, and the whole path (loopback, every end's defaults)"
"$build/bench/gpu-bench" "${gb[@]}" --backend "$build/bin/vgpu-backend" || status=1
echo "== 2. launch-probe: one domain, defaults, arbiter on (per-thread sleeps and CPU per op)"
"$build/bench/launch-probe" --backend "$build/bin/vgpu-backend" -q "${lp[@]}" || status=1
echo "== 3. cu-bench, a driver-API program: natively, then through the guest libcuda.so.1"
echo "   (loopback, one vgpu-backend --executor cuda with its defaults)"
if [ ! -e "$build/libcuda/libcuda.so.1" ] || [ ! -x "$build/bench/cu-bench" ]; then
  echo "SKIP: no guest libcuda.so.1 or cu-bench in $build"
else
  base=/tmp; [ -w /dev/shm ] && base=/dev/shm
  world=$(mktemp -d "$base/fastpath-bench-XXXXXX")
  bpid=
  trap '[ -n "$bpid" ] && kill -TERM $bpid 2>/dev/null; wait 2>/dev/null; rm -rf "$world"' EXIT
  "$build/bench/cu-bench" native "${cb[@]}" > "$world/native.txt" 2>&1 || status=1
  g="$build/bin/vgpu-loopback-xl -w $world/w"
  $g world-create && $g --mem 1024 domain-create 1 && $g attach 1 || status=1
  "$build/bin/vgpu-backend" --domid 1 --transport loopback --loopback-dir "$world/w" \
    --executor cuda --foreground --log-level info --log-file "$world/backend.log" &
  bpid=$!
  LD_LIBRARY_PATH="$build/libcuda" VGPU_DEVICE="loopback:$world/w?domid=1" \
    "$build/bench/cu-bench" guest "${cb[@]}" > "$world/guest.txt" 2>&1 || status=1
  paste -d'\n' "$world/native.txt" "$world/guest.txt"
  grep -h 'executor\|copy' "$world/backend.log" | grep -v 'host region' | head -n 3
  # what cuMemAllocHost's registered memory got (zero-copy or staged, and why)
  echo "backend: $(grep -c 'host region' "$world/backend.log") host regions registered; first and last:"
  grep -h 'host region' "$world/backend.log" | sed -n '1p;$p'
fi
echo "== end (status $status)"
exit $status
