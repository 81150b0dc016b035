# shellcheck shell=dash
# backend-xen: the xen transport (backend/transport-xen.c) for real. vgpu-attach starts
# the real vgpu-backend --transport xen (cpu executor) in dom0 for the last guest:
#   - it reaches InitWait and publishes its features where the guest can read them;
#   - a userspace frontend in the guest (vgpu-xen-testfront: gntalloc + evtchn, no module)
#     connects: the backend grant-maps its ring and a data page and binds its event
#     channel; NOPs and a GET_INFO go round, with events both ways;
#   - once the guest's module appears, it maps the granted ring (a gntdev mapping in the
#     backend's address space) and binds the event channel (an evtchn:vgpu-backend
#     interrupt in dom0), and both ends go Connected;
#   - guest requests go round the ring: the event channel fires in dom0;
#   - a backend killed with SIGKILL and started again reconnects to the same guest;
#   - vgpu-detach leaves nothing behind.

KO=/lib/vgpu/vgpu-front.ko
G=$GUESTS
# A step's limit is a hang detector, not a timing assertion (TCG on a loaded host).
[ "${STEP_TIMEOUT:-90}" -ge 300 ] || STEP_TIMEOUT=300
D=$(guest_domid "$G")
BE=/local/domain/0/backend/vgpu/$D/0
FE=/local/domain/$D/device/vgpu/0
LOGF=/var/log/vgpu-xen/backend-$D.log

st() { xenstore-read "$1/state" 2>/dev/null; }
# A live process (a killed daemon may linger as a zombie of init).
running() { [ -e "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*[ZX]' "/proc/$1/status"; }
bpid() { cat "/run/vgpu-xen/backend-$D.pid"; }
show_log() { [ -f "$LOGF" ] && { echo "--- $LOGF (last 30 lines):"; tail -n 30 "$LOGF"; }; return 0; }

# Interrupt count of the backend's event channel(s) in dom0 (user-bound channels are
# named evtchn:<comm> in /proc/interrupts).
evtchn_count() {
    awk '/evtchn:vgpu-backend/ { n = 0; for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) n += $i; else break; t += n } END { print t + 0 }' /proc/interrupts
}

attach_initwait() {
    vgpu-attach "$D" --executor cpu --no-systemd --wait 60 || { show_log; return 1; }
    case $(st "$BE") in
        2) echo "backend InitWait" ;;
        4) echo "backend already Connected (the module was loaded by an earlier scenario)" ;;
        *) echo "backend state $(st "$BE")"; show_log; return 1 ;;
    esac
    grep -q -- '--transport xen' "/proc/$(bpid)/cmdline" 2>/dev/null ||
        tr '\0' ' ' <"/proc/$(bpid)/cmdline" | grep -q -- '--transport xen' ||
        { echo "the backend does not run --transport xen"; return 1; }
}

features() {
    local k v ok=0
    for k in max-ring-page-order feature-max-indirect-segments feature-persistent executor \
             gpu-name gpu-memory gpu-compute-capability; do
        if v=$(xenstore-read "$BE/$k" 2>/dev/null); then
            echo "$k = $v"
        else
            echo "$k: missing"; ok=1
        fi
    done
    [ "$(xenstore-read "$BE/executor")" = cpu ] || { echo "executor is not cpu"; ok=1; }
    # The guest must be able to read them (it owns nothing there).
    guest_run "$G" "xenstore-read $BE/max-ring-page-order && xenstore-read $BE/executor &&
                    ! xenstore-write $BE/executor cuda 2>/dev/null" ||
        { echo "the guest cannot read the features, or may write them"; ok=1; }
    return $ok
}

