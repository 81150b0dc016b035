# shellcheck shell=dash
# guest-liar: the frontend does not trust its backend. On the last guest, a lying dom0
# backend (vgpu-test-liar, built from tests/guest/liar-backend.c) connects and answers the
# guest's first request with a lie: a response id that names no outstanding request, the
# wrong op for the right id, or a response producer index far ahead of the requests. Each
# time the module must mark the device broken, fail the request with EIO (the program says
# so, nothing hangs), close, keep no grant, and leave the kernel clean. Then the real
# backend serves the same guest normally. Uses guest $GUESTS, which must have no vgpu
# device of its own (it detaches one if it has).

KO=/lib/vgpu/vgpu-front.ko
G=$GUESTS
D=$(guest_domid "$G")
BE=/local/domain/0/backend/vgpu/$D/0
FE=/local/domain/$D/device/vgpu/0
SYS=/sys/bus/xen/devices/vgpu-0/vgpu

st() { xenstore-read "$1/state" 2>/dev/null; }

no_device() {
    if [ -e "/run/vgpu-xen/backend-$D.pid" ]; then
        vgpu-detach "$D" --timeout 60 || return 1
    fi
    xenstore-rm "$FE" 2>/dev/null
    xenstore-rm "/local/domain/0/backend/vgpu/$D" 2>/dev/null
    guest_run "$G" 'i=0; while [ -e /sys/bus/xen/devices/vgpu-0 ] && [ $i -lt 50 ]; do sleep 0.2; i=$((i+1)); done
                    [ ! -e /sys/bus/xen/devices/vgpu-0 ]'
}

prepare() {
    no_device || { echo "guest $G: its vgpu-0 does not go away"; return 1; }
    guest_run "$G" "[ -f $KO ] || { echo 'no $KO (host: $KO_NOTE)'; exit 1; }
        grep -q '^vgpu_front ' /proc/modules || insmod $KO || { dmesg | tail -n 8; exit 1; }
        dmesg -c >/dev/null; echo 'module loaded, kernel log cleared'"
}

# lie KIND
lie() {
    local kind="$1" lpid lrc out rc=0
    vgpu_write_nodes "$D" 0 || return 1
    vgpu-test-liar "$D" "$kind" >"$VGPU_RUN/liar.out" 2>&1 &
    lpid=$!
    out=$(guest_run "$G" "i=0; while [ ! -e $SYS/state ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i+1)); done
        i=0; while [ \"\$(cat $SYS/state)\" != connected ] && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i+1)); done
        echo \"module state before: \$(cat $SYS/state)\"
        vgpu nop; echo \"vgpu nop: status \$?\"")
    echo "$out"
    lrc=0; wait "$lpid" || lrc=$?
    echo "--- liar (status $lrc):"; cat "$VGPU_RUN/liar.out"
    [ "$lrc" = 0 ] || { echo "the frontend did not close after the lie"; rc=1; }
    echo "$out" | grep -q "module state before: connected" || { echo "never connected to the liar"; rc=1; }
    echo "$out" | grep -q "vgpu nop: status 1" || { echo "vgpu nop did not fail"; rc=1; }
    echo "$out" | grep -q "I/O error" || { echo "the failure is not EIO"; rc=1; }
    guest_run "$G" "echo \"state \$(cat $SYS/state), broken_count \$(cat $SYS/broken_count), grants \$(cat $SYS/grants), inflight \$(cat $SYS/inflight)\"
        dmesg | grep -i vgpu | tail -n 6
        [ \$(cat $SYS/broken_count) = 1 ] && [ \$(cat $SYS/grants) = 0 ] && [ \$(cat $SYS/inflight) = 0 ] || exit 1
        dmesg | grep -q 'broke the protocol' || { echo 'no broke-the-protocol line'; exit 1; }
        if dmesg | grep -E 'BUG|Oops|WARNING|general protection|Call Trace'; then exit 1; fi
        echo 'kernel clean'" || rc=1
    echo "frontend state $(st "$FE"), backend state $(st "$BE")"
    xenstore-rm "$FE" 2>/dev/null
    xenstore-rm "/local/domain/0/backend/vgpu/$D" 2>/dev/null
    guest_run "$G" 'i=0; while [ -e /sys/bus/xen/devices/vgpu-0 ] && [ $i -lt 50 ]; do sleep 0.2; i=$((i+1)); done
                    [ ! -e /sys/bus/xen/devices/vgpu-0 ]' || { echo "vgpu-0 not removed"; rc=1; }
    return $rc
}

honest_after() {
    vgpu-attach "$D" --executor cpu --no-systemd --wait 60 || return 1
    if ! wait_for 60 sh -c "[ \"\$(xenstore-read $BE/state)\" = 4 ] && [ \"\$(xenstore-read $FE/state)\" = 4 ]"; then
        echo "not Connected: backend $(st "$BE"), frontend $(st "$FE")"; return 1
    fi
    out=$(guest_run "$G" gpu_test vector_add) || { echo "$out"; return 1; }
    echo "$out"
    [ "$out" = "Vector add passed: 1024 elements, 0 errors" ] || return 1
    vgpu-detach "$D" --timeout 60
}

step "guest $G: no vgpu device, module loaded" prepare &&
step "guest $G: response id of no outstanding request: broken, EIO, closed, clean" lie bad-id
step "guest $G: response with the wrong op: broken, EIO, closed, clean" lie wrong-op
step "guest $G: response producer ahead of the requests: broken, EIO, closed, clean" lie prod-overflow
step "guest $G: the real backend serves the guest afterwards" honest_after
