#!/usr/bin/env bash
# fastpath-bench.sh - the whole table of issue #14 on the GPU machine, in one
# run (docs/performance.md, "Mediated path"): native CUDA, the cuda executor
# and the whole mediated path (a guest program through vgpu.h over the
# loopback transport, a real vgpu-backend per domain, its GPU worker) with
# every end's defaults; then launch-probe's per-thread profile of a guest's
# LAUNCH+SYNC in a one-domain world.
#
# Usage: scripts/gpu/fastpath-bench.sh [BUILD_DIR] [--quick]   (default: build)
# Prints the GPU, the date and the tables; 3-4 minutes (--quick: about 1).
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$here/$build" ;; esac
for f in bench/gpu-bench bench/launch-probe bin/vgpu-backend bin/vgpu-exec-probe; do
  [ -x "$build/$f" ] || { echo "fastpath-bench: $build/$f is missing" >&2; exit 1; }
done
if ! "$build/bin/vgpu-exec-probe" -e cuda >/dev/null 2>&1; then
  echo "SKIP: no usable CUDA device"; exit 77
fi
if [ "${2:-}" = --quick ]; then
  gb=(-n 500 -a 10000 -s 1 -m 16); lp=(-n 500 -a 5000)
else
  gb=(-n 3000 -a 50000 -s 2 -m 256); lp=(-n 2000 -a 20000)
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null
date -u '+%Y-%m-%d %H:%M UTC'; echo "CPUs: $(nproc)"
status=0
echo "== 1. native, executor, and the whole path (loopback, every end's defaults)"
"$build/bench/gpu-bench" "${gb[@]}" --backend "$build/bin/vgpu-backend" || status=1
echo "== 2. launch-probe: one domain, defaults, arbiter on (per-thread sleeps and CPU per op)"
"$build/bench/launch-probe" --backend "$build/bin/vgpu-backend" -q "${lp[@]}" || status=1
echo "== end (status $status)"
exit $status
