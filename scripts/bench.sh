#!/usr/bin/env bash
# bench.sh - vgpu-xen's benchmarks (make bench). Results go to
# docs/performance.md by hand: this prints them, with the machine and date,
# as Markdown.
#
# Usage: scripts/bench.sh [--build DIR] [--quick] [--executor E] [--help]
#   --build DIR    where the programs were built (default: $BUILD or build)
#   --quick        shorter runs (for a smoke test of the benchmarks)
#   --executor E   the backends' executor: cpu (default), cuda or auto
#
# Loopback benchmarks (bench/loopback, vgpu-bench-loopback): the real
# vgpu-backend over the loopback transport, driven by the userspace
# frontend: NOP round trip p50/p99; small-op throughput with 32 and 64 in
# flight; 1, 2 and 7 guests at once; MEMCPY_H2D bandwidth 4 KiB..64 MiB
# with and without persistent grants; grant map calls per copy in the
# steady state.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build}
quick=()
executor=cpu
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --quick) quick=(--quick); shift ;;
    --executor) executor=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
case "$build" in /*) ;; *) build="$here/$build" ;; esac

lb="$build/bench/vgpu-bench-loopback"
backend="$build/bin/vgpu-backend"
if [ ! -x "$lb" ] || [ ! -x "$backend" ]; then
  echo "bench: $lb or $backend is missing: build first (make build)" >&2
  exit 1
fi

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
echo "## Loopback ($(date -u +%Y-%m-%d), $(nproc) CPU(s): ${cpu:-unknown}, $(uname -r), executor $executor)"
echo
"$lb" --backend "$backend" --executor "$executor" "${quick[@]}"

# Other benchmarks (the GPU section, the arbiter's) add their runs below,
# each printing its own Markdown section.
