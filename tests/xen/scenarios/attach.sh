# shellcheck shell=dash
# attach: the operator's whole flow, with the real tools, the real vgpu-backend
# (--transport xen, cpu executor) and the real module, as docs/operations.md tells it:
#   - attach to a domain that does not exist: a clear error, nothing written;
#   - attach at boot through the documented hook: guest 1 is destroyed and created
#     again with `vgpu-xl-create` (xl create -p, vgpu-attach, xl unpause), so its
#     device is there before its first instruction;
#   - the module connects; vgpu-list shows both ends (table and --json);
#   - attaching twice is refused;
#   - detach while idle, re-attach, detach while busy (a guest process holds the
#     work in flight: `vgpu stress`), each leaving no node, no backend process and a
#     healthy guest; the busy guest program ends with an error instead of hanging.
#   - the domain is destroyed with its device attached: the backend exits by itself.
# Uses guest 1 only; it ends with guest 1 running again (new domid in g1.domid) and
# without a vgpu device.

KO=/lib/vgpu/vgpu-front.ko
G=1
# A guest boot under TCG on a loaded host can take minutes; a step's limit is a hang
# detector, not a timing assertion.
[ "${STEP_TIMEOUT:-90}" -ge 300 ] || STEP_TIMEOUT=300

be_dir() { echo "/local/domain/0/backend/vgpu/$1/0"; }
fe_dir() { echo "/local/domain/$1/device/vgpu/0"; }
st() { xenstore-read "$1/state" 2>/dev/null; }
# A live process (a killed daemon may linger as a zombie of init).
running() { [ -e "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*[ZX]' "/proc/$1/status"; }

backend_log() {
    local f=/var/log/vgpu-xen/backend-$1.log
    if [ -f "$f" ]; then echo "--- $f (last 30 lines):"; tail -n 30 "$f"; fi
}

# Both ends Connected within 60 s, else print why.
connected() {
    local d="$1" be fe
    be=$(be_dir "$d") fe=$(fe_dir "$d")
    if wait_for 60 sh -c "[ \"\$(xenstore-read $be/state)\" = 4 ] && [ \"\$(xenstore-read $fe/state)\" = 4 ]"; then
        echo "backend $(st "$be"), frontend $(st "$fe"): Connected"
        return 0
    fi
    echo "not Connected after 60 s: backend state $(st "$be"), frontend state $(st "$fe")"
    xenstore-ls -f "$fe" 2>&1
    xenstore-ls -f "$be" 2>&1
    backend_log "$d"
    guest_run "$G" 'dmesg | tail -n 15'
    return 1
}

no_such_domain() {
    local out rc=0
    out=$(vgpu-attach 4242 --executor cpu --wait 20 2>&1) || rc=$?
    echo "$out"
    [ "$rc" = 1 ] || { echo "status $rc, want 1"; return 1; }
    echo "$out" | grep -q "no such domain 4242" || { echo "no 'no such domain 4242' message"; return 1; }
    if xenstore-exists /local/domain/0/backend/vgpu/4242; then
        echo "nodes written for a domain that does not exist:"; xs_dump /local/domain/0/backend/vgpu
        return 1
    fi
    [ ! -e /run/vgpu-xen/backend-4242.pid ] || { echo "a backend was started"; return 1; }
}

boot_with_hook() {
    local old new cfg=$VGPU_RUN/g$G.cfg
    old=$(guest_domid "$G") || return 1
    echo "destroying g$G (domid $old), creating it again through vgpu-xl-create"
    xl destroy "$old" || return 1
    wait_for 30 sh -c "! xl domid g$G >/dev/null 2>&1" || { echo "g$G does not go away"; return 1; }
    # The hook gives the guest its test agent's dir before it runs (lib.sh's guest_create
    # does the same): the operator's equivalent is any per-guest XenStore setup.
    # shellcheck disable=SC2016 # expanded by vgpu-xl-create's sh -c
    VGPU_XL_CREATE_ARGS=-e vgpu-xl-create \
        --hook 'xenstore-write /local/domain/$VGPU_DOMID/vgpu-agent "" &&
                xenstore-chmod /local/domain/$VGPU_DOMID/vgpu-agent n$VGPU_DOMID' \
        "$cfg" --executor cpu --priority high --pool 0 --mem-quota 64M --no-systemd || return 1
    new=$(xl domid "g$G") || return 1
    echo "$new" >"$VGPU_RUN/g$G.domid"
    echo "g$G is domain $new now"
}

booted() {
    guest_wait_up "$G" 240
}

nodes_at_boot() {
    local d be fe
    d=$(guest_domid "$G") || return 1
    be=$(be_dir "$d") fe=$(fe_dir "$d")
    xenstore-ls -fp "$(dirname "$fe")" | grep "^$fe "
    xenstore-ls -fp "$(dirname "$be")" | grep "^$be "
    xenstore-ls -fp "$(dirname "$fe")" | grep -q "^$fe .*(n$d,r0)" || { echo "frontend dir perms wrong"; return 1; }
    xenstore-ls -fp "$(dirname "$be")" | grep -q "^$be .*(n0,r$d)" || { echo "backend dir perms wrong"; return 1; }
    [ "$(xenstore-read "$be/priority")" = high ] || { echo "priority not high"; return 1; }
    [ "$(xenstore-read "$be/mem-quota")" = 67108864 ] || { echo "mem-quota not 64M"; return 1; }
    [ "$(xenstore-read "$be/online")" = 1 ] || { echo "online not 1"; return 1; }
    [ "$(xenstore-read "$be/frontend")" = "$fe" ] || return 1
    [ "$(xenstore-read "$fe/backend")" = "$be" ] || return 1
    case $(st "$be") in 2|4) ;; *) echo "backend state $(st "$be"), want InitWait"; backend_log "$d"; return 1 ;; esac
    pid=$(cat "/run/vgpu-xen/backend-$d.pid") || return 1
    running "$pid" || { echo "backend pid $pid is not running"; return 1; }
    echo "backend pid $pid runs: $(tr '\0' ' ' <"/proc/$pid/cmdline")"
}

