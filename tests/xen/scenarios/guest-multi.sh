# shellcheck shell=dash
# guest-multi: two guests (1 and 2) share the backend side: each gets its own
# vgpu-backend (xen transport, cpu executor) through vgpu-attach and loads the module;
# gpu_test vector_add runs in one guest after the other, then in both at once; then a
# 60-second stress runs in both at once (vgpu stress: NOP, VECTOR_ADD, alloc/copy/free,
# MEMSET+SYNC, every result checked) with no error; afterwards nothing is left: no request
# in flight, no data grant in either guest, no device memory held in dom0, no grant
# mapping in either backend beyond its ring, no file descriptor more than before (the
# baseline is taken after each backend's first GPU work, which opens its arbiter once).
# Needs 2 guests.

KO=/lib/vgpu/vgpu-front.ko
SYS=/sys/bus/xen/devices/vgpu-0/vgpu
VADD_OK="Vector add passed: 1024 elements, 0 errors"

be_dir() { echo "/local/domain/0/backend/vgpu/$1/0"; }
fe_dir() { echo "/local/domain/$1/device/vgpu/0"; }
st() { xenstore-read "$1/state" 2>/dev/null; }
bpid() { cat "/run/vgpu-xen/backend-$1.pid" 2>/dev/null; }
blog() {
    local f=/var/log/vgpu-xen/backend-$1.log
    [ -f "$f" ] && { echo "--- $f (last ${2:-30} lines):"; tail -n "${2:-30}" "$f"; }
    return 0
}
gdmesg() { guest_run "$1" 'echo "--- guest dmesg:"; dmesg | tail -n 15'; }

setup() {
    local i="$1" d be fe
    d=$(guest_domid "$i") || return 1
    be=$(be_dir "$d") fe=$(fe_dir "$d")
    if xenstore-exists "$be"; then
        echo "guest $i already has a vgpu device: detaching it for a fresh one"
        vgpu-detach "$d" --timeout 60 || return 1
    fi
    vgpu-attach "$d" --executor cpu --no-systemd --wait 60 || { blog "$d"; return 1; }
    guest_run "$i" "[ -f $KO ] || { echo 'no $KO (host: $KO_NOTE)'; exit 1; }
        grep -q '^vgpu_front ' /proc/modules || insmod $KO || { dmesg | tail -n 8; exit 1; }" ||
        return 1
    if ! wait_for 60 sh -c "[ \"\$(xenstore-read $be/state)\" = 4 ] && [ \"\$(xenstore-read $fe/state)\" = 4 ]"; then
        echo "guest $i not Connected: backend $(st "$be"), frontend $(st "$fe")"
        blog "$d"; gdmesg "$i"
        return 1
    fi
    echo "guest $i (domid $d): Connected, backend pid $(bpid "$d")"
}

vadd_in() {
    local out
    out=$(guest_run "$1" gpu_test vector_add) || { echo "guest $1: $out"; gdmesg "$1"; return 1; }
    echo "guest $1: $out"
    [ "$out" = "$VADD_OK" ]
}

one_after_the_other() { vadd_in 1 && vadd_in 2 && vadd_in 1 && vadd_in 2; }

# both CMD: runs CMD in guests 1 and 2 at the same time; both must succeed.
both() {
    local i rc=0
    for i in 1 2; do
        (guest_run "$i" "$1" >"$VGPU_RUN/both$i.out" 2>&1; echo $? >"$VGPU_RUN/both$i.rc") &
    done
    wait
    for i in 1 2; do
        echo "--- guest $i (status $(cat "$VGPU_RUN/both$i.rc")):"
        cat "$VGPU_RUN/both$i.out"
        [ "$(cat "$VGPU_RUN/both$i.rc")" = 0 ] || { rc=1; gdmesg "$i"; blog "$(guest_domid "$i")"; }
    done
    return $rc
}

at_once() {
    both 'i=0; while [ $i -lt 5 ]; do
              out=$(gpu_test vector_add) && [ "$out" = "'"$VADD_OK"'" ] || { echo "run $i: $out"; exit 1; }
              i=$((i+1))
          done; echo "5 vector adds passed"'
}

# What each end holds now: guest data grants and requests, dom0 grant mappings and fds.
snapshot() {
    local i d pid
    for i in 1 2; do
        d=$(guest_domid "$i")
        pid=$(bpid "$d")
        echo "guest $i: $(guest_run "$i" "echo grants \$(cat $SYS/grants) inflight \$(cat $SYS/inflight)")" \
             "backend $pid: gntdev-maps $(grep -c /dev/xen/gntdev "/proc/$pid/maps")" \
             "fds $(ls "/proc/$pid/fd" | wc -l)"
    done
}

baseline() { snapshot | tee "$VGPU_RUN/guest-multi.base"; }

stress() {
    local rc=0
    GUEST_RUN_TIMEOUT=150
    both 'vgpu stress --seconds 60 --threads 2' || rc=1
    GUEST_RUN_TIMEOUT=60
    return $rc
}

nothing_left() {
    local i d pid rc=0
    for i in 1 2; do
        d=$(guest_domid "$i")
        pid=$(bpid "$d")
        kill -USR1 "$pid" 2>/dev/null
    done
    sleep 1
    # Every guest process has exited: requests answered, grants ended, contexts gone.
    snapshot | tee "$VGPU_RUN/guest-multi.after"
    if ! cmp -s "$VGPU_RUN/guest-multi.base" "$VGPU_RUN/guest-multi.after"; then
        echo "not back to the baseline:"; cat "$VGPU_RUN/guest-multi.base"; rc=1
    fi
    for i in 1 2; do
        d=$(guest_domid "$i")
        echo "backend $d: $(grep 'stats:' "/var/log/vgpu-xen/backend-$d.log" | tail -n 1)"
        [ "$(st "$(be_dir "$d")")" = 4 ] || { echo "backend $d no longer Connected"; rc=1; }
        # Healthy, and a fresh context sees no device memory held by this domain.
        guest_run "$i" "echo \"state \$(cat $SYS/state), broken \$(cat $SYS/broken_count)\"
                        [ \$(cat $SYS/broken_count) = 0 ] && [ \$(cat $SYS/state) = connected ] || exit 1
                        vgpu info | grep '^mem used: *0 bytes\$'" ||
            { echo "guest $i: device not healthy, or device memory still held in dom0"; rc=1; }
    done
    return $rc
}

step "guest 1: vgpu-attach, module loads, Connected" setup 1 &&
step "guest 2: vgpu-attach, module loads, Connected" setup 2 &&
step "two guests one after the other: gpu_test vector_add" one_after_the_other &&
step "baseline of grants, mappings and descriptors (after first use)" baseline &&
step "two guests at once: gpu_test vector_add x5 each" at_once &&
{ st0=$STEP_TIMEOUT; [ "$STEP_TIMEOUT" -ge 200 ] || STEP_TIMEOUT=200
  step "two guests at once: 60-second stress, no error" stress; STEP_TIMEOUT=$st0; }
{ [ "$STEP_TIMEOUT" -ge 240 ] || STEP_TIMEOUT=240
  step "after the stress: nothing in flight, grants/mappings/fds at baseline, no memory held" nothing_left; }
