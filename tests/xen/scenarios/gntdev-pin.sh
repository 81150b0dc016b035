# shellcheck shell=dash
# gntdev-pin (issue #14, items 4 and 6): what dom0 can do with a guest's pages mapped
# through /dev/xen/gntdev, and what a guest's copy costs in grant operations.
#   1. the guest grants 16 pages (gntalloc, vgpu-xen-gntpin share); dom0 maps them
#      through gntdev (vgpu-xen-gntpin pin) and tries to pin them: io_uring fixed
#      buffers (IORING_REGISTER_BUFFERS, a long-term pin) and O_DIRECT reads and
#      writes against a RAM block device (brd), each beside a control on anonymous
#      memory. Every outcome is printed as a RESULT line; the step fails only when the
#      experiment could not run (mapping or a control failed). The guest then prints
#      the byte dom0 left in its page 0 (0x5a from the device, 0x77 from the CPU).
#   2. the persistent-grant cache on Xen: a userspace frontend with feature-persistent=1
#      (vgpu-xen-gntpin front: the module does not negotiate it) grants two 48 MiB
#      buffers once and copies them in turn (H2D from one, D2H into the other), against
#      backends with persistent-grants 1056 (blkback's), 16640 (the earlier default)
#      and auto; the backend's counters around 3 passes after a warm-up (a XenStore
#      barrier) give the map calls per copy. Printed as CACHE lines.
#   3. vgpu-attach (xen transport, cpu executor), the module connects, and a guest
#      program (vgpu-xen-copies, libvgpu over the module) copies 1, 16 and 64 MiB each
#      way; the backend's own counters (SIGUSR1) before and after give, per copy and
#      per MiB, requests, grant map and unmap calls (each one gntdev map or unmap: a
#      batch of grant-table operations), pages mapped (one grant map and one unmap op
#      each), events from the guest and notifications to it. Printed as COUNT lines.
# Not part of make check: cmake --build build --target xen-pin, or
# VGPU_XEN_GUEST_MEM=256 tests/xen/run.sh --guests 1 gntdev-pin (the guest grants 96 MiB).

KO=/lib/vgpu/vgpu-front.ko
G=1
D=$(guest_domid "$G")
BE=/local/domain/0/backend/vgpu/$D/0
FE=/local/domain/$D/device/vgpu/0
LOGF=/var/log/vgpu-xen/backend-$D.log
[ "${STEP_TIMEOUT:-90}" -ge 300 ] || STEP_TIMEOUT=300

st() { xenstore-read "$1/state" 2>/dev/null; }
blog() { [ -f "$LOGF" ] && { echo "--- $LOGF (last 20 lines):"; tail -n 20 "$LOGF"; }; return 0; }