testfront() {
    local out rc=0
    out=$(guest_run "$G" "
        modprobe xen-gntalloc 2>/dev/null; modprobe xen-evtchn 2>/dev/null
        grep -q '^vgpu_front ' /proc/modules && { echo 'vgpu-front.ko is loaded: it owns the device'; exit 1; }
        vgpu-xen-testfront --devid 0 --count 16 --timeout 60") || rc=$?
    echo "$out"
    [ "$rc" = 0 ] || { show_log; return 1; }
    echo "$out" | grep -q "16 NOP and 1 GET_INFO answered" || return 1
    echo "$out" | grep -q "executor 1, .* domid $D," || { echo "GET_INFO did not name executor cpu and domid $D"; return 1; }
    # The guest got answers only through events from dom0; dom0 answered only after an
    # event from the guest and after mapping the ring.
    echo "$out" | grep -Eq "answered, [1-9][0-9]* event" || return 1
    # Back to InitWait for the next frontend instance; a fresh frontend starts at 1.
    wait_for 30 sh -c "[ \"\$(xenstore-read $BE/state)\" = 2 ]" ||
        { echo "backend state $(st "$BE") after the frontend closed, want InitWait"; show_log; return 1; }
    guest_run "$G" "xenstore-write $FE/state 1"
}

connect() {
    local pid maps
    guest_run "$G" "
        [ -f $KO ] || { echo 'no $KO in the guest (host: $KO_NOTE)'; exit 1; }
        grep -q '^vgpu_front ' /proc/modules || insmod $KO || { dmesg | tail -n 8; exit 1; }" ||
        return 1
    if ! wait_for 60 sh -c "[ \"\$(xenstore-read $BE/state)\" = 4 ] && [ \"\$(xenstore-read $FE/state)\" = 4 ]"; then
        echo "not Connected: backend $(st "$BE"), frontend $(st "$FE")"
        xenstore-ls -f "$FE"; show_log
        guest_run "$G" 'dmesg | tail -n 15'
        return 1
    fi
    echo "Connected; frontend published:"
    xenstore-ls -f "$FE"
    pid=$(bpid) || return 1
    # The ring is a grant mapping through /dev/xen/gntdev in the backend's address space.
    maps=$(grep -c /dev/xen/gntdev "/proc/$pid/maps")
    echo "backend pid $pid: $maps gntdev mapping(s)"
    [ "$maps" -ge 1 ] || { echo "no grant mapping in the backend"; cat "/proc/$pid/maps"; return 1; }
    grep evtchn:vgpu-backend /proc/interrupts || { echo "no evtchn:vgpu-backend in /proc/interrupts"; return 1; }
}

round_trip() {
    local before after
    before=$(evtchn_count)
    guest_run "$G" 'vgpu nop 50 && vgpu vector-add 4096 && vgpu info' || { show_log; return 1; }
    after=$(evtchn_count)
    echo "evtchn:vgpu-backend interrupts in dom0: $before -> $after"
    [ "$after" -gt "$before" ] || { echo "the guest's requests raised no event in dom0"; show_log; return 1; }
    [ "$(st "$BE")" = 4 ] && [ "$(st "$FE")" = 4 ] || { echo "no longer Connected"; return 1; }
}

crash_and_reconnect() {
    local pid new
    pid=$(bpid) || return 1
    kill -9 "$pid"
    wait_for 10 sh -c "! { [ -e /proc/$pid/status ] && ! grep -q '^State:[[:space:]]*[ZX]' /proc/$pid/status; }" || { echo "pid $pid does not die"; return 1; }
    echo "backend $pid killed (SIGKILL); starting it again as the unit's Restart= would"
    (setsid vgpu-backend --domid "$D" --devid 0 --transport xen --executor cpu --foreground \
        </dev/null >>"$LOGF" 2>&1 & echo $! >"/run/vgpu-xen/backend-$D.pid")
    sleep 1
    new=$(bpid)
    echo "new backend pid $new"
    if ! wait_for 60 sh -c "[ \"\$(xenstore-read $BE/state)\" = 4 ] && [ \"\$(xenstore-read $FE/state)\" = 4 ]"; then
        echo "not Connected again: backend $(st "$BE"), frontend $(st "$FE")"
        show_log; guest_run "$G" 'dmesg | tail -n 15'
        return 1
    fi
    guest_run "$G" 'vgpu nop 5 && vgpu vector-add 1024' || { show_log; return 1; }
}

detach() {
    local pid
    pid=$(bpid)
    vgpu-detach "$D" --timeout 60 || { show_log; return 1; }
    ! xenstore-exists "$BE" && ! xenstore-exists "$FE" || { echo "nodes left"; return 1; }
    if [ -n "$pid" ] && running "$pid"; then echo "backend $pid still runs"; return 1; fi
    echo "detached"
}

step "guest $G: vgpu-attach starts vgpu-backend --transport xen; InitWait" attach_initwait &&
step "guest $G: backend features published, guest-readable, not guest-writable" features &&
step "guest $G: userspace frontend (gntalloc, evtchn): ring mapped, NOP and GET_INFO answered" testfront &&
step "guest $G: module connects: ring grant-mapped, event channel bound" connect &&
step "guest $G: requests round the ring raise events in dom0" round_trip &&
step "guest $G: a SIGKILLed backend started again reconnects" crash_and_reconnect
step "guest $G: vgpu-detach cleans up" detach
