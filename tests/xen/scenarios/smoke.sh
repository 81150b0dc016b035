# shellcheck shell=dash disable=SC2016 # single-quoted commands run in the guest
# Smoke scenario: the module from frontend-kmod/ loads in each guest; dom0 then writes a
# vgpu device 0 for the guest the way a toolstack would (hotplug); the guest's xenbus
# driver reaches probe for vgpu-0; both ends' XenStore states are sane; the tree is
# printed in dom0.log. No backend runs here: the frontend may stay in Initialising (1) or
# go to Initialised (3) and wait; it must not close or report an error.
# The module is loaded before the device exists on purpose: loading a xenbus frontend
# while one of its devices is present but not connected makes the kernel wait 30 s for it
# (xenbus wait_for_devices, even with .not_essential) since no backend runs here.

KO=/lib/vgpu/vgpu-front.ko

# The frontend's dir must be the guest's, the backend's dom0's, each readable by the
# other end; the guest may read its backend dir and may not write it.
check_nodes() {
    local d="$1" fe be
    fe=/local/domain/$d/device/vgpu/0
    be=/local/domain/0/backend/vgpu/$d/0
    xenstore-ls -p "$fe" >/dev/null || return 1
    # The state may have moved on already: the module is loaded.
    echo "frontend perms: $(xenstore-ls -fp "$(dirname "$fe")" | grep "^$fe ")"
    echo "backend perms:  $(xenstore-ls -fp "$(dirname "$be")" | grep "^$be ")"
    xenstore-ls -fp "$(dirname "$fe")" | grep -q "^$fe .*(n$d,r0)" || return 1
    xenstore-ls -fp "$(dirname "$be")" | grep -q "^$be .*(n0,r$d)" || return 1
    case $(xenstore-read "$fe/state") in 1|2|3|4) ;; *) echo "bad frontend state"; return 1 ;; esac
    [ "$(xenstore-read "$fe/backend")" = "$be" ] || return 1
    [ "$(xenstore-read "$be/frontend")" = "$fe" ] || return 1
}

guest_sees_backend() {
    local i="$1" d="$2" be
    be=/local/domain/0/backend/vgpu/$d/0
    guest_run "$i" "xenstore-read $be/frontend-id && ! xenstore-write $be/state 6 2>/dev/null" \
        || { echo "guest $i cannot read $be, or may write it"; return 1; }
}

insmod_front() {
    guest_run "$1" "
        if [ ! -f $KO ]; then
            echo 'no vgpu-front.ko in the guest: frontend-kmod/vgpu-front.ko was not built'
            echo 'on the host when run.sh made the payload (host: $KO_NOTE)'
            exit 1
        fi
        modinfo $KO | grep -E '^(vermagic|name|alias):'
        if grep -q '^vgpu_front ' /proc/modules; then echo 'already loaded'; exit 0; fi
        insmod $KO || { r=\$?; echo \"insmod failed (\$r); kernel says:\"; dmesg | tail -n 8; exit \$r; }
        grep '^vgpu_front ' /proc/modules"
}

probed() {
    guest_run "$1" '
        d=/sys/bus/xen/devices/vgpu-0
        i=0
        while [ ! -e $d/driver ] && [ $i -lt 150 ]; do sleep 0.2; i=$((i + 1)); done
        if [ ! -e $d ]; then
            echo "no $d: xenbus did not see device/vgpu/0"; ls /sys/bus/xen/devices/
            dmesg | tail -n 10; exit 1
        fi
        if [ ! -e $d/driver ]; then
            echo "$d is not bound to a driver: the module did not take it"
            echo "nodename $(cat $d/nodename) devtype $(cat $d/devtype)"
            dmesg | tail -n 10; exit 1
        fi
        echo "$d bound to $(basename "$(readlink $d/driver)")"
        echo "otherend: $(cat $d/nodename) <-> $(xenstore-read $(cat $d/nodename)/backend)"
        dmesg | grep -i vgpu | tail -n 10'
}

states() {
    local d="$1" fe be fs bs
    fe=/local/domain/$d/device/vgpu/0
    be=/local/domain/0/backend/vgpu/$d/0
    fs=$(xenstore-read "$fe/state") || return 1
    bs=$(xenstore-read "$be/state") || return 1
    echo "frontend $fe state $fs; backend $be state $bs"
    if xenstore-exists "/local/domain/$d/error/device/vgpu/0"; then
        echo "the frontend reported an error:"
        xenstore-ls -f "/local/domain/$d/error/device/vgpu/0"
        return 1
    fi
    case $fs in 1|2|3|4) ;; *) echo "frontend state $fs: closing, closed or unknown"; return 1 ;; esac
    case $bs in 1|2) ;; *) echo "backend state $bs: nothing but dom0 should have written it"; return 1 ;; esac
}

i=1
while [ "$i" -le "$GUESTS" ]; do
    d=$(guest_domid "$i")
    step "guest $i: vgpu-front.ko loads (insmod)" insmod_front "$i"
    step "guest $i: dom0 writes the vgpu device nodes (domid $d)" vgpu_write_nodes "$d" 0
    step "guest $i: nodes' owners, permissions and links" check_nodes "$d"
    step "guest $i: guest reads its backend dir, cannot write it" guest_sees_backend "$i" "$d"
    step "guest $i: xenbus device vgpu-0 probed and bound to the driver" probed "$i"
    i=$((i + 1))
done

echo "--- XenStore tree"
xs_dump /
i=1
while [ "$i" -le "$GUESTS" ]; do
    step "guest $i: frontend and backend states" states "$(guest_domid "$i")"
    i=$((i + 1))
done
