# shellcheck shell=dash
# guest-basic: the guest side end to end on one guest (guest 1): vgpu-attach starts the
# real vgpu-backend (xen transport, cpu executor) with an operator policy; the module
# loads, /dev/vgpu_stub appears and both ends connect; vgpu info shows the policy; the
# original prototype's tests (nop, vector_add, 10 repeats, invalid command); copies of
# 1 B, 4 KiB-1, 1 MiB+3 and 64 MiB at unaligned offsets checked byte for byte; libvgpu's
# suite (tests/guest/test_libvgpu.c, the table the loopback tier runs too) on the kmod
# transport; nothing left in flight or granted afterwards; vgpu bench's numbers go to
# the log.

KO=/lib/vgpu/vgpu-front.ko
G=1
D=$(guest_domid "$G")
BE=/local/domain/0/backend/vgpu/$D/0
FE=/local/domain/$D/device/vgpu/0
SYS=/sys/bus/xen/devices/vgpu-0/vgpu

st() { xenstore-read "$1/state" 2>/dev/null; }
blog() {
    local f=/var/log/vgpu-xen/backend-$D.log
    [ -f "$f" ] && { echo "--- $f (last 30 lines):"; tail -n 30 "$f"; }
    return 0
}
both_connected() {
    wait_for "${1:-60}" sh -c "[ \"\$(xenstore-read $BE/state)\" = 4 ] && [ \"\$(xenstore-read $FE/state)\" = 4 ]"
}

# g CMD: runs CMD in the guest; on failure also shows the guest's kernel log and the
# backend's log.
g() {
    guest_run "$G" "$*" && return 0
    guest_run "$G" 'echo "--- guest dmesg:"; dmesg | tail -n 15'
    blog
    return 1
}

attach() {
    if xenstore-exists "$BE"; then
        echo "guest $G already has a vgpu device: detaching it for a fresh one"
        vgpu-detach "$D" --timeout 60 || return 1
    fi
    vgpu-attach "$D" --executor cpu --priority high --pool 0 --no-systemd --wait 60 ||
        { blog; return 1; }
    echo "backend state $(st "$BE"), pid $(cat "/run/vgpu-xen/backend-$D.pid")"
}

load() {
    g "[ -f $KO ] || { echo 'no $KO in the guest (host: $KO_NOTE)'; exit 1; }
       grep -q '^vgpu_front ' /proc/modules || insmod $KO || exit 1
       i=0; while [ ! -c /dev/vgpu_stub ] && [ \$i -lt 50 ]; do sleep 0.1; i=\$((i+1)); done
       ls -l /dev/vgpu_stub || exit 1" || return 1
    if ! both_connected 60; then
        echo "not Connected: backend $(st "$BE"), frontend $(st "$FE")"
        xenstore-ls -f "$FE"; blog; g 'dmesg | tail -n 15'
        return 1
    fi
    g "echo \"module state: \$(cat $SYS/state), ring pages \$(cat $SYS/ring_pages), segments \$(cat $SYS/max_segments)\"
       [ \"\$(cat $SYS/state)\" = connected ]"
}

info() {
    local out
    out=$(g vgpu info) || { echo "$out"; return 1; }
    echo "$out"
    echo "$out" | grep -Eq '^priority: +high$' || { echo "priority is not high"; return 1; }
    echo "$out" | grep -Eq '^pool: +0$' || { echo "pool is not 0"; return 1; }
    echo "$out" | grep -Eq '^executor: +cpu$' || { echo "executor is not cpu"; return 1; }
    echo "$out" | grep -Eq "^domain: +$D " || { echo "domain is not $D"; return 1; }
}

nop() {
    local out
    out=$(g gpu_test nop) || { echo "$out"; return 1; }
    echo "$out"
    [ "$out" = "NOP passed" ]
}

vector_add() {
    local out
    out=$(g gpu_test vector_add) || { echo "$out"; return 1; }
    echo "$out"
    [ "$out" = "Vector add passed: 1024 elements, 0 errors" ]
}

repeats() {
    g 'n=0; i=1
       while [ $i -le 10 ]; do
           out=$(gpu_test vector_add) || { echo "run $i: status $?: $out"; exit 1; }
           [ "$out" = "Vector add passed: 1024 elements, 0 errors" ] || { echo "run $i: $out"; exit 1; }
           n=$((n+1)); i=$((i+1))
       done
       echo "$n of 10 runs passed"; [ $n = 10 ]'
}

invalid() {
    local out rc=0
    out=$(g gpu_test invalid_command) || rc=$?
    echo "$out"
    [ "$rc" = 0 ] || { echo "gpu_test invalid_command: status $rc"; return 1; }
    echo "$out" | grep -qx "Error: Invalid command" || return 1
    nop
}

copies() {
    GUEST_RUN_TIMEOUT=300   # 64 MiB through a TCG guest on a loaded host takes a while
    g 'set -e
       vgpu copy-check 1 0 0
       vgpu copy-check 4095 1 3
       vgpu copy-check 1048579 7 5
       vgpu copy-check 64M 3 1'
}

# Programs killed (SIGKILL, SIGTERM) while their requests are in flight: the module keeps
# the pages pinned and granted until the backend answers, then lets them go; closing
# their files destroyed their contexts, so dom0 holds no device memory for them.
killed() {
    g "for sig in KILL TERM KILL TERM KILL; do
           vgpu stress --seconds 30 --threads 2 >/dev/null 2>&1 &
           p=\$!; sleep 2; kill -\$sig \$p; wait \$p; echo \"SIG\$sig: stress exited with status \$?\"
       done
       i=0; while { [ \$(cat $SYS/inflight) != 0 ] || [ \$(cat $SYS/grants) != 0 ]; } && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i+1)); done
       echo \"inflight \$(cat $SYS/inflight), grants \$(cat $SYS/grants), completed \$(cat $SYS/completed)\"
       [ \$(cat $SYS/inflight) = 0 ] && [ \$(cat $SYS/grants) = 0 ] || exit 1
       vgpu info | grep '^mem used'; vgpu info | grep -q '^mem used: *0 bytes\$' || exit 1
       gpu_test vector_add" || return 1
}

