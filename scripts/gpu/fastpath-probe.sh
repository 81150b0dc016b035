#!/usr/bin/env bash
# fastpath-probe.sh - where a guest's LAUNCH waits on the mediated path, on
# the GPU machine: bench/gpu/launch-probe over the whole matrix (no segment /
# 24-byte parameter segment; sleeping / polling; arbiter on / off), once.
#
# Usage: scripts/gpu/fastpath-probe.sh [BUILD_DIR]   (default: build)
# Prints the GPU, the date and the probe's table; about a minute.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$here/$build" ;; esac
for f in bench/launch-probe bin/vgpu-backend bin/vgpu-exec-probe; do
  [ -x "$build/$f" ] || { echo "fastpath-probe: $build/$f is missing" >&2; exit 1; }
done
if ! "$build/bin/vgpu-exec-probe" -e cuda >/dev/null 2>&1; then
  echo "SKIP: no usable CUDA device"; exit 77
fi
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null
date -u '+%Y-%m-%d %H:%M UTC'; nproc
"$build/bench/launch-probe" --backend "$build/bin/vgpu-backend" "${@:2}"
