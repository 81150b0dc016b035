# shellcheck shell=dash
# attach-tools: vgpu-attach, vgpu-list and vgpu-detach against the real XenStore, with no
# backend started (--no-start) and no module, so it needs nothing but the tools:
# the nodes, their owners and permissions, what the guest may read and write, both
# ends' states in vgpu-list, every refusal (no such domain, already attached, not
# attached), a second device id, and a backend that dies at start being rolled back.

G=1
D=$(guest_domid "$G")
BE=/local/domain/0/backend/vgpu/$D/0
FE=/local/domain/$D/device/vgpu/0

# expect_fail STATUS PATTERN CMD...: CMD exits STATUS with a line matching PATTERN.
expect_fail() {
    local want="$1" pat="$2" out rc=0
    shift 2
    out=$("$@" 2>&1) || rc=$?
    echo "\$ $*"; echo "$out"
    [ "$rc" = "$want" ] || { echo "status $rc, want $want"; return 1; }
    echo "$out" | grep -q -e "$pat" || { echo "no line matching: $pat"; return 1; }
}

no_such_domain() {
    expect_fail 1 "no such domain 4242" vgpu-attach 4242 --no-start || return 1
    ! xenstore-exists /local/domain/0/backend/vgpu/4242 || { echo "nodes written"; return 1; }
    ! xenstore-exists /local/domain/4242 || return 1
}

attach_nodes() {
    vgpu-attach "$D" --no-start --priority low --pool 3 --mem-quota 1G || return 1
    xenstore-ls -fp "$(dirname "$FE")"
    xenstore-ls -fp "$(dirname "$BE")"
    xenstore-ls -fp "$(dirname "$FE")" | grep -q "^$FE .*(n$D,r0)" || { echo "frontend dir perms"; return 1; }
    xenstore-ls -fp "$(dirname "$BE")" | grep -q "^$BE .*(n0,r$D)" || { echo "backend dir perms"; return 1; }
    # Children inherit their directory's permissions.
    xenstore-ls -fp "$FE" | grep -q "^$FE/state .*(n$D,r0)" || { echo "frontend state perms"; return 1; }
    xenstore-ls -fp "$BE" | grep -q "^$BE/priority .*(n0,r$D)" || { echo "backend priority perms"; return 1; }
    [ "$(xenstore-read "$BE/frontend")" = "$FE" ] &&
    [ "$(xenstore-read "$BE/frontend-id")" = "$D" ] &&
    [ "$(xenstore-read "$BE/online")" = 1 ] &&
    [ "$(xenstore-read "$BE/priority")" = low ] &&
    [ "$(xenstore-read "$BE/pool")" = 3 ] &&
    [ "$(xenstore-read "$BE/mem-quota")" = 1073741824 ] &&
    [ "$(xenstore-read "$BE/state")" = 1 ] &&
    [ "$(xenstore-read "$FE/backend")" = "$BE" ] &&
    [ "$(xenstore-read "$FE/backend-id")" = 0 ] &&
    [ "$(xenstore-read "$FE/state")" = 1 ] || { echo "a value is wrong"; return 1; }
}

guest_access() {
    guest_run "$G" "
        xenstore-read $BE/priority || exit 1
        if xenstore-write $BE/priority high 2>/dev/null; then echo 'guest wrote its policy!'; exit 1; fi
        if xenstore-write $BE/state 4 2>/dev/null; then echo 'guest wrote the backend state!'; exit 1; fi
        xenstore-write $FE/probe-key 1 && xenstore-rm $FE/probe-key || { echo 'guest cannot write its own dir'; exit 1; }
        echo 'guest: reads backend, cannot write it, owns its frontend dir'"
}

list_states() {
    local out
    out=$(vgpu-list) || return 1
    echo "$out"
    echo "$out" | grep -Eq "^$D +g$G +0 +1 Initialising +1 Initialising +low +3 +1073741824 " || return 1
    out=$(vgpu-list --json) || return 1
    echo "$out"
    echo "$out" | grep -q "\"domid\": $D, \"name\": \"g$G\", \"devid\": 0, \"backend_state\": 1, \"backend_state_name\": \"Initialising\", \"frontend_state\": 1" || return 1
    echo "$out" | grep -q '"priority": "low", "pool": "3", "mem_quota": "1073741824"' || return 1
}

