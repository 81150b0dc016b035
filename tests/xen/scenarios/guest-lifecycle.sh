# shellcheck shell=dash
# guest-lifecycle: the frontend across the other end's life events.
#   - module unload (devices unbound through sysfs, then rmmod) and reload in guest 1
#     while its backend stays up: the frontend closes, the backend returns to InitWait and, on reload, both ends connect again
#     (same backend process) and requests work;
#   - the backend killed (SIGKILL) and started again while a guest program holds
#     /dev/vgpu_stub open and keeps issuing requests: the program sees errors for a
#     while, never hangs, and works again on the new backend (its final vector add
#     passes); new programs work too;
#   - guest 2 destroyed in the middle of requests: its backend releases everything and
#     goes away, guest 1 is unaffected; guest 2 is created again (without a device).
# Needs 2 guests.

KO=/lib/vgpu/vgpu-front.ko
SYS=/sys/bus/xen/devices/vgpu-0/vgpu
VADD_OK="Vector add passed: 1024 elements, 0 errors"

be_dir() { echo "/local/domain/0/backend/vgpu/$1/0"; }
fe_dir() { echo "/local/domain/$1/device/vgpu/0"; }
st() { xenstore-read "$1/state" 2>/dev/null; }
bpid() { cat "/run/vgpu-xen/backend-$1.pid" 2>/dev/null; }
running() { [ -e "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*[ZX]' "/proc/$1/status"; }
blog() {
    local f=/var/log/vgpu-xen/backend-$1.log
    [ -f "$f" ] && { echo "--- $f (last ${2:-30} lines):"; tail -n "${2:-30}" "$f"; }
    return 0
}
gdmesg() { guest_run "$1" 'echo "--- guest dmesg:"; dmesg | grep -i vgpu | tail -n 15'; }
connected() {
    local d be fe
    d=$(guest_domid "$1") || return 1
    be=$(be_dir "$d") fe=$(fe_dir "$d")
    wait_for "${2:-60}" sh -c "[ \"\$(xenstore-read $be/state)\" = 4 ] && [ \"\$(xenstore-read $fe/state)\" = 4 ]" &&
        return 0
    echo "guest $1 not Connected: backend $(st "$be"), frontend $(st "$fe")"
    blog "$d"; gdmesg "$1"
    return 1
}
vadd_in() {
    local out
    out=$(guest_run "$1" gpu_test vector_add) || { echo "guest $1: $out"; gdmesg "$1"; return 1; }
    echo "guest $1: $out"
    [ "$out" = "$VADD_OK" ]
}

setup() {
    local i="$1" d
    d=$(guest_domid "$i") || return 1
    if ! xenstore-exists "$(be_dir "$d")"; then
        vgpu-attach "$d" --executor cpu --no-systemd --wait 60 || { blog "$d"; return 1; }
    fi
    guest_run "$i" "[ -f $KO ] || { echo 'no $KO (host: $KO_NOTE)'; exit 1; }
        grep -q '^vgpu_front ' /proc/modules || insmod $KO || { dmesg | tail -n 8; exit 1; }" ||
        return 1
    connected "$i" && vadd_in "$i"
}

reload() {
    local d pid out
    d=$(guest_domid 1)
    pid=$(bpid "$d")
    # xenbus holds a module reference per bound device: unbind them, then rmmod.
    guest_run 1 "for dev in /sys/bus/xen/drivers/vgpu/vgpu-*; do
                     echo \${dev##*/} >/sys/bus/xen/drivers/vgpu/unbind || exit 1
                     echo \"unbound \${dev##*/}\"
                 done
                 rmmod vgpu_front && ! grep -q '^vgpu_front ' /proc/modules && [ ! -e /dev/vgpu_stub ] &&
                 echo 'module unloaded, /dev/vgpu_stub gone'" || { gdmesg 1; return 1; }
    # The backend notices the frontend's Closed and waits for a new instance.
    if ! wait_for 30 sh -c "[ \"\$(xenstore-read $(be_dir "$d")/state)\" = 2 ]"; then
        echo "backend did not return to InitWait: state $(st "$(be_dir "$d")"), frontend $(st "$(fe_dir "$d")")"
        blog "$d"; return 1
    fi
    echo "backend back in InitWait; frontend state $(st "$(fe_dir "$d")")"
    running "$pid" || { echo "backend $pid died"; blog "$d"; return 1; }
    guest_run 1 "insmod $KO" || { gdmesg 1; return 1; }
    connected 1 || return 1
    [ "$(bpid "$d")" = "$pid" ] && running "$pid" || { echo "not the same backend process"; return 1; }
    echo "reconnected to the same backend (pid $pid)"
    vadd_in 1 || return 1
    out=$(guest_run 1 "cat $SYS/generation $SYS/grants $SYS/inflight") || return 1
    echo "generation, grants, inflight: $(echo $out)"
}

backend_restart() {
    local d pid new out
    d=$(guest_domid 1)
    pid=$(bpid "$d")
    guest_run 1 'rm -f /run/hold.out /run/hold.rc
        (vgpu hold 25 >/run/hold.out 2>&1; echo $? >/run/hold.rc) </dev/null >/dev/null 2>&1 &
        sleep 2; cat /run/hold.out; echo "holder started"' || return 1
    kill -9 "$pid"
    wait_for 10 sh -c "! { [ -e /proc/$pid/status ] && ! grep -q '^State:[[:space:]]*[ZX]' /proc/$pid/status; }" ||
        { echo "pid $pid does not die"; return 1; }
    echo "backend $pid killed (SIGKILL) while the holder runs; starting it again"
    (setsid vgpu-backend --domid "$d" --devid 0 --transport xen --executor cpu --foreground \
        </dev/null >>"/var/log/vgpu-xen/backend-$d.log" 2>&1 & echo $! >"/run/vgpu-xen/backend-$d.pid")
    sleep 1
    new=$(bpid "$d")
    echo "new backend pid $new"
    connected 1 || return 1
    GUEST_RUN_TIMEOUT=60
    out=$(guest_run 1 'i=0; while [ ! -f /run/hold.rc ] && [ $i -lt 400 ]; do sleep 0.1; i=$((i+1)); done
                       cat /run/hold.out; echo "holder status: $(cat /run/hold.rc 2>/dev/null || echo still running)"
                       [ "$(cat /run/hold.rc 2>/dev/null)" = 0 ]')
    rc=$?
    echo "$out"
    [ "$rc" = 0 ] || { gdmesg 1; blog "$d"; return 1; }
    vadd_in 1 || return 1
    guest_run 1 "echo \"generation \$(cat $SYS/generation), inflight \$(cat $SYS/inflight), grants \$(cat $SYS/grants)\"
                 [ \$(cat $SYS/inflight) = 0 ] && [ \$(cat $SYS/grants) = 0 ]"
}

destroy_mid_request() {
    local d1 d2 pid2 pid1
    setup 2 || return 1
    d1=$(guest_domid 1) d2=$(guest_domid 2)
    pid1=$(bpid "$d1") pid2=$(bpid "$d2")
    guest_run 2 '(vgpu stress --seconds 120 --threads 2 >/dev/null 2>&1 &) ; sleep 3; echo "stress running"' ||
        return 1
    echo "destroying guest 2 (domid $d2) with requests in flight"
    xl destroy "$d2" || return 1
    # Its backend sees the domain die, releases every context and exits.
    if ! wait_for 30 sh -c "! { [ -e /proc/$pid2/status ] && ! grep -q '^State:[[:space:]]*[ZX]' /proc/$pid2/status; }"; then
        echo "backend $pid2 of the dead domain still runs"; blog "$d2"; return 1
    fi
    echo "backend $pid2 of domain $d2 exited"
    blog "$d2" 8
    grep -q "guest context(s) released\|releasing everything" "/var/log/vgpu-xen/backend-$d2.log" ||
        { echo "its log does not say it released the domain's contexts"; return 1; }
    running "$pid1" || { echo "guest 1's backend $pid1 died"; return 1; }
    vadd_in 1 && connected 1 5
}

recreate_2() {
    xenstore-rm "/local/domain/0/backend/vgpu/$(guest_domid 2)" 2>/dev/null
    guest_create 2 && guest_wait_up 2 300   # a boot under a loaded TCG host takes minutes
}

step "guests 1 and 2: devices attached, module loaded, Connected" setup 1 &&
step "guest 1: module unload and reload while the backend stays up" reload
step "guest 1: backend killed and restarted while a program holds the device open" backend_restart
{ [ "$STEP_TIMEOUT" -ge 180 ] || STEP_TIMEOUT=180; step "guest 2 destroyed mid-request: its backend cleans up, guest 1 unaffected" destroy_mid_request; } &&
{ [ "$STEP_TIMEOUT" -ge 330 ] || STEP_TIMEOUT=330; step "guest 2 created again" recreate_2; }