# Nothing in flight, no data grant held: every request's pages were ungranted.
clean() {
    g "echo \"inflight \$(cat $SYS/inflight), grants \$(cat $SYS/grants), completed \$(cat $SYS/completed), errors \$(cat $SYS/errors), broken \$(cat $SYS/broken_count)\"
       [ \"\$(cat $SYS/inflight)\" = 0 ] && [ \"\$(cat $SYS/grants)\" = 0 ] && [ \"\$(cat $SYS/broken_count)\" = 0 ]"
}

# The libvgpu suite's device tier, the same rows as over loopback, on /dev/vgpu_stub.
libvgpu_suite() {
    GUEST_RUN_TIMEOUT=300   # a 40 MiB copy and four threads in a TCG guest
    g '[ -x /opt/vgpu/bin/test_libvgpu ] || { echo "test_libvgpu was not built"; exit 1; }
       VGPU_TEST_TIER=device VGPU_TEST_DEVICE=/dev/vgpu_stub CK_DEFAULT_TIMEOUT=240 test_libvgpu'
}

bench() {
    g 'vgpu bench --seconds 1 && vgpu bench --seconds 1 --threads 2'
}

step "guest $G: vgpu-attach (cpu executor, priority high, pool 0)" attach &&
step "guest $G: module loads, /dev/vgpu_stub appears, both ends Connected" load &&
step "guest $G: vgpu info shows the GPU and the operator's priority and pool" info
step "guest $G: gpu_test nop" nop
step "guest $G: gpu_test vector_add" vector_add
step "guest $G: gpu_test vector_add, 10 repeats" repeats
step "guest $G: gpu_test invalid_command is refused; the device still works" invalid
{ [ "$STEP_TIMEOUT" -ge 330 ] || STEP_TIMEOUT=330
  step "guest $G: copies of 1 B, 4 KiB-1, 1 MiB+3, 64 MiB at unaligned offsets" copies; }
{ [ "$STEP_TIMEOUT" -ge 330 ] || STEP_TIMEOUT=330
  step "guest $G: libvgpu's suite on the kmod transport (test_libvgpu, device tier)" libvgpu_suite; }
step "guest $G: programs killed mid-request: nothing pinned, granted or allocated" killed
step "guest $G: nothing in flight or granted afterwards" clean
step "guest $G: vgpu bench (numbers in the log)" bench
