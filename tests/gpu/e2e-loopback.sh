#!/usr/bin/env bash
# e2e-loopback.sh BINDIR - the whole mediated path on a real GPU: a real
# vgpu-backend (--executor cuda) per guest domain over the loopback
# transport, driven by vgpu-loopguest as the guest: GET_INFO must report the
# cuda executor and the GPU; the original prototype's test plan (NOP,
# GET_INFO, VECTOR_ADD of 1024 elements checked on the CPU, repeats, an
# invalid opcode refused) must pass in two guests at once.
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
g="$bin/vgpu-loopguest"
"$g" -w "$world" world-create || exit 1
for d in 1 2; do
  "$g" -w "$world" domain-create $d || exit 1
  "$g" -w "$world" attach $d || exit 1
  "$bin/vgpu-backend" --domid $d --transport loopback --loopback-dir "$world" \
    --executor cuda --foreground --log-level info --log-file "$work/backend-$d.log" &
  pids+=($!)
done
fail=0
info=$("$g" -w "$world" --domid 1 info 2>&1)
echo "$info"
echo "$info" | grep -qi "cuda" || { echo "FAIL: GET_INFO does not report the cuda executor"; fail=1; }
"$g" -w "$world" --domid 1 --repeat 50 test-plan > "$work/g1.log" 2>&1 &
a=$!
"$g" -w "$world" --domid 2 --repeat 50 test-plan > "$work/g2.log" 2>&1 &
b=$!
wait $a || { echo "FAIL: guest 1's test plan"; cat "$work/g1.log"; fail=1; }
wait $b || { echo "FAIL: guest 2's test plan"; cat "$work/g2.log"; fail=1; }
tail -n 3 "$work/g1.log" "$work/g2.log"
grep -h "cuda executor" "$work"/backend-*.log | head -n 2
[ $fail -eq 0 ] && echo "PASS: two guests through vgpu-backend on the GPU" || \
  { tail -n 20 "$work"/backend-*.log; }
exit $fail
