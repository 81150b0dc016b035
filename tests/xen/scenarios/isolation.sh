# shellcheck shell=dash disable=SC2016,SC2034 # single-quoted commands run in the guest
# isolation: what a hostile or unlucky guest cannot do to dom0 and to itself, on guest 1.
#   - a dead backend is noticed (issue #15, item 6): vgpu-attach starts the backend under
#     its supervisor (no systemd here); the backend is killed with SIGKILL while
#     `vgpu stress` runs; the supervisor marks the device Closed in XenStore; stress
#     stops with the backend's error; while no backend runs (90 s) the guest opens the
#     device, runs xenstore-ls (every other misc device and the XenStore tools work),
#     reads sysfs, and a new program fails with ENOTCONN in bounded time instead of
#     waiting; then a backend is started again, the guest reconnects, its counters are
#     back to 0 and work passes;
#   - dom0's memory is bounded (item 7): the guest asks for 2 GiB on a 1 GiB dom0 (the
#     cpu executor's device memory is dom0's), writing every byte; it is refused with
#     ENOMEM, dom0 has no OOM, the backend and xenstored live on.

KO=/lib/vgpu/vgpu-front.ko
G=1
D=$(guest_domid "$G")
BE=/local/domain/0/backend/vgpu/$D/0
FE=/local/domain/$D/device/vgpu/0
SYS=/sys/bus/xen/devices/vgpu-0/vgpu
PIDF=/run/vgpu-xen/backend-$D.pid
BLOG=/var/log/vgpu-xen/backend-$D.log
DEAD_FOR=90