pin() {
    local out refs rc=0
    modprobe brd rd_nr=1 rd_size=1024 || { echo "no brd module in dom0"; return 1; }
    wait_for 5 test -b /dev/ram0 || { echo "no /dev/ram0"; return 1; }
    out=$(guest_run "$G" 'modprobe xen-gntalloc 2>/dev/null
        (vgpu-xen-gntpin share 16 240 </dev/null >/tmp/share.out 2>&1 &)
        i=0; while ! grep -q "^refs" /tmp/share.out 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
        cat /tmp/share.out') || { echo "$out"; return 1; }
    echo "$out"
    refs=$(echo "$out" | sed -n 's/^refs //p')
    [ -n "$refs" ] || { echo "the guest granted nothing"; return 1; }
    echo "dom0: $(uname -r), $(cat /sys/hypervisor/guest_type 2>/dev/null || echo '?') dom0"
    # shellcheck disable=SC2086
    vgpu-xen-gntpin pin "$D" /dev/ram0 $refs || rc=$?
    guest_run "$G" 'kill $(pidof vgpu-xen-gntpin) 2>/dev/null
        i=0; while ! grep -q "^page0" /tmp/share.out && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
        echo "guest: $(grep ^page0 /tmp/share.out) (5a: written by the device through the pinned mapping, 77: by the CPU)"'
    return $rc
}

attach() {
    vgpu-attach "$D" --executor cpu --no-systemd --wait 60 || { blog; return 1; }
    guest_run "$G" "grep -q '^vgpu_front ' /proc/modules || insmod $KO || exit 1
        i=0; while [ ! -c /dev/vgpu_stub ] && [ \$i -lt 50 ]; do sleep 0.1; i=\$((i+1)); done
        ls -l /dev/vgpu_stub" || { blog; return 1; }
    wait_for 60 sh -c "[ \"\$(xenstore-read $BE/state)\" = 4 ] && [ \"\$(xenstore-read $FE/state)\" = 4 ]" ||
        { echo "not Connected: backend $(st "$BE"), frontend $(st "$FE")"; blog; return 1; }
    grep 'connected: ring' "$LOGF" | tail -n 1
}

# The backend's counters: "requests notifies events map unmap pages".
STATS=
stats() {
    local n pid
    pid=$(cat "/run/vgpu-xen/backend-$D.pid") || return 1
    n=$(grep -c 'grants: map calls' "$LOGF")
    kill -USR1 "$pid"
    wait_for 20 sh -c "[ \$(grep -c 'grants: map calls' $LOGF) -gt $n ]" || { echo "no stats line"; return 1; }
    STATS=$(grep 'grants: map calls' "$LOGF" | tail -n 1 | sed -n \
        's/.*requests \([0-9]*\),.*notifies \([0-9]*\), events \([0-9]*\) .*map calls \([0-9]*\), unmap calls \([0-9]*\), pages \([0-9]*\),.*/\1 \2 \3 \4 \5 \6/p')
    [ -n "$STATS" ] || { echo "cannot parse: $(grep 'grants: map calls' "$LOGF" | tail -n 1)"; return 1; }
}

# run OP MIB REPS: the counters' deltas over one vgpu-xen-copies run -> DELTA; with
# xentrace (Xen's trace buffers, TRC_PV class), the PV hypercalls of all domains during
# the run by kind -> /tmp/hc.OP.MIB.REPS
DELTA=
run() {
    local a tpid=
    stats || return 1
    a=$STATS
    if command -v xentrace >/dev/null; then
        rm -f /tmp/tr.bin
        xentrace -D -S 256 -e 0x0020f000 /tmp/tr.bin >/tmp/xentrace.log 2>&1 &
        tpid=$!
        sleep 1
    fi
    guest_run "$G" "vgpu-xen-copies $1 $2 $3" || { blog; return 1; }
    if [ -n "$tpid" ]; then
        kill -INT "$tpid"; wait "$tpid"
        vgpu-xen-gntpin trace /tmp/tr.bin >"/tmp/hc.$1.$2.$3" 2>&1 ||
            { echo "xentrace: $(cat /tmp/xentrace.log)"; cat "/tmp/hc.$1.$2.$3"; }
    fi
    stats || return 1
    DELTA=$(echo "$a $STATS" | awk '{ print $7-$1, $8-$2, $9-$3, $10-$4, $11-$5, $12-$6 }')
}

# hcalls BASEFILE RUNFILE REPS LABEL: hypercalls per copy (run minus baseline).
hcalls() {
    [ -f "$1" ] && [ -f "$2" ] || return 0
    awk -v n="$3" -v label="$4" '
        /^TRACE hypercall/ { k = $3 " " $4; v = $5; m = $8; sub(/\)/, "", m)
                             if (FILENAME == ARGV[1]) { b[k] = v; bm[k] = m } else { r[k] = v; rm[k] = m } }
        /^TRACE records/ { lost[FILENAME == ARGV[1] ? "base" : "run"] = $6 }
        END { line = ""
              for (k in r) { split(k, p, " "); if (p[2] !~ /^(grant_table_op|event_channel_op|mmu_update|mmuext_op|multicall|update_va_mapping|memory_op)$/) continue
                             line = line sprintf(" %s %.1f (+%.1f in multicalls);", p[2], (r[k] - b[k]) / n, (rm[k] - bm[k]) / n) }
              printf "HYPERCALLS %s, per copy (all domains, this run minus the baseline run; lost-records events %s/%s):%s\n", label, lost["base"], lost["run"], line }' "$1" "$2"
}

