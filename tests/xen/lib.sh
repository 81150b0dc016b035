# shellcheck shell=dash
# Xen testbed: helpers for scenario scripts. Sourced in dom0 (busybox sh) by the dom0
# init, by every scenario and by the interactive shell.
#
# A scenario is tests/xen/scenarios/NAME.sh. It is sourced in a subshell in dom0 once the
# guests are up, with SCENARIO=NAME and GUESTS=<number of guests>. It calls:
#
#   step NAME CMD [ARG...]
#       Runs CMD (a program or a shell function, with its args) with a time limit
#       (STEP_TIMEOUT seconds, default 90) and stdin from /dev/null. Prints
#       "PASS: <scenario>: NAME" or "FAIL: <scenario>: NAME" on the host; CMD's output goes
#       to dom0.log and, for a FAIL, also to the host's terminal. Returns 0 or 1.
#   guest_run IDX CMD...
#       Runs the shell command "CMD..." in guest IDX (1..GUESTS) as root, with sh -c.
#       Prints its stdout and stderr (merged), returns its exit status: 124 when it
#       gave no answer within GUEST_RUN_TIMEOUT seconds (default 60), 125 when the guest
#       cannot be asked. Runs through the guest's agent (see agent.sh): the request goes in
#       XenStore, the answer comes back there; the guest's console log shows both.
#   guest_domid IDX            prints guest IDX's domain id.
#   vgpu_write_nodes DOMID [DEVID]
#       Writes a vgpu device (DEVID default 0) for domain DOMID the way a toolstack does:
#       backend dir /local/domain/0/backend/vgpu/DOMID/DEVID (owner dom0, the guest may
#       read) with frontend, frontend-id, online=1, state=1; frontend dir
#       /local/domain/DOMID/device/vgpu/DEVID (owner the guest, dom0 may read) with backend,
#       backend-id, and state=1 written last. Each dir is created empty and chmod'ed
#       before its children are written, so they inherit its permissions.
#   xs_dump [PATH]             prints the XenStore tree under PATH (default /), with
#                              permissions (xenstore-ls -fp).
#   wait_for SECS CMD...       runs CMD every 0.2 s until it succeeds; 1 after SECS.
#   log MSG...                 a line in the log.
#
# The project's executables ($VGPU_BUILD_DIR/bin on the host) are on PATH in dom0 and
# in the guests, in /opt/vgpu/bin; the module is /lib/vgpu/vgpu-front.ko in the guests.
# With VGPU_DEBS (make check, make e2e) the programs are the packages' instead, where the
# packages install them (/usr/sbin, /usr/bin; libraries in /usr/lib/x86_64-linux-gnu),
# /opt/vgpu/bin holds only the test helpers, and the module is DKMS's build of
# vgpu-front-dkms (/lib/vgpu/vgpu-front.ko links to it).
# Guests are named g1..gN; `xl console gN` from the interactive shell (Ctrl-] leaves).
# Their console logs are /var/log/xen/console/guest-gN.log in dom0, guest-N.log on the host.

VGPU_RUN=/run/vgpu
GUEST_RUN_TIMEOUT=${GUEST_RUN_TIMEOUT:-60}
STEP_TIMEOUT=${STEP_TIMEOUT:-90}
SCENARIO=${SCENARIO:-shell}
mkdir -p "$VGPU_RUN"

log() { echo "$*"; }

# Markers for run.sh, straight to the console whatever stdout is.
_marker() { echo "@@VGPU@@ $*" >/dev/console; }

