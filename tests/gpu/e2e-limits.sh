#!/usr/bin/env bash
# e2e-limits.sh BINDIR - issue #15 on the GPU, through real vgpu-backend
# processes (--executor cuda, loopback transport) with their DEFAULT
# settings: no --watchdog-ms, nothing tuned.
#   domain 1: a guest kernel that spins for minutes must be stopped by the
#             default watchdog (ETIMEDOUT), and the domain goes on;
#   domain 2: a bystander looping vector adds meanwhile, never an error;
#   domain 3: mem-quota 1 GiB (the domain's key, as vgpu-attach --mem-quota
#             writes it: the loopback toolstack always writes the key, 0 when
#             not told, and a key beats the backend's host-wide --mem-quota;
#             batch A and B ran without a quota because of that): a 2 GiB
#             __device__ module and a kernel with
#             16 KiB of local memory per thread are refused (EDQUOT), a
#             256 MiB module is charged and given back.
# Prints PASS:/FAIL: lines; exit 0 when all passed. SKIP (77) without a
# usable CUDA device. About a minute (the default watchdog's limit).
set -u
bin=${1:?usage: e2e-limits.sh BINDIR}
probe=$("$bin/vgpu-exec-probe" -e cuda 2>&1)
if [ $? -ne 0 ]; then
  echo "SKIP: no CUDA device ($(echo "$probe" | tail -n 1))"
  exit 77
fi
base=${TMPDIR:-/tmp}; [ -w /dev/shm ] && base=/dev/shm
work=$(mktemp -d "$base/vgpu-e2e-limits-XXXXXX") || exit 1
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
for d in 1 2 3; do
  extra=()
  [ $d -eq 3 ] && extra=(--mem-quota 1073741824)
  "$xl" -w "$world" domain-create $d || exit 1
  "$xl" -w "$world" attach $d "${extra[@]}" || exit 1
  "$bin/vgpu-backend" --domid $d --transport loopback --loopback-dir "$world" \
    --executor cuda --foreground --log-level info --log-file "$work/backend-$d.log" \
    "${extra[@]}" &
  pids+=($!)
done
dev() { echo "loopback:$world?domid=$1"; }
fail=0

# the bystander: vector adds until told to stop
bystander() {
  local n=0 bad=0 out
  while [ ! -e "$work/stop" ]; do
    out=$(VGPU_DEVICE=$(dev 2) "$bin/gpu_test" vector_add 2>&1)
    [ "$out" = "Vector add passed: 1024 elements, 0 errors" ] || { bad=$((bad + 1)); echo "$out"; }
    n=$((n + 1))
  done
  echo "bystander: $n vector adds, $bad failed"
  [ $bad -eq 0 ]
}
bystander > "$work/bystander.log" 2>&1 &
by=$!

VGPU_DEVICE=$(dev 1) "$bin/gpu-limits-guest" spin || fail=1
touch "$work/stop"
if wait $by; then
  echo "PASS: another domain's vector adds all passed meanwhile ($(tail -n 1 "$work/bystander.log"))"
else
  echo "FAIL: another domain was disturbed:"; tail -n 5 "$work/bystander.log"; fail=1
fi
VGPU_DEVICE=$(dev 3) "$bin/gpu-limits-guest" module || fail=1
VGPU_DEVICE=$(dev 3) "$bin/gpu-limits-guest" local || fail=1
echo "--- what the backends logged about it"
grep -h "watchdog\|EDQUOT\|context:\|refused" "$work"/backend-*.log | head -n 20
if [ $fail -eq 0 ]; then
  echo "PASS: #15 limits through vgpu-backend with default settings"
else
  echo "FAIL: see above"; tail -n 15 "$work"/backend-1.log "$work"/backend-3.log
fi
exit $fail