st() { xenstore-read "$1/state" 2>/dev/null; }
running() { [ -e "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*[ZX]' "/proc/$1/status"; }
blog() { [ -f "$BLOG" ] && { echo "--- $BLOG (last ${1:-30} lines):"; tail -n "${1:-30}" "$BLOG"; }; return 0; }
g() {
    guest_run "$G" "$*" && return 0
    guest_run "$G" 'echo "--- guest dmesg:"; dmesg | grep -i vgpu | tail -n 15'
    blog
    return 1
}
both_connected() {
    wait_for "${1:-60}" sh -c "[ \"\$(xenstore-read $BE/state)\" = 4 ] && [ \"\$(xenstore-read $FE/state)\" = 4 ]"
}

setup() {
    local pid ppid
    if xenstore-exists "$BE"; then
        vgpu-detach "$D" --timeout 60 --force || return 1
    fi
    vgpu-attach "$D" --executor cpu --no-systemd --wait 60 || { blog; return 1; }
    g "[ -f $KO ] || { echo 'no $KO in the guest (host: $KO_NOTE)'; exit 1; }
       grep -q '^vgpu_front ' /proc/modules || insmod $KO || exit 1" || return 1
    both_connected 60 || { echo "not Connected: backend $(st "$BE"), frontend $(st "$FE")"; blog; return 1; }
    # The supervisor is the backend's parent.
    pid=$(cat "$PIDF")
    ppid=$(awk '{ print $4 }' "/proc/$pid/stat")
    echo "backend pid $pid, supervisor pid $ppid ($(tr '\0' ' ' <"/proc/$ppid/cmdline"))"
    g "gpu_test vector_add"
}

# SIGKILL under load: the supervisor marks the device Closed; stress stops on its error.
kill_under_load() {
    local pid t0 t1
    pid=$(cat "$PIDF") || return 1
    g 'rm -f /run/stress.out /run/stress.rc
       (vgpu stress --seconds 600 --threads 2 >/run/stress.out 2>&1; echo $? >/run/stress.rc) </dev/null >/dev/null 2>&1 &
       sleep 3; echo "stress running; inflight $(cat '"$SYS"'/inflight)"' || return 1
    kill -9 "$pid"
    t0=$(_secs)
    date +%s >/run/vgpu/isolation.killed
    echo "backend $pid killed with SIGKILL"
    if ! wait_for 30 sh -c "[ \"\$(xenstore-read $BE/state)\" = 6 ]"; then
        echo "the supervisor did not mark $BE Closed: state $(st "$BE")"; blog; return 1
    fi
    t1=$(_secs)
    echo "marked Closed within $((t1 - t0)) s: error '$(xenstore-read "$BE/error")'"
    blog 3
    g 'i=0; while [ ! -f /run/stress.rc ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
       echo "--- vgpu stress said:"; cat /run/stress.out
       echo "stress exit status: $(cat /run/stress.rc 2>/dev/null || echo "still running after 30 s")"
       [ "$(cat /run/stress.rc 2>/dev/null)" = 1 ] && grep -q "stopping" /run/stress.out'
}

# No backend now: nothing of the guest waits for one.
while_dead() {
    local out
    out=$(g 'echo "sysfs state: $(cat '"$SYS"'/state), inflight $(cat '"$SYS"'/inflight), grants $(cat '"$SYS"'/grants)"
       # A program keeps the device open meanwhile (its NOPs fail).
       (vgpu hold 20 >/run/hold.out 2>&1 &) ; sleep 1
       t0=$(date +%s); exec 3<>/dev/vgpu_stub || exit 1; t1=$(date +%s); exec 3>&-
       echo "open(/dev/vgpu_stub) returned in $((t1 - t0)) s"
       t0=$(date +%s); xenstore-ls /local/domain/'"$D"'/device >/run/xsls.out 2>&1; r=$?; t1=$(date +%s)
       echo "xenstore-ls: status $r in $((t1 - t0)) s, $(wc -l </run/xsls.out) lines"; [ $r = 0 ] || exit 1
       t0=$(date +%s); gpu_test nop; r=$?; t1=$(date +%s)
       echo "gpu_test nop: status $r after $((t1 - t0)) s"; [ $r != 0 ] || exit 1
       t0=$(date +%s); vgpu nop 2>&1; r=$?; t1=$(date +%s)
       echo "vgpu nop: status $r after $((t1 - t0)) s"; [ $r != 0 ] || exit 1') || { echo "$out"; return 1; }
    echo "$out"
    echo "$out" | grep -q "not connected" || { echo "no 'not connected' error"; return 1; }
}

wait_dead_for() {
    local killed now left
    killed=$(cat /run/vgpu/isolation.killed) || return 1
    now=$(date +%s)
    left=$((killed + DEAD_FOR - now))
    [ "$left" -gt 0 ] && { echo "backend dead for $((now - killed)) s; waiting $left s more"; sleep "$left"; }
    g 'echo "sysfs after '"$DEAD_FOR"' s: state $(cat '"$SYS"'/state), inflight $(cat '"$SYS"'/inflight), grants $(cat '"$SYS"'/grants)"
       xenstore-ls /local/domain/'"$D"'/device >/dev/null && echo "xenstore-ls still works"'
}

restart() {
    local new out
    (setsid vgpu-backend --domid "$D" --devid 0 --transport xen --executor cpu --foreground \
        </dev/null >>"$BLOG" 2>&1 & echo $! >"$PIDF")
    sleep 1
    new=$(cat "$PIDF")
    echo "new backend pid $new after $(( $(date +%s) - $(cat /run/vgpu/isolation.killed) )) s"
    both_connected 60 || { echo "not Connected: backend $(st "$BE"), frontend $(st "$FE")"; blog; return 1; }
    out=$(g "gpu_test vector_add
             i=0; while { [ \$(cat $SYS/inflight) != 0 ] || [ \$(cat $SYS/grants) != 0 ]; } && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i+1)); done
             echo \"after recovery: state \$(cat $SYS/state), inflight \$(cat $SYS/inflight), grants \$(cat $SYS/grants), generation \$(cat $SYS/generation)\"
             [ \$(cat $SYS/inflight) = 0 ] && [ \$(cat $SYS/grants) = 0 ] || exit 1
             vgpu stress --seconds 5 --threads 2") || { echo "$out"; return 1; }
    echo "$out"
}

# 2 GiB asked of a 1 GiB dom0, every byte written: refused, no OOM.
memory_past_dom0() {
    local pid out
    pid=$(cat "$PIDF")
    grep -E '^Mem(Total|Available)' /proc/meminfo
    grep 'host memory:' "$BLOG" | tail -n 1
    GUEST_RUN_TIMEOUT=240
    out=$(guest_run "$G" 'vgpu mem-fill 2G 32M; echo "mem-fill status $?"; vgpu info | grep -E "^(memory|mem used)"') ||
        { echo "$out"; return 1; }
    echo "$out"
    echo "$out" | grep -q "refused: .*(ENOMEM)" || { echo "not refused with ENOMEM"; blog; return 1; }
    grep -E '^MemAvailable' /proc/meminfo
    running "$pid" || { echo "the backend $pid died"; blog; return 1; }
    pidof xenstored >/dev/null || { echo "xenstored is gone"; return 1; }
    if dmesg | grep -qiE 'out of memory|oom-kill|invoked oom-killer'; then
        echo "dom0's kernel log has an OOM:"; dmesg | grep -iE 'out of memory|oom' | tail -n 5; return 1
    fi
    echo "no OOM in dom0's kernel log; backend $pid and xenstored alive"
    grep 'refused MEM_ALLOC' "$BLOG" | tail -n 1
    g 'vgpu info | grep "^mem used"; gpu_test vector_add'
}

step "guest $G: vgpu-attach under its supervisor, module, Connected" setup &&
{
    step "guest $G: backend SIGKILLed under vgpu stress: marked Closed, stress stops with its error" kill_under_load
    step "guest $G: no backend: open, sysfs and xenstore-ls answer, a new program fails (ENOTCONN)" while_dead
    { [ "$STEP_TIMEOUT" -ge 150 ] || STEP_TIMEOUT=150
      step "guest $G: the device stays usable for other tools while dead for ${DEAD_FOR} s" wait_dead_for; }
    step "guest $G: backend started again after ${DEAD_FOR} s: reconnects, counters 0, work passes" restart
}
{ [ "$STEP_TIMEOUT" -ge 300 ] || STEP_TIMEOUT=300
  step "guest $G: 2 GiB asked of a 1 GiB dom0: ENOMEM, no OOM" memory_past_dom0; }