counts() {
    local base op mib reps=4
    run h2d 0 0 || return 1
    base=$DELTA
    echo "COUNT open + mem_alloc + close alone: requests, notifies, events, map calls, unmap calls, pages = $base"
    for op in h2d d2h; do
        for mib in 1 16 64; do
            run "$op" "$mib" "$reps" || return 1
            echo "$base $DELTA" | awk -v op="$op" -v mib="$mib" -v n="$reps" '{
                r = ($7 - $1) / n; no = ($8 - $2) / n; ev = ($9 - $3) / n
                m = ($10 - $4) / n; u = ($11 - $5) / n; p = ($12 - $6) / n
                printf "COUNT %s %d MiB, per copy: requests %.2f, grant map calls %.2f, unmap calls %.2f, pages mapped %.1f, events from the guest %.2f, notifications to the guest %.2f | per MiB: map calls %.3f, pages %.1f, events %.3f, notifications %.3f\n",
                    op, mib, r, m, u, p, ev, no, m / mib, p / mib, ev / mib, no / mib }'
            hcalls /tmp/hc.h2d.0.0 "/tmp/hc.$op.$mib.$reps" "$reps" "$op $mib MiB"
        done
    done
    cat /tmp/hc.h2d.0.0 2>/dev/null | sed 's/^/baseline run: /'
    # Xen's own counters, where this Xen has them (perf counters are a debug build option).
    echo "xenperf: $(xenperf 2>&1 | head -n 3 | tr '\n' ' ')"
}

# cache SETTING: one frontend run against a backend with persistent-grants SETTING;
# the device is detached afterwards whatever happened.
cache() {
    local rc=0
    cache_run "$1" || rc=1
    rm -f /etc/vgpu-xen/backend.conf
    guest_run "$G" 'kill $(pidof vgpu-xen-gntpin) 2>/dev/null; true' >/dev/null
    if xenstore-exists "$BE"; then vgpu-detach "$D" --timeout 60 || { blog; rc=1; }; fi
    return $rc
}

cache_run() {
    local a out mib=48 nbuf=2 reps=3
    mkdir -p /etc/vgpu-xen
    echo "persistent-grants = $1" >/etc/vgpu-xen/backend.conf
    vgpu-attach "$D" --executor cpu --no-systemd --wait 60 || { blog; return 1; }
    guest_run "$G" "modprobe xen-gntalloc 2>/dev/null; modprobe xen-evtchn 2>/dev/null
        echo 40000 >/sys/module/xen_gntalloc/parameters/limit
        (vgpu-xen-gntpin front $mib $nbuf $reps </dev/null >/tmp/front.out 2>&1 &)" || return 1
    if ! wait_for 240 xenstore-exists "$FE/gp-warm"; then
        guest_run "$G" 'cat /tmp/front.out; dmesg | tail -n 5'; blog; return 1
    fi
    stats || return 1
    a=$STATS
    xenstore-write "$FE/gp-go" 1
    if ! wait_for 280 xenstore-exists "$FE/gp-done"; then
        guest_run "$G" 'cat /tmp/front.out'; blog; return 1
    fi
    stats || return 1
    xenstore-write "$FE/gp-end" 1
    out=$(guest_run "$G" 'i=0; while pidof vgpu-xen-gntpin >/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done; cat /tmp/front.out')
    echo "$out"
    grep 'connected: ring' "$LOGF" | tail -n 1
    echo "$a $STATS" | awk -v pg="$1" -v n=$((nbuf * reps)) -v mib=$mib -v nb=$nbuf '{
        printf "CACHE persistent-grants %s, %d x %d MiB (H2D + D2H), per copy: requests %.2f, grant map calls %.2f, unmap calls %.2f, pages mapped %.1f | per MiB: map calls %.3f, pages %.1f\n",
            pg, nb, mib, ($7-$1)/n, ($10-$4)/n, ($11-$5)/n, ($12-$6)/n, ($10-$4)/n/mib, ($12-$6)/n/mib }'
    echo "$out" | grep -q "copied after the warm-up"
}

detach() {
    vgpu-detach "$D" --timeout 60 || { blog; return 1; }
}

step "guest $G: gntdev-mapped guest pages: io_uring registration and O_DIRECT in dom0" pin
for pg in 1056 16640 auto; do
    step "guest $G: persistent grants on Xen (userspace frontend), backend persistent-grants $pg" cache "$pg"
done
step "guest $G: vgpu-attach, module connects" attach &&
step "guest $G: grant operations and notifications per copy of 1/16/64 MiB (backend counters)" counts
step "guest $G: vgpu-detach" detach
