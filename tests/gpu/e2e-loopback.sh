#!/usr/bin/env bash
# e2e-loopback.sh BINDIR - the whole mediated path on a real GPU: a real
# vgpu-backend (--executor cuda) per guest domain over the loopback
# transport, the guest programs (vgpu, gpu_test) on libvgpu's loopback
# transport as the guests: `vgpu info` must report the cuda executor and the
# GPU; the original prototype's tests (gpu_test nop, vector_add of 1024
# elements checked on the CPU, 50 repeats, invalid_command) must pass in two
# guests at once.
# SKIP (77) without a usable CUDA device.
set -u
bin=${1:?usage: e2e-loopback.sh BINDIR}
probe=$("$bin/vgpu-exec-probe" -e cuda 2>&1)
if [ $? -ne 0 ]; then
  echo "SKIP: no CUDA device ($(echo "$probe" | tail -n 1))"
  exit 77
fi
# guest memory of the loopback world wants tmpfs
base=${TMPDIR:-/tmp}; [ -w /dev/shm ] && base=/dev/shm
work=$(mktemp -d "$base/vgpu-e2e-gpu-XXXXXX") || exit 1
world=$work/world
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
xl="$bin/vgpu-loopback-xl"
"$xl" -w "$world" world-create || exit 1
for d in 1 2; do
  "$xl" -w "$world" domain-create $d || exit 1
  "$xl" -w "$world" attach $d || exit 1
  "$bin/vgpu-backend" --domid $d --transport loopback --loopback-dir "$world" \
    --executor cuda --foreground --log-level info --log-file "$work/backend-$d.log" &
  pids+=($!)
done
plan() {  # domid: the prototype's tests, 50 vector adds
  export VGPU_DEVICE="loopback:$world?domid=$1"
  "$bin/gpu_test" nop || return 1
  for i in $(seq 50); do
    out=$("$bin/gpu_test" vector_add) || { echo "$out"; return 1; }
    [ "$out" = "Vector add passed: 1024 elements, 0 errors" ] || { echo "$out"; return 1; }
  done
  echo "$out (50 times)"
  "$bin/gpu_test" invalid_command
}
fail=0
info=$(VGPU_DEVICE="loopback:$world?domid=1" "$bin/vgpu" info 2>&1)
echo "$info"
echo "$info" | grep -q "^executor: *cuda" || { echo "FAIL: vgpu info does not report the cuda executor"; fail=1; }
plan 1 > "$work/g1.log" 2>&1 &
a=$!
plan 2 > "$work/g2.log" 2>&1 &
b=$!
wait $a || { echo "FAIL: guest 1's test plan"; cat "$work/g1.log"; fail=1; }
wait $b || { echo "FAIL: guest 2's test plan"; cat "$work/g2.log"; fail=1; }
tail -n 3 "$work/g1.log" "$work/g2.log"
grep -h "cuda executor" "$work"/backend-*.log | head -n 2
[ $fail -eq 0 ] && echo "PASS: two guests through vgpu-backend on the GPU" || \
  { tail -n 20 "$work"/backend-*.log; }
exit $fail