# Seconds and hundredths since boot, without a process.
_secs() { local up; read -r up _ </proc/uptime; echo "${up%.*}"; }
_csecs() { local up; read -r up _ </proc/uptime; up=${up%.*}${up#*.}; echo "${up#0}"; }

# All descendants of a pid, then the pid: killed at once (no reparenting race).
_kill_tree() {
    local all="$1" new="$1" p s line rest
    while [ -n "$new" ]; do
        p=" $new "
        new=
        for s in /proc/[0-9]*/stat; do
            read -r line <"$s" 2>/dev/null || continue
            rest=${line##*) }
            # shellcheck disable=SC2086
            set -- $rest
            case $p in *" $2 "*) s=${s#/proc/}; new="$new ${s%/stat}" ;; esac
        done
        all="$all $new"
    done
    # shellcheck disable=SC2086
    kill -9 $all 2>/dev/null
    return 0
}

step() {
    local name="$1" out pid wd rc t0 t1
    shift
    out=$VGPU_RUN/step.out
    : >"$VGPU_RUN/step.guests"
    _marker "STEP $SCENARIO: $name"
    t0=$(_csecs)
    ("$@") </dev/null >"$out" 2>&1 &
    pid=$!
    # Watchdog: kills the step's process tree after STEP_TIMEOUT; cancelled by killing
    # its sleep.
    (sleep "$STEP_TIMEOUT" &
     echo $! >"$VGPU_RUN/step.wd"
     wait $! || exit 0
     echo "step: no end after ${STEP_TIMEOUT}s (STEP_TIMEOUT), killed" >>"$out"
     _kill_tree "$pid") 2>/dev/null &
    wd=$!
    rc=0
    wait "$pid" || rc=$?
    wait_for 5 test -s "$VGPU_RUN/step.wd"
    kill "$(cat "$VGPU_RUN/step.wd")" 2>/dev/null
    wait "$wd" 2>/dev/null
    rm -f "$VGPU_RUN/step.wd"
    t1=$(($(_csecs) - t0))
    cat "$out"
    echo "(step took $((t1 / 100)).$((t1 / 10 % 10))s, status $rc)"
    if [ "$rc" = 0 ]; then
        echo PASS >>"$VGPU_RUN/results"
        _marker "PASS $SCENARIO: $name"
        return 0
    fi
    echo FAIL >>"$VGPU_RUN/results"
    _marker "FAIL $SCENARIO: $name"
    sort -u "$VGPU_RUN/step.guests" | while read -r g; do _marker "GUESTFAIL $g"; done
    return 1
}

# Notes that the current step concerns guest IDX: if it fails, run.sh prints the end of
# that guest's console log.
_step_guest() { [ -f "$VGPU_RUN/step.guests" ] && echo "$1" >>"$VGPU_RUN/step.guests"; return 0; }

guest_domid() {
    if [ -s "$VGPU_RUN/g$1.domid" ]; then
        cat "$VGPU_RUN/g$1.domid"
    else
        echo "guest_domid: no guest $1 (guests: 1..${GUESTS:-?})" >&2
        return 1
    fi
}

# _xs_wait SECS PATH...: waits until one xenstore-read of all PATHs works (printing the
# values, one a line) or SECS pass (status 1). Blocks on a watch of the first PATH's
# parent rather than polling: each read is a process, and processes are slow here.
_xs_wait() {
    local secs="$1" fifo wpid r=1 u
    shift
    # Unique even between background subshells (they share $$).
    read -r u </proc/sys/kernel/random/uuid
    fifo=$VGPU_RUN/xsw.$u
    mkfifo "$fifo" || return 1
    timeout "$secs" xenstore-watch "${1%/*}" >"$fifo" 2>/dev/null &
    wpid=$!
    # The watch fires once when set, so a value written before it is seen too.
    while read -r _; do
        if xenstore-read "$@" 2>/dev/null; then r=0; break; fi
    done <"$fifo"
    kill "$wpid" 2>/dev/null
    wait "$wpid" 2>/dev/null
    rm -f "$fifo"
    return $r
}

guest_run() {
    local idx="$1" domid id base res rc n i
    shift
    _step_guest "$idx"
    domid=$(guest_domid "$idx") || return 125
    read -r id </proc/sys/kernel/random/uuid
    base=/local/domain/$domid/vgpu-agent
    if ! xenstore-write "$base/req/$id" "$GUEST_RUN_TIMEOUT $(printf '%s' "$*" | base64 -w 0)"; then
        echo "guest_run: cannot write the request for guest $idx (domid $domid)" >&2
        return 125
    fi
    # The agent writes the chunks, n and rc in one transaction.
    if ! res=$(_xs_wait $((GUEST_RUN_TIMEOUT + 5)) "$base/res/$id/rc" "$base/res/$id/n"); then
        echo "guest_run: guest $idx (domid $domid) gave no answer in ${GUEST_RUN_TIMEOUT}s to: $*" >&2
        xenstore-rm "$base/req/$id" 2>/dev/null
        return 124
    fi
    rc=${res%%
*}
    n=${res#*
}
    set --
    i=0
    while [ "$i" -lt "$n" ]; do
        set -- "$@" "$base/res/$id/o$i"
        i=$((i + 1))
    done
    [ "$n" -gt 0 ] && xenstore-read "$@" | base64 -d
    xenstore-rm "$base/res/$id" "$base/req/$id" 2>/dev/null
    return "$rc"
}

vgpu_write_nodes() {
    local domid="$1" devid="${2:-0}" fe be
    fe=/local/domain/$domid/device/vgpu/$devid
    be=/local/domain/0/backend/vgpu/$domid/$devid
    xenstore-write "$be" "" &&
        xenstore-chmod "$be" n0 "r$domid" &&
        xenstore-write "$be/frontend" "$fe" "$be/frontend-id" "$domid" \
                       "$be/online" 1 "$be/state" 1 &&
        xenstore-write "$fe" "" &&
        xenstore-chmod "$fe" "n$domid" r0 &&
        xenstore-write "$fe/backend" "$be" "$fe/backend-id" 0 &&
        xenstore-write "$fe/state" 1
}

xs_dump() { xenstore-ls -fp "${1:-/}"; }

wait_for() {
    local secs="$1" deadline
    shift
    deadline=$(($(_secs) + secs))
    until "$@"; do
        [ "$(_secs)" -ge "$deadline" ] && return 1
        sleep 0.2
    done
    return 0
}

# --- used by the dom0 init and the interactive shell -------------------------------------

# guest_create IDX: creates guest gIDX paused, gives it its agent dir, starts copying its
# console to dom0's console (run.sh splits it off into guest-IDX.log), unpauses it.
guest_create() {
    local idx="$1" cfg domid extra=""
    _step_guest "$idx"
    cfg=$VGPU_RUN/g$idx.cfg
    [ "${INTERACTIVE:-0}" = 1 ] && extra=" vgpu_interactive"
    cat >"$cfg" <<EOF
name = "g$idx"
type = "pv"
kernel = "/var/lib/vgpu/vmlinux"
ramdisk = "$VGPU_RUN/guest-initrd"
cmdline = "console=hvc0 rdinit=/init loglevel=7 vgpu_guest=$idx$extra ${GUEST_ARGS:-}"
memory = ${GUEST_MEM:-192}
vcpus = 1
on_crash = "preserve"
EOF
    xl create -p -e "$cfg" || return 1
    domid=$(xl domid "g$idx") || return 1
    echo "$domid" >"$VGPU_RUN/g$idx.domid"
    xenstore-write "/local/domain/$domid/vgpu-agent" "" &&
        xenstore-chmod "/local/domain/$domid/vgpu-agent" "n$domid" || return 1
    if [ "${INTERACTIVE:-0}" != 1 ]; then
        _stream_console "$idx" </dev/null >/dev/null 2>&1 &
    fi
    xl unpause "g$idx"
    echo "guest $idx: domid $domid"
}

_stream_console() {
    local f=/var/log/xen/console/guest-g$1.log
    wait_for 60 test -e "$f" || return 1
    tail -n +1 -f "$f" | sed "s/^/@@G$1@@ /" >/dev/console
}

# guest_wait_up IDX [SECS]: waits for guest IDX's agent to say it is ready.
guest_wait_up() {
    local idx="$1" secs="${2:-60}" domid deadline state
    _step_guest "$idx"
    domid=$(guest_domid "$idx") || return 1
    deadline=$(($(_secs) + secs))
    until _xs_wait 5 "/local/domain/$domid/vgpu-agent/ready" >/dev/null; do
        state=$(xl list "g$idx" 2>/dev/null | awk 'NR == 2 { print $5 }')
        case $state in
            '') echo "guest $idx (domid $domid) is gone"; return 1 ;;
            *c*) echo "guest $idx (domid $domid) crashed (xl list state $state)"; return 1 ;;
        esac
        if [ "$(_secs)" -ge "$deadline" ]; then
            echo "guest $idx (domid $domid) not up after ${secs}s: its agent never wrote" \
                 "/local/domain/$domid/vgpu-agent/ready (xl list state $state)"
            return 1
        fi
    done
    echo "guest $idx (domid $domid) is up"
}

# run_scenario NAME: sources /vgpu/scenarios/NAME.sh in a subshell. Its steps are its
# result; it fails too if it ran no step or ended with a status other than 0 or 1 (a
# syntax error, an `exit 2`).
run_scenario() {
    local name="$1" f="/vgpu/scenarios/$1.sh" before after rc
    if [ ! -f "$f" ]; then
        echo "run_scenario: no $f" >&2
        SCENARIO=$name step "scenario exists" false
        return 1
    fi
    before=$(wc -l <"$VGPU_RUN/results" 2>/dev/null || echo 0)
    echo "=== scenario $name"
    rc=0
    # shellcheck disable=SC1090
    (SCENARIO=$name; . "$f") || rc=$?
    after=$(wc -l <"$VGPU_RUN/results" 2>/dev/null || echo 0)
    if [ "$after" = "$before" ]; then
        SCENARIO=$name step "ran at least one step (it ended with status $rc)" false
    elif [ "$rc" -gt 1 ]; then
        SCENARIO=$name step "script ended with status $rc (see dom0.log)" false
    fi
    echo "=== end of scenario $name"
}