insmod_and_connect() {
    local d
    d=$(guest_domid "$G") || return 1
    guest_run "$G" "
        [ -f $KO ] || { echo 'no $KO in the guest (host: $KO_NOTE)'; exit 1; }
        grep -q '^vgpu_front ' /proc/modules || insmod $KO || { dmesg | tail -n 8; exit 1; }
        echo loaded" || return 1
    connected "$d" || return 1
    guest_run "$G" 'vgpu vector-add 1024 && vgpu info' || { backend_log "$d"; return 1; }
}

list_shows_both_ends() {
    local d out
    d=$(guest_domid "$G") || return 1
    out=$(vgpu-list) || return 1
    echo "$out"
    echo "$out" | grep -Eq "^$d +g$G +0 +4 Connected +4 Connected +high " \
        || { echo "no row 'domid $d g$G 0 4 Connected 4 Connected high'"; return 1; }
    out=$(vgpu-list --json "$d") || return 1
    echo "$out"
    echo "$out" | grep -q "\"domid\": $d, \"name\": \"g$G\", \"devid\": 0, \"backend_state\": 4" || return 1
    echo "$out" | grep -q '"frontend_state": 4, "frontend_state_name": "Connected"' || return 1
}

attach_twice_refused() {
    local d out rc=0
    d=$(guest_domid "$G") || return 1
    out=$(vgpu-attach "$d" --executor cpu 2>&1) || rc=$?
    echo "$out"
    [ "$rc" = 1 ] || { echo "status $rc, want 1"; return 1; }
    echo "$out" | grep -q "already has vgpu device 0" || return 1
    [ "$(st "$(be_dir "$d")")" = 4 ] || { echo "the first device was disturbed"; return 1; }
}

# detached DOMID PID: nothing left in dom0, and the guest's xenbus device is gone.
detached() {
    local d="$1" pid="$2"
    if xenstore-exists "$(be_dir "$d")" || xenstore-exists "$(fe_dir "$d")"; then
        echo "nodes left:"; xs_dump "$(be_dir "$d")"; xs_dump "$(fe_dir "$d")"; return 1
    fi
    [ ! -e "/run/vgpu-xen/backend-$d.pid" ] || { echo "pid file left"; return 1; }
    if running "$pid"; then echo "backend pid $pid still runs"; return 1; fi
    guest_run "$G" '
        i=0; while [ -e /sys/bus/xen/devices/vgpu-0 ] && [ $i -lt 50 ]; do sleep 0.2; i=$((i+1)); done
        [ ! -e /sys/bus/xen/devices/vgpu-0 ] || { echo "vgpu-0 still on the guest xenbus"; exit 1; }
        if dmesg | grep -E "BUG:|Oops|WARNING:|general protection fault|Call Trace"; then exit 1; fi
        echo "guest: vgpu-0 gone, kernel clean"'
}

detach_idle() {
    local d pid
    d=$(guest_domid "$G") || return 1
    pid=$(cat "/run/vgpu-xen/backend-$d.pid") || return 1
    vgpu-detach "$d" --timeout 60 || { backend_log "$d"; return 1; }
    detached "$d" "$pid"
}

