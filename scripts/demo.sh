#!/usr/bin/env bash
# demo.sh - vgpu-xen's main job, on this machine: two guest domains share
# one GPU (or the CPU reference executor when there is none) through real
# vgpu-backend processes, over the loopback transport.
#
# Usage: scripts/demo.sh [--build DIR] [--keep] [--repeat N] [--help]
#   --build DIR   where the programs were built (default: $BUILD or build)
#   --keep        keep the world and logs directory (printed) for a look
#   --repeat N    vector adds each guest repeats (default 10)
#
# Steps: create a loopback world in a temporary directory; create guest
# domains 1 and 2 and attach a vgpu device to each, as a toolstack does;
# start one `vgpu-backend --domid N --transport loopback --executor auto
# --foreground` per domain; run the original prototype's test plan with the
# real guest programs, as guest domain N over libvgpu's loopback transport
# (VGPU_DEVICE=loopback:WORLD?domid=N): `vgpu info`, `gpu_test nop`,
# `gpu_test vector_add` (1024 elements checked on the CPU), --repeat more
# vector adds, `gpu_test invalid_command` (an opcode that must be refused),
# in guest 1, then in guest 2, then in both guests at once. Everything is
# stopped (SIGTERM) and removed at the end, on failure too. The last line
# says PASS or FAIL; the exit status matches.
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build}
keep=0
repeat=10
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --repeat) repeat=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
case "$build" in /*) ;; *) build="$here/$build" ;; esac
bin="$build/bin"
backend="$bin/vgpu-backend"
xl="$bin/vgpu-loopback-xl"
gpu_test="$bin/gpu_test"
vgpu="$bin/vgpu"

say() { printf '%s\n' "demo: $*"; }
fail_early() { say "$*"; echo "FAIL: vgpu-xen demo did not run"; exit 1; }

for p in "$xl" "$gpu_test" "$vgpu"; do
  [ -x "$p" ] || fail_early "$p is missing: build first (make build)"
done
[ -x "$backend" ] || fail_early "the backend $backend is missing: build it first (make build); the demo needs the real vgpu-backend"

if grep -qs control_d /proc/xen/capabilities; then
  say "this machine runs Xen as dom0. The demo still uses the loopback"
  say "transport; for real guests attach a device with vgpu-attach (see"
  say "docs/operations.md) and start vgpu-backend@<domid>.service."
fi

# The world goes on tmpfs when there is one: guest memory is shared memory.
tmp=${TMPDIR:-}
[ -n "$tmp" ] || { [ -w /dev/shm ] && tmp=/dev/shm; } || tmp=/tmp
work=$(mktemp -d "$tmp/vgpu-demo-XXXXXX") || fail_early "cannot create a temporary directory in $tmp"
world="$work/world"
declare -A bpid=()
status=1
final=0

cleanup() {
  local pid
  for d in "${!bpid[@]}"; do
    pid=${bpid[$d]}
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$pid" 2>/dev/null; then
        say "backend of domain $d ignored SIGTERM; killing it"
        kill -KILL "$pid" 2>/dev/null
      fi
      wait "$pid" 2>/dev/null
    fi
  done
  if [ "$status" -ne 0 ]; then
    for log in "$work"/backend-*.log; do
      [ -f "$log" ] || continue
      say "---- last lines of $(basename "$log") ----"
      tail -n 15 "$log" | sed 's/^/  /'
    done
  fi
  if [ "$keep" = 1 ]; then
    say "kept $work (world and logs)"
  else
    rm -rf "$work"
  fi
  if [ "$final" = 0 ]; then
    echo
    echo "FAIL: vgpu-xen demo stopped early (see above)"
  fi
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM

step() { printf '\n== %s\n' "$*"; }

step "1. a loopback world in $world, guest domains 1 and 2, one vgpu each"
"$xl" -w "$world" world-create || exit 1
for d in 1 2; do
  "$xl" -w "$world" domain-create $d || exit 1
done
# As a toolstack would: guest 1 high priority, guest 2 low, same GPU pool.
"$xl" -w "$world" attach 1 --priority high || exit 1
"$xl" -w "$world" attach 2 --priority low || exit 1
say "attached: /local/domain/0/backend/vgpu/{1,2}/0 <-> /local/domain/{1,2}/device/vgpu/0"

step "2. one vgpu-backend per domain (--executor auto: cuda when a GPU is usable, else cpu)"
for d in 1 2; do
  "$backend" --domid $d --transport loopback --loopback-dir "$world" \
    --executor auto --foreground --log-level info \
    >"$work/backend-$d.log" 2>&1 &
  bpid[$d]=$!
  say "domain $d: vgpu-backend pid ${bpid[$d]} (log $work/backend-$d.log)"
done
sleep 0.3
for d in 1 2; do
  if ! kill -0 "${bpid[$d]}" 2>/dev/null; then
    say "the backend of domain $d exited at once"
    exit 1
  fi
done

# The test plan in guest $1: the guest's own programs, on the loopback
# transport. Each line of output is prefixed; the status is 0 only when
# every step passed.
test_plan() {
  local d=$1 out rc f=0 i ok=0
  export VGPU_DEVICE="loopback:$world?domid=$d&timeout_ms=60000"
  echo "device $VGPU_DEVICE"
  if out=$("$vgpu" info 2>&1); then
    echo "$out" | grep -E '^(gpu|executor|priority|domain|transport|ring):'
  else
    echo "$out"; echo "vgpu info: FAILED"; f=$((f + 1))
  fi
  out=$("$gpu_test" nop 2>&1); rc=$?
  echo "$out"
  [ $rc = 0 ] && [ "$out" = "NOP passed" ] || { echo "gpu_test nop: FAILED"; f=$((f + 1)); }
  out=$("$gpu_test" vector_add 2>&1); rc=$?
  echo "$out"
  [ $rc = 0 ] && [ "$out" = "Vector add passed: 1024 elements, 0 errors" ] ||
    { echo "gpu_test vector_add: FAILED"; f=$((f + 1)); }
  for i in $(seq "$repeat"); do
    out=$("$gpu_test" vector_add 2>&1) && [ "$out" = "Vector add passed: 1024 elements, 0 errors" ] &&
      ok=$((ok + 1)) || echo "repeat $i: $out"
  done
  echo "Repeated vector add $repeat times: $ok passed"
  [ "$ok" = "$repeat" ] || f=$((f + 1))
  out=$("$gpu_test" invalid_command 2>&1); rc=$?
  echo "$out"
  [ $rc = 0 ] && echo "$out" | grep -qx "Error: Invalid command" ||
    { echo "gpu_test invalid_command: FAILED"; f=$((f + 1)); }
  if [ $f = 0 ]; then echo "PASS: every step passed"; else echo "FAIL: $f step(s) failed"; fi
  return $((f != 0))
}

run_guest() {  # domid -> test plan output, prefixed
  test_plan "$1" 2>&1 | sed -u "s/^/  [guest $1] /"
  return "${PIPESTATUS[0]}"
}

fails=0
step "3. the test plan in guest 1"
run_guest 1 || fails=$((fails + 1))
step "4. the test plan in guest 2"
run_guest 2 || fails=$((fails + 1))
step "5. both guests at once"
run_guest 1 >"$work/both-1.out" &
g1=$!
run_guest 2 >"$work/both-2.out" &
g2=$!
wait $g1 || fails=$((fails + 1))
wait $g2 || fails=$((fails + 1))
cat "$work/both-1.out" "$work/both-2.out"

step "6. the executor the backends picked"
for d in 1 2; do
  ex=$(sed -n 's/.*executor: *\([a-z]*\).*/\1/p' "$work/both-$d.out" | head -1)
  why=$(grep -m1 'auto executor' "$work/backend-$d.log" | sed 's/.*auto executor [^:]*: //')
  say "domain $d: executor ${ex:-unknown}${why:+ ($why)}"
done

step "7. stopping the backends (SIGTERM)"
for d in 1 2; do
  kill -TERM "${bpid[$d]}" 2>/dev/null
  if wait "${bpid[$d]}"; then
    say "domain $d: backend exited cleanly"
  else
    say "domain $d: backend exited with status $?"
    fails=$((fails + 1))
  fi
  unset "bpid[$d]"
done

echo
final=1
if [ "$fails" -eq 0 ]; then
  status=0
  echo "PASS: vgpu-xen demo: 2 guests, 2 backends, every step passed"
else
  echo "FAIL: vgpu-xen demo: $fails guest run(s) or backend(s) failed"
fi
exit "$status"
