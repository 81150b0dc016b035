# shellcheck shell=dash
# guest-saverestore: `xl save` / `xl restore` of a guest whose module is connected. The
# restored guest is a new domain: as an operator's restore hook would, dom0 restores it
# paused, attaches a vgpu device for the new domid (vgpu-attach), then unpauses it. The
# module's resume drops the old ring (its grants and event channel died with the old
# domain), and it reconnects to the new backend without being reloaded; a program works
# again. The old domain's backend sees its domain die and exits. Uses guest 1.

KO=/lib/vgpu/vgpu-front.ko
G=1
VADD_OK="Vector add passed: 1024 elements, 0 errors"
IMG=/var/lib/vgpu-save/g$G.chk

be_dir() { echo "/local/domain/0/backend/vgpu/$1/0"; }
fe_dir() { echo "/local/domain/$1/device/vgpu/0"; }
st() { xenstore-read "$1/state" 2>/dev/null; }
bpid() { cat "/run/vgpu-xen/backend-$1.pid" 2>/dev/null; }
blog() {
    local f=/var/log/vgpu-xen/backend-$1.log
    [ -f "$f" ] && { echo "--- $f (last 20 lines):"; tail -n 20 "$f"; }
    return 0
}
connected() {
    local d="$1" be fe
    be=$(be_dir "$d") fe=$(fe_dir "$d")
    wait_for "${2:-60}" sh -c "[ \"\$(xenstore-read $be/state)\" = 4 ] && [ \"\$(xenstore-read $fe/state)\" = 4 ]" &&
        return 0
    echo "domain $d not Connected: backend $(st "$be"), frontend $(st "$fe")"
    blog "$d"
    return 1
}
vadd() {
    local out
    out=$(guest_run "$G" gpu_test vector_add) || { echo "$out"; return 1; }
    echo "$out"
    [ "$out" = "$VADD_OK" ]
}

setup() {
    local d
    d=$(guest_domid "$G") || return 1
    if ! xenstore-exists "$(be_dir "$d")"; then
        vgpu-attach "$d" --executor cpu --no-systemd --wait 60 || { blog "$d"; return 1; }
    fi
    guest_run "$G" "[ -f $KO ] || { echo 'no $KO (host: $KO_NOTE)'; exit 1; }
        grep -q '^vgpu_front ' /proc/modules || insmod $KO || { dmesg | tail -n 8; exit 1; }" ||
        return 1
    connected "$d" && vadd
}

save_restore() {
    local old new pid
    old=$(guest_domid "$G") || return 1
    pid=$(bpid "$old")
    mkdir -p "$(dirname "$IMG")"
    echo "xl save g$G (domid $old)"
    xl save "g$G" "$IMG" || return 1
    ls -l "$IMG"
    # The old domain is gone: its backend releases everything and exits.
    wait_for 30 sh -c "! { [ -e /proc/$pid/status ] && ! grep -q '^State:[[:space:]]*[ZX]' /proc/$pid/status; }" ||
        { echo "backend $pid of the saved domain still runs"; blog "$old"; return 1; }
    echo "backend $pid of domain $old exited"
    xl restore -p -e "$IMG" || return 1
    new=$(xl domid "g$G") || return 1
    echo "$new" >"$VGPU_RUN/g$G.domid"
    echo "restored as domain $new (paused)"
    xenstore-write "/local/domain/$new/vgpu-agent" "" &&
        xenstore-chmod "/local/domain/$new/vgpu-agent" "n$new" || return 1
    vgpu-attach "$new" --executor cpu --no-systemd --wait 60 || { blog "$new"; return 1; }
    xl unpause "g$G" || return 1
    connected "$new" 90 || { xl list; return 1; }
    rm -f "$IMG"
    guest_run "$G" 'dmesg | grep -i vgpu | tail -n 5'
}

after() {
    vadd || return 1
    guest_run "$G" 'd=/sys/bus/xen/devices/vgpu-0/vgpu
        echo "state $(cat $d/state), generation $(cat $d/generation), grants $(cat $d/grants), inflight $(cat $d/inflight)"
        [ "$(cat $d/state)" = connected ] && [ "$(cat $d/generation)" -ge 2 ]'
}

step "guest $G: device attached, module loaded, Connected" setup &&
{ [ "$STEP_TIMEOUT" -ge 240 ] || STEP_TIMEOUT=240
  step "guest $G: xl save, xl restore (paused), vgpu-attach the new domid, unpause: reconnects" save_restore; } &&
step "guest $G: programs work after the restore, without reloading the module" after