hostile_frontend_state() {
    local out
    # The guest owns its state node: whatever it writes, vgpu-list must not be fooled.
    guest_run "$G" "xenstore-write $FE/state '9x[2J'" || return 1
    out=$(vgpu-list) || return 1
    echo "$out"
    echo "$out" | grep -Eq "^$D +g$G +0 +1 Initialising +invalid " || return 1
    out=$(vgpu-list --json) || return 1
    echo "$out" | grep -q '"frontend_state": null, "frontend_state_name": "invalid"' || return 1
    guest_run "$G" "xenstore-write $FE/state 1"
}

twice_refused() {
    expect_fail 1 "already has vgpu device 0" vgpu-attach "$D" --no-start || return 1
    [ "$(xenstore-read "$BE/priority")" = low ] || { echo "the first device was changed"; return 1; }
}

second_devid() {
    vgpu-attach "$D" --no-start --devid 2 || return 1
    vgpu-list "$D" | grep -Eq "^$D +g$G +2 +1 Initialising" || { vgpu-list; return 1; }
    vgpu-detach "$D" --devid 2 --timeout 10 || return 1
    ! xenstore-exists "/local/domain/0/backend/vgpu/$D/2" || return 1
    xenstore-exists "$BE" || { echo "device 0 went too"; return 1; }
}

detach_nodes() {
    vgpu-detach "$D" --timeout 10 || return 1
    ! xenstore-exists "$BE" && ! xenstore-exists "$FE" || { echo "nodes left"; return 1; }
    ! xenstore-exists "/local/domain/0/backend/vgpu/$D" || { echo "per-domain dir left"; return 1; }
    out=$(vgpu-list) && echo "$out" && echo "$out" | grep -q "no vgpu devices attached"
}

not_attached() {
    expect_fail 1 "domain $D has no vgpu device 0" vgpu-detach "$D" &&
    expect_fail 1 "there is no such domain either" vgpu-detach 4242 &&
    expect_fail 1 "domain 0 is where the backend runs" vgpu-attach 0 --no-start
}

dying_backend_rolled_back() {
    mkdir -p /run/vgpu-test
    printf '#!/bin/sh\necho "fake backend: $*"; exit 3\n' >/run/vgpu-test/vgpu-backend
    chmod +x /run/vgpu-test/vgpu-backend
    expect_fail 1 "exited before reaching InitWait" \
        vgpu-attach "$D" --backend /run/vgpu-test/vgpu-backend --no-systemd --wait 20 || return 1
    ! xenstore-exists "$BE" && ! xenstore-exists "$FE" || { echo "nodes not rolled back"; return 1; }
    grep "fake backend: --domid $D --devid 0 --transport xen --foreground" "/var/log/vgpu-xen/backend-$D.log" ||
        { echo "the backend was not run with the expected arguments"; cat "/var/log/vgpu-xen/backend-$D.log"; return 1; }
    expect_fail 1 "no backend binary" vgpu-attach "$D" --backend /run/vgpu-test/none
}

step "vgpu-attach to a domain that does not exist" no_such_domain
step "vgpu-attach --no-start: nodes, owners, permissions, values" attach_nodes &&
step "the guest reads its backend dir, cannot write it, owns its frontend dir" guest_access
step "vgpu-list: both ends' states, table and --json" list_states
step "vgpu-list is not fooled by a hostile frontend state" hostile_frontend_state
step "vgpu-attach of an attached device is refused" twice_refused
step "a second device id attaches and detaches alone" second_devid
step "vgpu-detach: nodes removed" detach_nodes
step "vgpu-detach / vgpu-attach refusals" not_attached
step "a backend that dies at start: error, nodes rolled back" dying_backend_rolled_back
