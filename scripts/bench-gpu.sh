#!/usr/bin/env bash
# bench-gpu.sh - the GPU benchmarks (docs/performance.md, section GPU): the
# cuda executor against native CUDA on the same GPU, in one run, and the
# whole mediated path through vgpu-backend over the loopback transport.
#
# Usage: scripts/bench-gpu.sh [--build DIR] [--quick] [--poll-us US] [--help]
#   --build DIR    where the programs were built (default: $BUILD or build)
#   --quick        fewer iterations (a smoke run, not for the report)
#   --poll-us US   loopback column: backends and frontend busy-poll US µs
#                  (default 50 on a machine with 8 or more CPUs, else 0)
#
# Runs build/bench/gpu-bench three times: the full table with the loopback
# column (backends sleeping on their event channels), the loopback column
# again with busy-polling, and the bandwidth table with a 512 MiB staging
# arena (VGPU_EXEC_ARENA_MB). Exits 77 (SKIP) without a usable GPU.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build}
quick=0
poll=
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --poll-us) poll=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-gpu: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
case "$build" in /*) ;; *) build="$here/$build" ;; esac
bench="$build/bench/gpu-bench"
backend="$build/bin/vgpu-backend"
if [ ! -x "$bench" ]; then
  echo "bench-gpu: $bench is missing: it is built only where cuda.h is found (CUDA_HOME)" >&2
  exit 1
fi
if ! "$build/bin/vgpu-exec-probe" -e cuda >/dev/null 2>&1; then
  echo "SKIP: no CUDA device ($("$build/bin/vgpu-exec-probe" -e cuda 2>&1 | tail -n 1))"
  exit 77
fi
[ -z "$poll" ] && { [ "$(nproc)" -ge 8 ] && poll=50 || poll=0; }
if [ $quick = 1 ]; then args=(-n 300 -a 5000 -s 1 -m 16); else args=(-n 5000 -a 100000 -s 3); fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null
date -u '+%Y-%m-%d %H:%M UTC'
status=0
echo "== 1. native, executor and loopback (backends sleep on their event channels)"
"$bench" "${args[@]}" --backend "$backend" || status=1
if [ "$poll" != 0 ]; then
  echo "== 2. loopback again, backends and frontend polling $poll us"
  "$bench" "${args[@]}" --backend "$backend" --poll-us "$poll" | grep -i "loopback\|RESULT" || status=1
fi
echo "== 3. bandwidth with a 512 MiB staging arena"
VGPU_EXEC_ARENA_MB=512 "$bench" "${args[@]}" --only-bw || status=1
exit $status