reattach() {
    local d
    d=$(guest_domid "$G") || return 1
    vgpu-attach "$d" --executor cpu --priority low --no-systemd || return 1
    connected "$d" || return 1
    [ "$(xenstore-read "$(be_dir "$d")/priority")" = low ] || return 1
    guest_run "$G" 'vgpu nop 10 && vgpu vector-add 1024' || { backend_log "$d"; return 1; }
    vgpu-list "$d"
}

detach_busy() {
    local d pid
    d=$(guest_domid "$G") || return 1
    pid=$(cat "/run/vgpu-xen/backend-$d.pid") || return 1
    # Guest work in flight: two threads mixing NOP, VECTOR_ADD, copies and MEMSET+SYNC.
    guest_run "$G" '
        (vgpu stress --seconds 300 --threads 2 >/run/stress.out 2>&1; echo $? >/run/stress.rc) &
        sleep 3; [ ! -e /run/stress.rc ] || { echo "stress ended early:"; cat /run/stress.out; exit 1; }
        echo "stress running"' || return 1
    vgpu-detach "$d" --timeout 60 || { backend_log "$d"; return 1; }
    detached "$d" "$pid" || return 1
    # The guest program must end with an error, not hang, once its device is gone.
    guest_run "$G" '
        i=0; while [ ! -e /run/stress.rc ] && [ $i -lt 150 ]; do sleep 0.2; i=$((i+1)); done
        [ -e /run/stress.rc ] || { echo "vgpu stress still runs 30 s after the detach: it hangs"; exit 1; }
        echo "vgpu stress ended with status $(cat /run/stress.rc):"; tail -n 5 /run/stress.out
        [ "$(cat /run/stress.rc)" != 0 ] || { echo "it reported no error although its device went away"; exit 1; }'
}

# The domain dies with its device attached: the backend sees @releaseDomain, finds the
# domain gone (the transport's domain_alive) and exits by itself; vgpu-list shows it;
# vgpu-detach removes what the toolstack left.
domain_destroyed() {
    local d pid
    d=$(guest_domid "$G") || return 1
    vgpu-attach "$d" --executor cpu --no-systemd || return 1
    pid=$(cat "/run/vgpu-xen/backend-$d.pid") || return 1
    xl destroy "$d" || return 1
    if ! wait_for 60 sh -c "! { [ -e /proc/$pid/status ] && ! grep -q '^State:[[:space:]]*[ZX]' /proc/$pid/status; }"; then
        echo "backend $pid still runs 60 s after its domain was destroyed"; backend_log "$d"; return 1
    fi
    echo "backend $pid exited by itself:"; backend_log "$d" | tail -n 4
    vgpu-list "$d"
    vgpu-list --json "$d" | grep -q '"backend_process": "dead"' ||
        ! xenstore-exists "$(be_dir "$d")" || { echo "vgpu-list does not show the backend dead"; return 1; }
    vgpu-detach "$d" --timeout 10 || return 1
    ! xenstore-exists "$(be_dir "$d")" || { echo "backend dir left"; return 1; }
}

# Leave guest 1 as the testbed made it (running, agent up, no vgpu) for later scenarios.
recreate_plain() {
    local cfg=$VGPU_RUN/g$G.cfg d
    xl create -p -e "$cfg" || return 1
    d=$(xl domid "g$G") || return 1
    echo "$d" >"$VGPU_RUN/g$G.domid"
    xenstore-write "/local/domain/$d/vgpu-agent" "" &&
        xenstore-chmod "/local/domain/$d/vgpu-agent" "n$d" || return 1
    xl unpause "$d" || return 1
    guest_wait_up "$G" 240
}

step "vgpu-attach to a domain that does not exist: clear error, nothing written" no_such_domain
step "attach at boot: vgpu-xl-create (xl create -p, vgpu-attach, xl unpause)" boot_with_hook &&
step "the guest created by vgpu-xl-create boots" booted &&
step "nodes at boot: owners, permissions, policy, backend in InitWait" nodes_at_boot &&
step "module loads; both ends Connected" insmod_and_connect &&
step "vgpu-list shows both ends' states (table and --json)" list_shows_both_ends &&
step "vgpu-attach of an attached device is refused" attach_twice_refused &&
step "vgpu-detach while idle: nodes, backend and guest device gone" detach_idle &&
step "re-attach: Connected again with the new policy" reattach &&
step "vgpu-detach while busy (vgpu stress running in the guest)" detach_busy &&
step "domain destroyed while attached: backend exits by itself, detach cleans up" domain_destroyed
step "guest $G created again (no vgpu) for later scenarios" recreate_plain
